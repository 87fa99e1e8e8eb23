"""The demo's pictures, drawn by code: made by the project, free to reuse.

Bo the Shiba Inu, Mam, and scenes with them pasted at known places.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

Box = tuple[int, int, int, int]


def bo() -> Image.Image:
    """Bo: a cartoon Shiba Inu with a red collar."""
    img = Image.new("RGB", (320, 320), (186, 224, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 250, 320, 320), fill=(120, 190, 90))
    d.ellipse((70, 170, 250, 300), fill=(214, 137, 60))  # body
    d.polygon([(95, 60), (125, 130), (80, 130)], fill=(190, 110, 40))  # ears
    d.polygon([(225, 60), (240, 130), (195, 130)], fill=(190, 110, 40))
    d.ellipse((80, 80, 240, 220), fill=(226, 150, 70))  # head
    d.ellipse((115, 150, 205, 215), fill=(250, 240, 225))  # muzzle
    d.ellipse((120, 125, 140, 145), fill=(30, 30, 30))  # eyes
    d.ellipse((180, 125, 200, 145), fill=(30, 30, 30))
    d.ellipse((148, 160, 172, 178), fill=(20, 20, 20))  # nose
    d.rectangle((105, 215, 215, 232), fill=(210, 20, 30))  # red collar
    d.ellipse((152, 226, 168, 242), fill=(250, 210, 40))  # tag
    return img


def mam() -> Image.Image:
    """Mam: a cartoon woman with a green scarf and glasses."""
    img = Image.new("RGB", (320, 320), (245, 236, 214))
    d = ImageDraw.Draw(img)
    d.ellipse((60, 200, 260, 380), fill=(70, 90, 160))  # shoulders
    d.rectangle((120, 200, 200, 230), fill=(40, 150, 80))  # scarf
    d.ellipse((85, 40, 235, 130), fill=(90, 60, 40))  # hair
    d.ellipse((100, 60, 220, 210), fill=(240, 200, 170))  # face
    d.ellipse((120, 110, 150, 140), outline=(20, 20, 20), width=4)  # glasses
    d.ellipse((170, 110, 200, 140), outline=(20, 20, 20), width=4)
    d.line((150, 125, 170, 125), fill=(20, 20, 20), width=3)
    d.arc((135, 150, 185, 185), 20, 160, fill=(170, 60, 60), width=4)  # smile
    return img


def _landscape() -> Image.Image:
    img = Image.new("RGB", (640, 400), (160, 210, 250))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 280, 640, 400), fill=(100, 180, 80))
    d.ellipse((470, 120, 600, 250), fill=(40, 120, 50))  # tree
    d.rectangle((525, 240, 545, 300), fill=(110, 70, 40))
    return img


PARK_BOXES = {"Bo": (60, 170, 260, 370)}
FAMILY_BOXES = {"Bo": (40, 190, 230, 380), "Mam": (300, 60, 520, 280)}


def _paste(boxes: dict[str, Box]) -> Image.Image:
    img = _landscape()
    drawings = {"Bo": bo, "Mam": mam}
    for name, (x0, y0, x1, y1) in boxes.items():
        img.paste(drawings[name]().resize((x1 - x0, y1 - y0)), (x0, y0))
    return img


def park() -> Image.Image:
    """A park with Bo in it."""
    return _paste(PARK_BOXES)


def family() -> Image.Image:
    """Bo and Mam together in the park."""
    return _paste(FAMILY_BOXES)

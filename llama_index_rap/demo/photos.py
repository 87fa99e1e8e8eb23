"""Real photos the project may use: the ones scikit-image's wheel ships in ``skimage/data``.

``chelsea`` (a cat), ``coffee``, ``astronaut``, ``rocket``, and ``motorcycle_left`` /
``motorcycle_right`` (one motorbike seen from two places). Found without importing
scikit-image (its import is slow) and never copied anywhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PIL import Image, ImageOps

from llama_index_rap.errors import ImageNotFoundError

SKIMAGE_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle_left", "motorcycle_right")


def skimage_photo(name: str) -> Path:
    """The path of one of scikit-image's photos (``name`` without its extension).

    Raises:
        ImageNotFoundError: scikit-image is not installed or has no such photo.
    """
    found = importlib.util.find_spec("skimage")
    for folder in list(found.submodule_search_locations or []) if found else []:
        for ext in (".png", ".jpg"):
            path = Path(folder) / "data" / f"{name}{ext}"
            if path.is_file():
                return path
    raise ImageNotFoundError(
        f"scikit-image's photo {name!r} is not installed; pip install scikit-image "
        f"(a dependency of llama-index-rap); known: {', '.join(SKIMAGE_PHOTOS)}"
    )


def open_photo(name: str) -> Image.Image:
    """One of scikit-image's photos, decoded as RGB."""
    with Image.open(skimage_photo(name)) as image:
        rgb: Image.Image = image.convert("RGB")
    return rgb


def chelsea_scene() -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A new scene made from Chelsea's photo, and where she is in it.

    Her photo mirrored, turned 8 degrees, cropped and shrunk to 45% of the width, put on the
    coffee photo: not a picture the store has seen, and her box is what a user would draw.
    """
    scene = open_photo("coffee").resize((900, 600))
    cat = ImageOps.mirror(open_photo("chelsea")).rotate(8, fillcolor=(128, 128, 128))
    cat = cat.crop((40, 20, 431, 290))
    cat = cat.resize((405, round(405 * cat.height / cat.width)))
    x, y = scene.width - cat.width - 20, scene.height - cat.height - 20
    scene.paste(cat, (x, y))
    return scene, (x, y, x + cat.width, y + cat.height)

"""The query image with what was recognised drawn on it.

Every searched box gets a frame and a label: the matched concept's name and distance in
colour, or ``unknown <class>`` in dimmed grey when it matched nothing. A whole-image match
is written in the top-left corner. Drawn with PIL's own font: nothing is fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

from llama_index_rap.detect.boxes import CALLER

if TYPE_CHECKING:
    from llama_index_rap.retrieve.retriever import RetrievalReport

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180)]
UNKNOWN = (150, 150, 150)


def annotate(image: Image.Image, report: RetrievalReport, note: str | None = None) -> Image.Image:
    """A copy of ``image`` with the report's boxes and matches drawn on it.

    Args:
        image: The query image.
        report: What :meth:`RAPRetriever.report` returned for it.
        note: A line to print at the bottom (e.g. that the models have random weights).
    """
    canvas = image.convert("RGB")
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    size = max(12, min(canvas.size) // 28)
    font = ImageFont.load_default(size=size)
    colours: dict[str, tuple[int, int, int]] = {}
    chosen = {n.node.metadata["concept_id"] for n in report.nodes}
    corner: list[str] = []
    for crop in report.crops:
        hit = next((h for h in crop.hits if h.concept_id in chosen), None)
        if crop.box is None:
            if hit is not None:
                corner.append(f"whole image: {hit.name} {hit.distance:.3f}")
            continue
        if hit is None:
            what = "region" if crop.box.label == CALLER else crop.box.label
            colour, alpha, text = UNKNOWN, 150, f"unknown {what}"
        else:
            colour = colours.setdefault(hit.concept_id, PALETTE[len(colours) % len(PALETTE)])
            alpha, text = 255, f"{hit.name} {hit.distance:.3f}"
        x0, y0, x1, y1 = crop.box.as_tuple()
        draw.rectangle((x0, y0, x1, y1), outline=(*colour, alpha), width=max(2, size // 6))
        _label(draw, (x0, y0), text, font, colour, alpha)
    for i, text in enumerate(corner):
        _label(draw, (0, i * (size + 6)), text, font, (0, 0, 0), 220)
    if note:
        _label(draw, (0, canvas.height - size - 6), note, font, (120, 0, 0), 220)
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")


def _label(
    draw: ImageDraw.ImageDraw,
    at: tuple[int, int],
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    colour: tuple[int, int, int],
    alpha: int,
) -> None:
    left, top, right, bottom = draw.textbbox(at, text, font=font)
    draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=(*colour, alpha))
    draw.text(at, text, fill=(255, 255, 255, 255), font=font)

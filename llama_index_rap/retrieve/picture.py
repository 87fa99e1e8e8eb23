"""The query image with what was recognised drawn on it.

Every searched box gets a frame and a label: the name and distance of each concept that
retrieval took from that box (a node's ``crop_index``), the match distance it was kept
within and its nearest "not this one" photo's distance when it has one, in colour, or
``unknown <class>`` in dimmed grey when retrieval took nothing from it. What was taken from
the whole image is written in the top-left corner. Labels never cover one another: one that
would is moved down below the others. Drawn with PIL's own font: nothing is fetched.
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
    taken: list[Rect] = []
    found: dict[int, list[str]] = {}
    evidence: dict[str, str] = {}
    for node in report.nodes:
        meta = node.node.metadata
        if meta.get("crop_index") is not None:
            found.setdefault(meta["crop_index"], []).append(meta["concept_id"])
            evidence[meta["concept_id"]] = _why(meta)
    for i, crop in enumerate(report.crops):
        hits = [h for h in crop.hits if h.concept_id in found.get(i, [])]
        if crop.box is None:
            for hit in hits:
                text = f"whole image: {hit.name} {hit.distance:.3f}{evidence[hit.concept_id]}"
                _label(draw, (0, 0), text, font, (0, 0, 0), 220, taken)
            continue
        x0, y0, x1, y1 = crop.box.as_tuple()
        if not hits:
            what = "region" if crop.box.label == CALLER else crop.box.label
            draw.rectangle((x0, y0, x1, y1), outline=(*UNKNOWN, 150), width=max(2, size // 6))
            _label(draw, (x0, y0), f"unknown {what}", font, UNKNOWN, 150, taken)
        for hit in hits:
            colour = colours.setdefault(hit.concept_id, PALETTE[len(colours) % len(PALETTE)])
            draw.rectangle((x0, y0, x1, y1), outline=(*colour, 255), width=max(2, size // 6))
            text = f"{hit.name} {hit.distance:.3f}{evidence[hit.concept_id]}"
            _label(draw, (x0, y0), text, font, colour, 255, taken)
    if note:
        _label(draw, (0, canvas.height - size - 6), note, font, (120, 0, 0), 220, [])
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")


Rect = tuple[float, float, float, float]


def _why(meta: dict[str, object]) -> str:
    """The threshold a match was kept within, and its nearest negative, for a label."""
    text = ""
    if isinstance(limit := meta.get("max_distance"), float):
        text += f" <= {limit:.2f}"
    if isinstance(negative := meta.get("negative_distance"), float):
        text += f", not-{meta.get('name')} {negative:.2f}"
    return text


def _label(
    draw: ImageDraw.ImageDraw,
    at: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    colour: tuple[int, int, int],
    alpha: int,
    taken: list[Rect],
) -> Rect:
    """Draw ``text`` at ``at``, or lower down where it covers no label in ``taken``."""
    x, y = float(at[0]), float(at[1])
    while True:
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        rect = (left - 2, top - 2, right + 2, bottom + 2)
        clash = [r for r in taken if _overlap(rect, r)]
        if not clash:
            break
        y = max(r[3] for r in clash) + 3
    draw.rectangle(rect, fill=(*colour, alpha))
    draw.text((x, y), text, fill=(255, 255, 255, 255), font=font)
    taken.append(rect)
    return rect


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

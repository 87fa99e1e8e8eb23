"""Query scenes made by pasting stored concept images into a background at known places."""

from __future__ import annotations

from PIL import Image

from tests.imagegen import photo


def scene(
    items: list[tuple[Image.Image, tuple[int, int, int, int]]],
    size: tuple[int, int] = (480, 360),
    background_seed: int = 99,
) -> Image.Image:
    """A background photo with each image resized into its box ``(x0, y0, x1, y1)``."""
    canvas = photo(background_seed, size)
    for img, (x0, y0, x1, y1) in items:
        canvas.paste(img.resize((x1 - x0, y1 - y0)), (x0, y0))
    return canvas

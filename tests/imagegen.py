"""Synthetic photos for tests: distinct per seed, deterministic, a few KB each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw


def photo(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A picture of random coloured shapes on a gradient, different for every seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.linspace(rng.integers(0, 255, 3), rng.integers(0, 255, 3), w, dtype=np.float64)
    img = Image.fromarray(np.broadcast_to(base, (h, w, 3)).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return img


def save(img: Image.Image, path: Path, **kwargs: Any) -> Path:
    """Save ``img`` to ``path`` (format from the suffix), creating folders; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)
    return path

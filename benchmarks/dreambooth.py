"""The real photos the quality benchmark reads, and the pictures it makes from them.

The DreamBooth set (``PHOTOS/dreambooth/<subject>/``, classes in ``prompts_and_classes.txt``)
is read where it lies, never copied: splits of known subjects and strangers, reference
photos, collages, distractor crops and 12-megapixel camera JPEGs (written to a temp folder).
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KNOWN, STRANGERS = 20, 10
"""Subjects remembered, and subjects kept as strangers, per split."""


def default_photos() -> Path:
    """``RAP_PHOTOS`` or ``../shared/photos`` beside the repository."""
    here = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("RAP_PHOTOS") or here.parent / "shared" / "photos")


@dataclass(frozen=True)
class Subject:
    """One DreamBooth subject: its folder name, its class and its photos."""

    name: str
    category: str
    photos: tuple[Path, ...]


def dreambooth(photos: Path) -> list[Subject]:
    """The subjects under ``photos/dreambooth`` with their classes (``prompts_and_classes.txt``)."""
    folder = photos / "dreambooth"
    classes: dict[str, str] = {}
    lines = (folder / "prompts_and_classes.txt").read_text().splitlines()
    start = lines.index("subject_name,class") + 1
    for line in lines[start:]:
        if not line.strip():
            break
        name, category = line.split(",", 1)
        classes[name.strip()] = category.strip()
    return [
        Subject(name, category, tuple(sorted(p for p in (folder / name).iterdir() if p.is_file())))
        for name, category in sorted(classes.items())
    ]


def split(subjects: list[Subject], seed: int) -> tuple[list[Subject], list[Subject]]:
    """20 known subjects and 10 strangers, shuffled by ``seed``."""
    order = subjects[:]
    random.Random(seed).shuffle(order)
    return order[:KNOWN], order[KNOWN : KNOWN + STRANGERS]


def references(known: list[Subject], refs: int, seed: int) -> dict[str, list[Path]]:
    """Each known subject's reference photos (``refs`` of them, chosen by ``seed``)."""
    rng = random.Random(seed * 101 + refs)
    return {s.name: rng.sample(list(s.photos), refs) for s in known}


def grid(count: int) -> tuple[int, int]:
    """Columns and rows of a collage of ``count`` photos."""
    return {2: (2, 1), 3: (3, 1), 4: (2, 2)}[count]


def collage(paths: Sequence[Path], cell: int = 320) -> tuple[Any, list[tuple[int, int, int, int]]]:
    """The photos side by side on a grey canvas, each fitted into its cell; and their boxes."""
    from PIL import Image

    cols, rows = grid(len(paths))
    canvas = Image.new("RGB", (cols * cell, rows * cell), (128, 128, 128))
    boxes = []
    for i, path in enumerate(paths):
        photo = Image.open(path).convert("RGB")
        photo.thumbnail((cell, cell))
        x = (i % cols) * cell + (cell - photo.width) // 2
        y = (i // cols) * cell + (cell - photo.height) // 2
        canvas.paste(photo, (x, y))
        boxes.append((x, y, x + photo.width, y + photo.height))
    return canvas, boxes


def distractors(sources: Sequence[Path], count: int, seed: int = 7) -> list[bytes]:
    """``count`` JPEGs of other objects: random crops (half to all of each side) and flips."""
    from PIL import Image, ImageOps

    rng = random.Random(seed)
    images = [Image.open(p).convert("RGB") for p in sources]
    out = []
    for _ in range(count):
        image = rng.choice(images)
        w, h = image.size
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = image.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        buf = io.BytesIO()
        crop.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def camera_jpegs(source: Path, folder: Path, count: int) -> list[Path]:
    """``count`` different 12-megapixel JPEGs made from one photo (enlarged, with grain)."""
    from PIL import Image

    base = np.asarray(
        Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC),
        dtype=np.int16,
    )
    paths = []
    for seed in range(count):
        grain = np.random.default_rng(seed).integers(-6, 7, base.shape, dtype=np.int16)
        path = folder / f"camera-{seed}.jpg"
        Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(path, quality=92)
        paths.append(path)
    return paths

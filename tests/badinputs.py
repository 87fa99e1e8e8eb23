"""A catalogue of bad images and arguments, each with the error it must raise."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from llama_index_rap import errors
from tests.imagegen import photo


@dataclass(frozen=True)
class BadCase:
    """One refused input: what to pass to remember() and the error expected."""

    id: str
    kwargs: dict[str, object]
    error: type[Exception]
    mentions: str  # a piece of the message naming the input


def _png(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _bomb_png() -> bytes:
    """A tiny PNG whose header claims 20000 x 20000 pixels (400 MP)."""
    return _png(Image.new("1", (20000, 20000)))


def _animated_gif() -> bytes:
    frames = [photo(i).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=80)
    return buf.getvalue()


def bad_cases(tmp: Path) -> list[BadCase]:
    good = _png(photo(1))
    jpeg = io.BytesIO()
    photo(1).save(jpeg, format="JPEG")
    (tmp / "empty.png").write_bytes(b"")
    (tmp / "notes.txt").write_text("this is not a picture")
    (tmp / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    (tmp / "folder.png").mkdir(exist_ok=True)
    base = {"name": "Bo", "images": good, "description": "My dog."}

    def case(id: str, error: type[Exception], mentions: str, **changes: object) -> BadCase:
        return BadCase(id, {**base, **changes}, error, mentions)

    return [
        case("missing-file", errors.ImageNotFoundError, "nope.png", images=tmp / "nope.png"),
        case("directory", errors.ImageNotFoundError, "folder.png", images=tmp / "folder.png"),
        case("zero-bytes-file", errors.EmptyImageError, "empty", images=tmp / "empty.png"),
        case("zero-bytes", errors.EmptyImageError, "0 bytes", images=b""),
        case("not-an-image", errors.UnreadableImageError, "notes.txt", images=tmp / "notes.txt"),
        case(
            "random-bytes",
            errors.UnreadableImageError,
            "bytes",
            images=np.random.default_rng(0).bytes(4000),
        ),
        case(
            "corrupt-png",
            errors.UnreadableImageError,
            "bytes",
            images=good[:60] + b"\x00" * 200 + good[260:],
        ),
        case(
            "truncated-jpeg",
            errors.UnreadableImageError,
            "truncated.jpg",
            images=tmp / "truncated.jpg",
        ),
        case("decompression-bomb", errors.ImageTooLargeError, "pixels", images=_bomb_png()),
        case(
            "huge-dimensions",
            errors.ImageTooLargeError,
            "70000x1000",
            images=_png(Image.new("1", (70000, 1000))),
        ),
        case("one-pixel", errors.ImageTooSmallError, "1x1", images=_png(Image.new("RGB", (1, 1)))),
        case("animated-gif", errors.AnimatedImageError, "animated", images=_animated_gif()),
        case("wrong-image-type", errors.ImageError, "int", images=[42]),
        case("no-images", errors.InvalidInputError, "no image", images=[]),
        case("empty-name", errors.InvalidNameError, "empty", name="   "),
        case("bracket-only-name", errors.InvalidNameError, "empty", name="<>"),
        case("long-name", errors.InvalidNameError, "over the limit", name="B" * 500),
        case("name-not-str", errors.InvalidNameError, "int", name=7),
        case("control-char-name", errors.InvalidNameError, "control", name="Bo\x00"),
        case("empty-description", errors.InvalidDescriptionError, "empty", description=" "),
        case(
            "long-description",
            errors.InvalidDescriptionError,
            "over the limit",
            description="x" * 100_000,
        ),
        case("alias-as-string", errors.InvalidNameError, "list", aliases="Bobo"),
        case("empty-alias", errors.InvalidNameError, "alias", aliases=[""]),
        case("bad-user", errors.InvalidUserError, "empty", user=""),
        case("category-not-str", errors.InvalidInputError, "category", category=3),
    ]

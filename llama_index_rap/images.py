"""Reading, checking and normalising images: the one door every image comes through.

Stored concept images and query images both pass through :func:`load_image`, so a photo is
decoded the same way when it is remembered and when it is searched: EXIF rotation applied,
CMYK, 16-bit, palette and transparent images turned into plain 8-bit RGB, and junk refused
with a specific error from :mod:`llama_index_rap.errors` before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import logging
import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from llama_index_rap.errors import (
    AnimatedImageError,
    EmptyImageError,
    ImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnreadableImageError,
)

logger = logging.getLogger(__name__)

ImageInput = Union[str, "os.PathLike[str]", bytes, bytearray, Image.Image]
"""What callers may pass as an image: a path, raw encoded bytes or a PIL image."""

CONTENT_KEY = "rap_sha256"
"""``PIL.Image.info`` key of a decoded picture's SHA-256 (of the bytes it came from)."""

STORED_FORMATS = frozenset({"jpeg", "png", "webp", "gif"})
"""Formats kept as the file's own bytes; any other (BMP, TIFF, HEIC...) is stored as a PNG."""

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MIN_SIDE = 8


@dataclass(frozen=True)
class ImageLimits:
    """Bounds on what an image may be.

    Args:
        max_pixels: Largest width x height accepted; larger images (decompression bombs
            among them) raise :class:`ImageTooLargeError` before they are decoded.
        max_bytes: Largest encoded size accepted.
        min_side: Smallest width or height accepted.
        max_aspect: Largest ratio of the long side to the short one (an 8 x 1,000,000
            strip is within the pixel limit but costs gigabytes to decode and encode).
    """

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    min_side: int = DEFAULT_MIN_SIDE
    max_aspect: float = 100.0


@dataclass(frozen=True)
class LoadedImage:
    """A decoded, checked image and the bytes it came from.

    Args:
        image: The picture as 8-bit RGB with its EXIF rotation applied.
        data: The file's own bytes when it is a JPEG, PNG, WebP or GIF (what the store
            keeps and models get); any other format (BMP, TIFF, HEIC...), and a PIL image
            without its file, encoded once as a PNG at low compression (fast, lossless).
        format: The encoded format, lower case (``"jpeg"``, ``"png"``...); a camera's MPO
            (a JPEG with a preview frame appended) is ``"jpeg"``.
        label: How the input is named in messages (a path, or ``"<bytes>"``).
    """

    image: Image.Image
    data: bytes
    format: str
    label: str

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the encoded bytes; identifies the image's content.

        Worked out once, when the bytes were decoded (``image.info``).
        """
        digest = self.image.info.get(CONTENT_KEY)
        return str(digest) if digest else hashlib.sha256(self.data).hexdigest()

    @property
    def width(self) -> int:
        """Width in pixels after rotation."""
        return self.image.width

    @property
    def height(self) -> int:
        """Height in pixels after rotation."""
        return self.image.height


def describe(source: object) -> str:
    """Name an image input for an error message without dumping its bytes."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.width}x{source.height} {source.mode}>"
    return f"<{type(source).__name__}>"


def read_source(source: ImageInput, limits: ImageLimits = ImageLimits()) -> tuple[bytes, str]:
    """Return the encoded bytes of an image input and a label for messages.

    Raises:
        ImageNotFoundError: A path that does not exist or is a directory.
        EmptyImageError: Zero bytes.
        ImageTooLargeError: More bytes than ``limits.max_bytes``.
        ImageError: An input of a type that is not an image.
    """
    if isinstance(source, Image.Image):
        own = _untouched_file(source)
        if own is not None:
            return own, str(getattr(source, "filename", describe(source)))
        return png_bytes(_to_rgb(source, describe(source))), describe(source)
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), describe(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        label = str(source)
        if not path.is_file():
            raise ImageNotFoundError(
                f"image {label!r} does not exist or is not a file; give the path of an image file"
            )
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise ImageTooLargeError(
                f"image {label!r} is {size} bytes, over the limit of {limits.max_bytes}; "
                "give a smaller file or raise max_bytes"
            )
        data = path.read_bytes()
    else:
        raise ImageError(
            f"an image must be a path, bytes or a PIL image, not {type(source).__name__}"
        )
    if not data:
        raise EmptyImageError(f"image {label} is empty (0 bytes); give a real image file")
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(
            f"image {label} is {len(data)} bytes, over the limit of {limits.max_bytes}"
        )
    return data, label


def png_bytes(image: Image.Image) -> bytes:
    """``image`` as a PNG at compression level 1 (fast, lossless).

    ~0.3 s for a 2048 x 2048 photo here, against ~0.9 s at PIL's default level, for ~20% more
    bytes.
    """
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _untouched_file(image: Image.Image) -> bytes | None:
    """The bytes of the file a PIL image was opened from, if its pixels were never decoded.

    Pixels never decoded were never changed, so a JPEG, PNG or WebP is then stored as the
    file's own bytes, not re-encoded.
    """
    path = getattr(image, "filename", "")
    if not path or getattr(image, "_im", True) is not None:
        return None
    if (image.format or "").lower() not in (STORED_FORMATS | {"mpo"}):
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def load_image(source: ImageInput, limits: ImageLimits = ImageLimits()) -> LoadedImage:
    """Read, check and normalise one image.

    Args:
        source: A file path, encoded image bytes or a PIL image.
        limits: Size bounds to enforce.

    Returns:
        The decoded RGB image with its original bytes.

    Raises:
        ImageError: A subclass naming the input and what is wrong with it.
    """
    data, label = read_source(source, limits)
    key = (data, label, limits)
    found = _RECENT.get(key)
    if found is None:
        found = decode(data, label, limits)
        _RECENT.put(key, found)
    return found


class _RecentImages:
    """The last few images decoded, bounded by count and by pixels.

    One picture passed from stage to stage (the query photo, a concept's image in every
    prompt) is then decoded once. Keyed by the bytes themselves, so equal bytes always mean
    the same picture. Callers must not draw on the images they get (copy first).
    """

    def __init__(self, items: int = 16, pixels: int = 48_000_000) -> None:
        self.items, self.pixels = items, pixels
        self._cache: OrderedDict[tuple[bytes, str, ImageLimits], LoadedImage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, str, ImageLimits]) -> LoadedImage | None:
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def put(self, key: tuple[bytes, str, ImageLimits], image: LoadedImage) -> None:
        with self._lock:
            self._cache[key] = image
            total = sum(im.width * im.height for im in self._cache.values())
            while len(self._cache) > 1 and (len(self._cache) > self.items or total > self.pixels):
                _, dropped = self._cache.popitem(last=False)
                total -= dropped.width * dropped.height


_RECENT = _RecentImages()


@functools.cache
def _register_heif() -> None:
    """Let PIL read HEIC/HEIF phone photos (pi-heif).

    Registering it ourselves also keeps ultralytics' patch of ``Image.open`` (which tries
    to install pi-heif on the first unreadable file) from turning a plain "not an image"
    into an import error.
    """
    try:
        from pi_heif import register_heif_opener
    except ImportError:  # pragma: no cover - pi-heif is a dependency
        logger.info("pi-heif is not installed: HEIC photos cannot be read")
        return
    register_heif_opener()


def decode(data: bytes, label: str, limits: ImageLimits = ImageLimits()) -> LoadedImage:
    """Decode encoded image bytes with every check of :func:`load_image`."""
    _register_heif()
    if not data:
        raise EmptyImageError(f"image {label} is empty (0 bytes); give a real image file")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageTooLargeError(
                f"image {label} is a decompression bomb ({e}); give a real photo"
            ) from e
        except UnidentifiedImageError as e:
            raise UnreadableImageError(
                f"{label} is not an image PIL can read (PNG, JPEG, WebP, GIF, BMP, TIFF...); "
                "check that the file is really an image"
            ) from e
        except (OSError, SyntaxError, ValueError) as e:  # e.g. text or ICC chunks too large
            raise UnreadableImageError(
                f"image {label} cannot be read ({e}); give a plain JPEG or PNG"
            ) from e
        width, height = img.size
        if max(width, height) > limits.max_aspect * min(width, height):
            raise ImageTooLargeError(
                f"image {label} is {width}x{height}: one side is over {limits.max_aspect:g} "
                "times the other (a strip, not a photo); crop it or raise max_aspect"
            )
        if width * height > limits.max_pixels:
            raise ImageTooLargeError(
                f"image {label} is {width}x{height} = {width * height} pixels, over the limit "
                f"of {limits.max_pixels}; downscale it or raise max_pixels"
            )
        if min(width, height) < limits.min_side:
            raise ImageTooSmallError(
                f"image {label} is {width}x{height} pixels; each side must be at least "
                f"{limits.min_side} pixels to show anything"
            )
        frames = int(getattr(img, "n_frames", 1))
        fmt = (img.format or "png").lower()
        if fmt == "mpo":  # a camera JPEG (main picture + preview frame): a still photo
            fmt, frames = "jpeg", 1
        if frames > 1:
            raise AnimatedImageError(
                f"image {label} is animated ({frames} frames); save the one frame "
                "that shows the concept as a PNG or JPEG and give that"
            )
        try:
            img.load()
        except (OSError, SyntaxError, ValueError) as e:
            raise UnreadableImageError(
                f"image {label} is corrupt or truncated ({e}); give the complete file"
            ) from e
    rgb = _to_rgb(ImageOps.exif_transpose(img), label)
    if fmt not in STORED_FORMATS:
        data, fmt = png_bytes(rgb), "png"
    rgb.info[CONTENT_KEY] = hashlib.sha256(data).hexdigest()  # caches key by content
    return LoadedImage(image=rgb, data=data, format=fmt, label=label)


def decode_base64(text: str, label: str = "<base64>") -> bytes:
    """Turn a base64 string (optionally a ``data:image/...;base64,`` URL) into bytes."""
    payload = text.split(",", 1)[1] if text.startswith("data:") else text
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as e:
        raise UnreadableImageError(f"{label} is not valid base64 ({e})") from e


def _to_rgb(img: Image.Image, label: str) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparency is laid over white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if (mode == "P" and "transparency" in img.info) or mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except (ValueError, OSError) as e:
        raise UnreadableImageError(
            f"image {label} has a mode ({mode}) that cannot be read as RGB"
        ) from e

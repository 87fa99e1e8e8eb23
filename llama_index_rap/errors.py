"""Every error llama-index-rap raises on purpose.

Each message names the input that was refused and says how to fix it. All errors derive
from :class:`RapError`, so callers can catch the whole family at once; the CLI turns them
into one line and a non-zero exit.
"""

from __future__ import annotations


class RapError(Exception):
    """Base class of every error raised by llama-index-rap on purpose."""


class InvalidInputError(RapError, ValueError):
    """An argument has the wrong type or value (empty, too long, out of range)."""


class InvalidNameError(InvalidInputError):
    """A concept name or alias is empty, too long or otherwise unusable."""


class InvalidDescriptionError(InvalidInputError):
    """A concept description is empty or too long."""


class InvalidUserError(InvalidInputError):
    """A user id is empty, too long or not a string."""


class ImageError(InvalidInputError):
    """An image cannot be used; subclasses say why."""


class ImageNotFoundError(ImageError, FileNotFoundError):
    """An image path does not exist or is not a file."""


class EmptyImageError(ImageError):
    """An image file or byte string holds no bytes at all."""


class UnreadableImageError(ImageError):
    """Bytes that are not an image, or an image that is corrupt or truncated."""


class ImageTooLargeError(ImageError):
    """An image exceeds the pixel or byte limit (a decompression bomb, for instance)."""


class ImageTooSmallError(ImageError):
    """An image is too small to show anything (for instance 1x1 pixels)."""


class AnimatedImageError(ImageError):
    """An animated image (GIF, WebP, APNG) where one still picture is needed."""


class LimitExceededError(InvalidInputError):
    """A store limit (images per concept, concepts per user) would be exceeded."""


class ConceptExistsError(RapError):
    """A concept of that name (case-insensitive) already exists for the user."""


class ConceptNotFoundError(RapError, KeyError):
    """No concept of that name exists for the user."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EncoderMismatchError(RapError):
    """Vectors from one image encoder were offered to a store written with another."""


class StoreError(RapError):
    """The concept store cannot be opened or written (after retries)."""


class DiskFullError(StoreError):
    """The disk holding the store is full: a write failed and the store is unchanged."""


class DamagedImageError(StoreError):
    """A stored image's bytes no longer match the SHA-256 recorded when it was written."""


class ImportFormatError(RapError):
    """A file to import (an export folder, a RAP database.json) is not in the expected format."""


class ModelNotFoundError(RapError):
    """Model weights are neither on disk nor downloadable."""


class ModelConfigError(RapError, ValueError):
    """A model name, profile or specification that cannot be understood."""


class EncoderCapabilityError(RapError):
    """An encoder was asked for something it cannot do (text vectors from an image-only one)."""

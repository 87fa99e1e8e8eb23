"""Checking what a caller asks the store to remember, before anything is encoded or written."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llama_index_rap.errors import (
    InvalidDescriptionError,
    InvalidInputError,
    InvalidNameError,
    InvalidUserError,
    LimitExceededError,
)
from llama_index_rap.images import ImageInput, ImageLimits, LoadedImage, load_image
from llama_index_rap.store.schema import normalise_name

KnownVectors = Sequence["np.ndarray | None"] | None
"""Per image of a concept (its images, then its negatives), a vector to reuse or ``None``;
``None`` for all to be encoded."""


@dataclass(frozen=True)
class StoreLimits:
    """What the store accepts; every limit is enforced with a specific error.

    Args:
        images: Pixel and byte bounds of each image.
        max_images_per_concept: Images one concept may hold.
        max_name_length: Characters in a name, alias or category.
        max_aliases: Aliases one concept may have.
        max_description_length: Characters in a description.
        max_user_length: Characters in a user id.
        max_concepts_per_user: Concepts one user may hold.
    """

    images: ImageLimits = field(default_factory=ImageLimits)
    max_images_per_concept: int = 16
    max_name_length: int = 64
    max_aliases: int = 16
    max_description_length: int = 2000
    max_user_length: int = 256
    max_concepts_per_user: int = 100_000


@dataclass(frozen=True)
class ConceptInput:
    """One concept to remember, as a caller gives it.

    Args:
        name: The concept's name (``"Bo"``; surrounding ``<>`` are dropped).
        images: One image or several (paths, bytes or PIL images).
        description: A line about the concept.
        category: Detector class, e.g. ``"dog"``.
        aliases: Other names it answers to.
        negatives: Photos of something else that looks like it ("this is not Bo").
    """

    name: str
    images: ImageInput | Sequence[ImageInput]
    description: str
    category: str | None = None
    aliases: Sequence[str] = ()
    negatives: Sequence[ImageInput] = ()


@dataclass(frozen=True)
class CheckedConcept:
    """A concept whose every field and image passed the checks."""

    name: str
    aliases: tuple[str, ...]
    category: str | None
    description: str
    images: tuple[LoadedImage, ...]
    negatives: tuple[LoadedImage, ...] = ()

    @property
    def every_image(self) -> tuple[LoadedImage, ...]:
        """Its images, then its negatives: the order its rows and vectors are written in."""
        return self.images + self.negatives

    @property
    def name_key_text(self) -> str:
        """The name as it is compared (case-folded, NFKC)."""
        return normalise_name(self.name)

    def same_content(
        self,
        other_images: Sequence[str],
        description: str,
        category: str | None,
        aliases: Sequence[str],
    ) -> bool:
        """Whether a stored concept already holds exactly this."""
        return (
            [i.sha256 for i in self.images] == list(other_images)
            and self.description == description
            and self.category == category
            and list(self.aliases) == list(aliases)
        )


def _printable(text: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def clean_user(user: object, limits: StoreLimits) -> str:
    """Check a user id; surrounding spaces are kept (ids are opaque)."""
    if not isinstance(user, str):
        raise InvalidUserError(f"user must be a string, not {type(user).__name__}")
    if not user.strip():
        raise InvalidUserError("user is empty; give the id of the user who owns the concepts")
    if len(user) > limits.max_user_length:
        raise InvalidUserError(
            f"user {user[:40]!r}... is {len(user)} characters, over {limits.max_user_length}"
        )
    if not _printable(user):
        raise InvalidUserError(f"user {user!r} contains control characters; remove them")
    return user


def clean_name(name: object, limits: StoreLimits, what: str = "name") -> str:
    """Check a concept name or alias; strips spaces and one pair of surrounding ``<>``."""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} must be a string, not {type(name).__name__}")
    text = " ".join(name.split())
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text:
        raise InvalidNameError(f"{what} {name!r} is empty; give a name such as 'Bo'")
    if len(text) > limits.max_name_length:
        raise InvalidNameError(
            f"{what} {text[:40]!r}... is {len(text)} characters, over the limit of "
            f"{limits.max_name_length}; use a short name and put the rest in the description"
        )
    if not _printable(text):
        raise InvalidNameError(f"{what} {text!r} contains control characters; remove them")
    return text


def clean_description(description: object, limits: StoreLimits, name: str) -> str:
    """Check a description: a non-empty string within the length limit."""
    if not isinstance(description, str):
        raise InvalidDescriptionError(
            f"description of {name!r} must be a string, not {type(description).__name__}"
        )
    text = description.strip()
    if not text:
        raise InvalidDescriptionError(
            f"description of {name!r} is empty; say in a line who or what {name} is"
        )
    if len(text) > limits.max_description_length:
        raise InvalidDescriptionError(
            f"description of {name!r} is {len(text)} characters, over the limit of "
            f"{limits.max_description_length}; shorten it"
        )
    if not _printable(text.replace("\n", " ").replace("\t", " ")):
        raise InvalidDescriptionError(f"description of {name!r} contains control characters")
    return text


def clean_category(category: object, limits: StoreLimits) -> str | None:
    """Check a category (detector class); ``None`` or blank means none."""
    if category is None:
        return None
    if not isinstance(category, str):
        raise InvalidInputError(f"category must be a string, not {type(category).__name__}")
    if not category.strip():
        return None
    return clean_name(category, limits, what="category").lower()


def clean_aliases(aliases: object, name: str, limits: StoreLimits) -> tuple[str, ...]:
    """Check aliases; drops repeats and the name itself (case-insensitively)."""
    if isinstance(aliases, str) or not isinstance(aliases, Iterable):
        raise InvalidNameError(
            f"aliases of {name!r} must be a list of strings, not {type(aliases).__name__}"
        )
    seen = {normalise_name(name)}
    out = []
    for alias in aliases:
        text = clean_name(alias, limits, what=f"alias of {name!r}")
        if normalise_name(text) not in seen:
            seen.add(normalise_name(text))
            out.append(text)
    if len(out) > limits.max_aliases:
        raise LimitExceededError(
            f"{name!r} has {len(out)} aliases, over the limit of {limits.max_aliases}"
        )
    return tuple(out)


def as_image_list(images: object, name: str) -> list[ImageInput]:
    """Accept one image or a sequence of them."""
    from pathlib import PurePath

    from PIL import Image

    if isinstance(images, (str, bytes, bytearray, PurePath, Image.Image)):
        return [images]
    if isinstance(images, Iterable):
        return list(images)
    raise InvalidInputError(
        f"images of {name!r} must be a path, bytes, a PIL image or a list of them, "
        f"not {type(images).__name__}"
    )


def check_concept(item: ConceptInput, limits: StoreLimits) -> CheckedConcept:
    """Run every check on one concept and decode its images; raises on the first problem."""
    name = clean_name(item.name, limits)
    description = clean_description(item.description, limits, name)
    category = clean_category(item.category, limits)
    aliases = clean_aliases(item.aliases, name, limits)
    sources = as_image_list(item.images, name)
    if not sources:
        raise InvalidInputError(f"{name!r} has no image; give at least one photo")
    if len(sources) > limits.max_images_per_concept:
        raise LimitExceededError(
            f"{name!r} has {len(sources)} images, over the limit of "
            f"{limits.max_images_per_concept} per concept"
        )
    negatives = as_image_list(item.negatives, name) if item.negatives else []
    if len(negatives) > limits.max_images_per_concept:
        raise LimitExceededError(
            f"{name!r} has {len(negatives)} 'not this one' photos, over the limit of "
            f"{limits.max_images_per_concept} per concept"
        )
    loaded: dict[str, LoadedImage] = {}
    for src in sources:
        img = load_image(src, limits.images)
        loaded.setdefault(img.sha256, img)
    others: dict[str, LoadedImage] = {}
    for src in negatives:
        img = load_image(src, limits.images)
        if img.sha256 in loaded:
            raise InvalidInputError(
                f"a photo of {name!r} is also given as one that is not {name!r}; drop one of them"
            )
        others.setdefault(img.sha256, img)
    return CheckedConcept(
        name=name,
        aliases=aliases,
        category=category,
        description=description,
        images=tuple(loaded.values()),
        negatives=tuple(others.values()),
    )


UNIT_TOLERANCE = 1e-3
"""How far from 1 a given vector's length may be (float32 rounding is ~1e-7)."""


def vector_fault(vector: Any, dim: int) -> str | None:
    """What is wrong with a vector (given, imported or stored), or ``None``.

    It must have ``dim`` values, all finite, and unit length within :data:`UNIT_TOLERANCE`.
    """
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape != (dim,):
        return f"has {array.size} dimensions, the table {dim}"
    if not np.isfinite(array).all():
        return "holds inf or NaN"
    norm = float(np.linalg.norm(array))
    if abs(norm - 1.0) > UNIT_TOLERANCE:
        return f"has length {norm:.6g}, not 1"
    return None


def check_vectors(
    known: Sequence[KnownVectors],
    checked: Sequence[CheckedConcept],
    dim: int,
    normalise: bool = False,
) -> list[KnownVectors]:
    """Vectors made elsewhere (an export, a caller), checked before anything is written.

    Each must be finite, of the table's dimension and (unless ``normalise``) of unit length
    within :data:`UNIT_TOLERANCE`: a vector 1000 times a unit vector, or one with ``inf``
    or ``NaN``, would come first for every query of its user or break every user's index.

    Args:
        known: Per concept, per image, a vector or ``None``.
        checked: The concepts they belong to.
        dim: The table's dimension.
        normalise: Scale each (non-zero) vector to unit length instead of refusing it.

    Returns:
        The vectors as float32 unit vectors.

    Raises:
        InvalidInputError: A vector fails a check (which, of which image of which concept).
    """
    out: list[KnownVectors] = []
    for concept, vectors in zip(checked, known, strict=True):
        if vectors is None:
            out.append(None)
            continue
        if len(vectors) == len(concept.images) < len(concept.every_image):
            vectors = [*vectors, *[None] * len(concept.negatives)]  # negatives to be encoded
        if len(vectors) != len(concept.every_image):
            raise InvalidInputError(
                f"concept {concept.name!r} has {len(concept.images)} images but "
                f"{len(vectors)} vectors"
            )
        row: list[np.ndarray | None] = []
        for number, vector in enumerate(vectors, start=1):
            if vector is None:
                row.append(None)
                continue
            array = np.asarray(vector, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(array))
            if normalise and array.shape == (dim,) and np.isfinite(norm) and norm > 1e-6:
                array = array / norm
            fault = vector_fault(array, dim)
            if fault is not None:
                hint = (
                    ": vectors must be unit length, as the store's encoder makes them (leave it "
                    "out to have the image encoded)"
                    if fault.startswith("has length")
                    else ""
                )
                where = f"the vector of image {number} of concept {concept.name!r}"
                raise InvalidInputError(f"{where} {fault}{hint}")
            row.append(array)
        out.append(row)
    return out

"""The concept row: one typed schema for every reader and writer of the concept table.

A concept is one or more rows, one per image, sharing a ``concept_id``; its "not this one"
photos (negatives) are rows of the same concept with a negative ``image_index`` (-1, -2...),
so they are scoped, exported, forgotten and purged with it. Filters never embed
a user's or a name's text: they compare fixed-width hex digests (``user_key``,
``name_key``), so no quote, backslash or SQL fragment in a name can widen a query.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from typing import Any

from lancedb.pydantic import LanceModel, Vector

from llama_index_rap.errors import DamagedImageError

ENCODER_METADATA_KEY = b"rap.encoder"


class ConceptRowBase(LanceModel):
    """Columns of a concept row other than the vector (whose size depends on the encoder).

    Args:
        row_id: Unique id of this row (one image of a concept).
        concept_id: Id shared by all rows of one concept.
        user: The owner, as given.
        user_key: Hex digest of ``user``; what filters compare.
        name: The concept's name, as given (without surrounding ``<>``).
        name_key: Hex digest of the case-folded name; unique per user.
        aliases: Other names the concept answers to.
        category: Detector class (``"dog"``), or ``None``.
        description: What the user said about the concept.
        image: The image file's bytes, as given.
        image_sha256: Hex SHA-256 of ``image``.
        image_format: ``"jpeg"``, ``"png"``...
        image_width: Width after EXIF rotation.
        image_height: Height after EXIF rotation.
        image_index: Position of this image among the concept's images (0, 1...); a photo
            the user said is *not* this concept (a negative) has -1, -2...
        encoder: Id of the encoder that made ``vector``.
        created_at: When the concept was first remembered (UTC).
        updated_at: When the concept last changed (UTC).
    """

    row_id: str
    concept_id: str
    user: str
    user_key: str
    name: str
    name_key: str
    aliases: list[str]
    category: str | None = None
    description: str
    image: bytes
    image_sha256: str
    image_format: str
    image_width: int
    image_height: int
    image_index: int
    encoder: str
    created_at: datetime
    updated_at: datetime


@cache
def concept_row_model(dim: int) -> type[ConceptRowBase]:
    """The row model for vectors of ``dim`` dimensions."""

    class ConceptRow(ConceptRowBase):
        vector: Vector(dim)  # type: ignore[valid-type]

    ConceptRow.__name__ = f"ConceptRow{dim}"
    return ConceptRow


META_COLUMNS = [name for name in ConceptRowBase.model_fields if name != "image"]


def digest(text: str) -> str:
    """Fixed-width hex digest used as a filter key (32 hex digits)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def normalise_name(name: str) -> str:
    """The form under which names are compared: NFKC, case-folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def user_key(user: str) -> str:
    """Filter key of a user id."""
    return digest("user\0" + user)


def name_key(name: str) -> str:
    """Filter key of a concept name (case-insensitive)."""
    return digest("name\0" + normalise_name(name))


def eq(column: str, hex_value: str) -> str:
    """An equality filter on a key column; refuses anything but hex digits."""
    if not hex_value or any(c not in "0123456789abcdef" for c in hex_value):
        raise ValueError(f"filter value for {column} must be a hex key, got {hex_value!r}")
    return f"{column} = '{hex_value}'"


def any_of(column: str, hex_values: Iterable[str]) -> str:
    """A filter matching any of ``hex_values`` in a key column (each checked as in :func:`eq`)."""
    return "(" + " OR ".join(eq(column, v) for v in hex_values) + ")"


def utc(ts: datetime) -> datetime:
    """LanceDB returns naive UTC timestamps; make them aware."""
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ConceptImage:
    """One image of a concept.

    Args:
        row_id: The row holding it.
        sha256: Hex SHA-256 of the bytes.
        format: Encoded format.
        width: Width in pixels.
        height: Height in pixels.
        data: The encoded bytes, or ``None`` when listed without images.
    """

    row_id: str
    sha256: str
    format: str
    width: int
    height: int
    data: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, row: dict[str, Any]) -> ConceptImage:
        """The image of a concept row (its bytes when the row was read with them)."""
        return cls(
            row_id=row["row_id"],
            sha256=row["image_sha256"],
            format=row["image_format"],
            width=row["image_width"],
            height=row["image_height"],
            data=row.get("image"),
        )

    def open(self) -> Any:
        """Decode the image as RGB (EXIF rotation applied)."""
        from llama_index_rap.errors import StoreError
        from llama_index_rap.images import decode

        if self.data is None:
            raise StoreError("this concept was read without its images; use store.get(name)")
        return decode(self.data, f"<stored image {self.sha256[:12]}>").image


@dataclass(frozen=True)
class Concept:
    """A remembered concept.

    Args:
        concept_id: Stable id.
        user: Owner.
        name: Name as given.
        aliases: Other names.
        category: Detector class or ``None``.
        description: What the user said about it.
        images: Its images, in the order given.
        encoder: Encoder id of its vectors.
        created_at: First remembered (UTC).
        updated_at: Last changed (UTC).
        negatives: Photos the user said are not this concept, oldest first.
    """

    concept_id: str
    user: str
    name: str
    aliases: tuple[str, ...]
    category: str | None
    description: str
    images: tuple[ConceptImage, ...]
    encoder: str
    created_at: datetime
    updated_at: datetime
    negatives: tuple[ConceptImage, ...] = ()

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Concept:
        """Assemble a concept from its rows (any order; negatives among them)."""
        everything = rows
        rows = sorted(
            (r for r in everything if r["image_index"] >= 0), key=lambda r: r["image_index"]
        )
        negatives = sorted(
            (r for r in everything if r["image_index"] < 0), key=lambda r: -r["image_index"]
        )
        first = rows[0]
        for number, r in enumerate(rows + negatives, start=1):
            data = r.get("image")
            if data is not None and hashlib.sha256(data).hexdigest() != r["image_sha256"]:
                raise DamagedImageError(
                    f"image {number} of concept {first['name']!r} (row {r['row_id']}) is "
                    "damaged: its bytes no longer match the SHA-256 stored with them; restore "
                    "a version from before the damage (store.versions(), store.restore()) or "
                    "remember the concept again"
                )
        return cls(
            concept_id=first["concept_id"],
            user=first["user"],
            name=first["name"],
            aliases=tuple(first["aliases"] or ()),
            category=first["category"],
            description=first["description"],
            images=tuple(ConceptImage.of(r) for r in rows),
            encoder=first["encoder"],
            created_at=utc(first["created_at"]),
            updated_at=utc(max(r["updated_at"] for r in everything)),
            negatives=tuple(ConceptImage.of(r) for r in negatives),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no image bytes)."""
        return {
            "concept_id": self.concept_id,
            "user": self.user,
            "name": self.name,
            "aliases": list(self.aliases),
            "category": self.category,
            "description": self.description,
            "images": [
                {"sha256": i.sha256, "format": i.format, "width": i.width, "height": i.height}
                for i in self.images
            ],
            "negatives": [{"sha256": i.sha256, "format": i.format} for i in self.negatives],
            "encoder": self.encoder,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class SearchHit:
    """A concept found near a query vector.

    Args:
        query_index: Which query vector (position in the batch).
        concept_id: The concept.
        name: Its name.
        row_id: The row (image) that was nearest.
        distance: Squared L2 distance between unit vectors (0 = same, 4 = opposite).
        negative_distance: Distance to the nearest photo the user said is not this concept
            (``None``: it has none).
    """

    query_index: int
    concept_id: str
    name: str
    row_id: str
    distance: float
    negative_distance: float | None = None


@dataclass(frozen=True)
class StoreVersion:
    """One committed version of the concept table.

    Args:
        version: Version number.
        timestamp: When it was committed.
    """

    version: int
    timestamp: datetime

"""The write path: settle name conflicts, encode, build rows, commit.

:class:`ConceptWrites` runs the steps in order for remember, update and imports
(:class:`~llama_index_rap.store.concepts.ConceptStore` delegates to it, passing the
encoder), holding the write lock only around the last two, a batch of concepts per commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from llama_index_rap.errors import ConceptExistsError, InvalidInputError, LimitExceededError
from llama_index_rap.images import LoadedImage
from llama_index_rap.store.schema import (
    META_COLUMNS,
    Concept,
    any_of,
    name_key,
    normalise_name,
    user_key,
)
from llama_index_rap.store.table import ConceptTable, with_retries
from llama_index_rap.store.validate import CheckedConcept, KnownVectors, StoreLimits

if TYPE_CHECKING:
    from lancedb.table import Table

    from llama_index_rap.encode.base import ImageEncoder
    from llama_index_rap.store.reading import ConceptReads

OnConflict = Literal["error", "skip", "replace"]
WRITE_CHUNK = 256  # concepts committed together
ENCODE_GROUP = 32  # images encoded per call: progress moves concept by concept


def resolve_conflict(
    uid: str,
    c: CheckedConcept,
    old: list[dict[str, Any]] | None,
    on_conflict: OnConflict,
    existing_id: str | None,
) -> str:
    """``"write"`` or ``"keep"`` for one concept; raises on a forbidden conflict."""
    if old is None or (existing_id is not None and old[0]["concept_id"] == existing_id):
        return "write"
    rows = sorted((r for r in old if r["image_index"] >= 0), key=lambda r: r["image_index"])
    if existing_id is not None:  # an update renaming onto another concept's name
        raise ConceptExistsError(
            f"user {uid!r} already has a concept named {rows[0]['name']!r}; pick another name"
        )
    if c.same_content(
        [r["image_sha256"] for r in rows],
        rows[0]["description"],
        rows[0]["category"],
        rows[0]["aliases"],
    ):
        return "keep"
    if on_conflict == "skip":
        return "keep"
    if on_conflict == "replace":
        return "write"
    raise ConceptExistsError(
        f"user {uid!r} already has a concept named {rows[0]['name']!r}; pass replace=True "
        "(rap remember --replace) to overwrite it, or use update() to change it"
    )


def encode_images(
    encoder: ImageEncoder,
    items: list[tuple[CheckedConcept, KnownVectors]],
    progress: Callable[[int], None] | None = None,
) -> list[list[np.ndarray]]:
    """Vectors for every image of every concept; known ones reused.

    The rest are encoded about :data:`ENCODE_GROUP` images per call, whole concepts each,
    and ``progress`` is told the number of concepts encoded after each call.
    """
    out: list[list[np.ndarray]] = []
    group: list[tuple[CheckedConcept, KnownVectors]] = []

    def unknown(c: CheckedConcept, known: KnownVectors) -> list[LoadedImage]:
        return [img for j, img in enumerate(c.every_image) if known is None or known[j] is None]

    def flush() -> None:
        missing = [img for c, known in group for img in unknown(c, known)]
        fresh = iter(encoder.embed_images([m.image for m in missing]) if missing else [])
        for c, known in group:
            given = known if known is not None else [None] * len(c.every_image)
            out.append([next(fresh) if vec is None else vec for vec in given])
        group.clear()
        if progress:
            progress(len(out))

    pending = 0
    for c, known in items:
        group.append((c, known))
        pending += len(unknown(c, known))
        if pending >= ENCODE_GROUP:
            flush()
            pending = 0
    if group:
        flush()
    return out


def build_rows(
    uid: str,
    checked: list[CheckedConcept],
    vectors: list[list[np.ndarray]],
    existing: dict[str, list[dict[str, Any]]],
    encoder: str,
    existing_id: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Table rows for concepts, keeping the id and creation time of those they replace.

    Returns:
        The rows, and the ids of the concepts they replace.
    """
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows: list[dict[str, Any]] = []
    replaced: list[str] = []
    by_id = {rows[0]["concept_id"]: rows for rows in existing.values()}
    for c, vecs in zip(checked, vectors, strict=True):
        old = by_id.get(existing_id) if existing_id else existing.get(c.name_key_text)
        concept_id = old[0]["concept_id"] if old else existing_id or uuid.uuid4().hex
        created = old[0]["created_at"] if old else now
        if old:
            replaced.append(concept_id)
        positions = [*range(len(c.images)), *range(-1, -len(c.negatives) - 1, -1)]
        for j, img, vec in zip(positions, c.every_image, vecs, strict=True):
            rows.append(
                {
                    "row_id": uuid.uuid4().hex,
                    "concept_id": concept_id,
                    "user": uid,
                    "user_key": user_key(uid),
                    "name": c.name,
                    "name_key": name_key(c.name),
                    "aliases": list(c.aliases),
                    "category": c.category,
                    "description": c.description,
                    "image": img.data,
                    "image_sha256": img.sha256,
                    "image_format": img.format,
                    "image_width": img.width,
                    "image_height": img.height,
                    "image_index": j,
                    "encoder": encoder,
                    "created_at": created,
                    "updated_at": now,
                    "vector": np.asarray(vec, dtype=np.float32).tolist(),
                }
            )
    return rows, replaced


def commit_rows(table: Table, rows: list[dict[str, Any]], replaced: list[str]) -> None:
    """Write new rows; rows of ``replaced`` concepts not among them go in the same commit."""
    import pyarrow as pa

    data = pa.Table.from_pylist(rows, schema=table.schema)
    if not replaced:
        with_retries(lambda: table.add(data), "remembering")
        return
    keep_out = any_of("concept_id", replaced)

    def merge() -> None:
        (
            table.merge_insert("row_id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(keep_out)
            .execute(data)
        )

    with_retries(merge, "replacing")


def group_rows(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by concept, in order of first appearance."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["concept_id"], []).append(row)
    return list(groups.values())


class ConceptWrites:
    """The write path shared by remember, update and imports.

    Args:
        table: The concept table.
        reads: Reads of the same table (the user's existing concepts).
        limits: Bounds on counts.
    """

    def __init__(self, table: ConceptTable, reads: ConceptReads, limits: StoreLimits) -> None:
        self.table = table
        self.reads = reads
        self.limits = limits

    def store(
        self,
        encoder: Callable[[], ImageEncoder],
        uid: str,
        checked: list[CheckedConcept],
        vectors: Sequence[KnownVectors],
        on_conflict: OnConflict,
        progress: Callable[[int], None] | None = None,
        existing_id: str | None = None,
        batch: int = WRITE_CHUNK,
    ) -> list[Concept]:
        """Write checked concepts for user ``uid``, a batch of them per commit.

        ``encoder`` gives the store's encoder (called only when something is written);
        ``on_conflict`` and ``progress`` are as in ``ConceptStore.remember_many``;
        ``existing_id`` is the concept an update rewrites (its own name is no conflict).
        """
        keys = [c.name_key_text for c in checked]
        if len(set(keys)) != len(keys):
            dupes = sorted({c.name for c in checked if keys.count(c.name_key_text) > 1})
            raise InvalidInputError(f"the same name is given twice: {', '.join(dupes)}")
        ukey = user_key(uid)
        existing = self._existing(ukey)
        plan = self._plan(uid, checked, existing, on_conflict, existing_id)
        if (
            len(existing) + sum(1 for _, old in plan if old is None)
            > self.limits.max_concepts_per_user
        ):
            raise LimitExceededError(
                f"user {uid!r} would have more than {self.limits.max_concepts_per_user} "
                "concepts; forget some first or raise max_concepts_per_user"
            )
        results: dict[str, Concept] = {}
        todo = [(i, c) for i, c in enumerate(checked) if plan[i][0] == "write"]
        model = encoder() if todo else None
        for i, c in enumerate(checked):
            if plan[i][0] == "keep":
                results[c.name_key_text] = Concept.from_rows(existing[c.name_key_text])
        done = len(results)  # already there: finished
        if progress and done:
            progress(done)
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            assert model is not None
            encoded = None if progress is None else (lambda n, done=done: progress(done + n))
            vecs = encode_images(model, [(c, vectors[i]) for i, c in chunk], encoded)
            with self.table.lock():
                fresh = self._existing(ukey)
                for _, c in chunk:  # someone may have written the name meanwhile
                    resolve_conflict(uid, c, fresh.get(c.name_key_text), on_conflict, existing_id)
                table = self.table.writable(model.encoder_id, model.dim)
                rows, replaced = build_rows(
                    uid, [c for _, c in chunk], vecs, fresh, model.encoder_id, existing_id
                )
                commit_rows(table, rows, replaced)
            for row_group in group_rows(rows):
                concept = Concept.from_rows(row_group)
                results[normalise_name(concept.name)] = concept
            done += len(chunk)
        return [results[c.name_key_text] for c in checked]

    def _existing(self, ukey: str) -> dict[str, list[dict[str, Any]]]:
        """The user's concepts by normalised name (metadata columns only)."""
        return {
            normalise_name(rows[0]["name"]): rows
            for rows in self.reads.rows(ukey, META_COLUMNS).values()
        }

    def _plan(
        self,
        uid: str,
        checked: list[CheckedConcept],
        existing: dict[str, list[dict[str, Any]]],
        on_conflict: OnConflict,
        existing_id: str | None,
    ) -> list[tuple[str, list[dict[str, Any]] | None]]:
        return [
            (
                resolve_conflict(uid, c, existing.get(c.name_key_text), on_conflict, existing_id),
                existing.get(c.name_key_text),
            )
            for c in checked
        ]

"""ConceptStore: RAP's "Remember" step on a LanceDB table.

One table holds every user's concepts; every read, search and delete is scoped to one user
through a hex key, never through the user's text. Remembering writes each concept (all its
images) in one commit, so a reader sees a concept whole or not at all, and the next search
sees it: no restart, no retraining.

This is the facade: reads live in :mod:`~llama_index_rap.store.reading`, searches in
:mod:`~llama_index_rap.store.search` (and :mod:`~llama_index_rap.store.ann` for large
users), the write path in :mod:`~llama_index_rap.store.writing`, the LanceDB table and its
lock in :mod:`~llama_index_rap.store.table`.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from llama_index_rap.errors import (
    ConceptNotFoundError,
    EncoderMismatchError,
    ImportFormatError,
    InvalidInputError,
)
from llama_index_rap.images import ImageInput, LoadedImage, load_image
from llama_index_rap.store.ann import AnnSettings, build_index, has_index
from llama_index_rap.store.reading import ConceptReads
from llama_index_rap.store.schema import (
    META_COLUMNS,
    Concept,
    SearchHit,
    StoreVersion,
    eq,
    user_key,
)
from llama_index_rap.store.search import VectorSearch
from llama_index_rap.store.table import ConceptTable
from llama_index_rap.store.transfer import read_export, read_rap_database, write_export
from llama_index_rap.store.validate import (
    CheckedConcept,
    ConceptInput,
    KnownVectors,
    StoreLimits,
    as_image_list,
    check_concept,
    check_vectors,
    clean_name,
    clean_user,
    vector_fault,
)
from llama_index_rap.store.writing import WRITE_CHUNK, ConceptWrites, OnConflict

if TYPE_CHECKING:
    from llama_index_rap.encode.base import ImageEncoder
    from llama_index_rap.models.specs import ModelProfile
    from llama_index_rap.retrieve.calibration import Calibration

logger = logging.getLogger(__name__)

DEFAULT_USER = "default"
DEFAULT_TABLE = "concepts"


def default_uri() -> str:
    """Where the store lives by default: ``RAP_DB``, else a per-user data directory."""
    from platformdirs import user_data_dir

    return os.environ.get("RAP_DB") or str(Path(user_data_dir("llama-index-rap")) / "lancedb")


class ConceptStore:
    """A user's personal concepts (name, description, category, images and their vectors).

    Remembering an existing name (case-insensitive, per user) is refused with
    :class:`~llama_index_rap.errors.ConceptExistsError` unless the concept is exactly the
    same (then nothing is written and the stored concept is returned), ``replace=True`` is
    given (then it is overwritten, keeping its id and creation time), or
    ``on_conflict="skip"`` is asked for in bulk.

    Args:
        uri: A local directory or any LanceDB URI (``s3://bucket/path`` works unchanged).
            Defaults to ``RAP_DB`` or a per-user data directory.
        embedding: The image encoder: a built-in one (open_clip, torchvision,
            transformers), anything with ``encoder_id``, ``dim`` and ``embed_images``, or
            any LlamaIndex ``MultiModalEmbedding`` (adapted by
            :func:`~llama_index_rap.encode.as_image_encoder`). Defaults to the profile's,
            loaded on first use (listing and forgetting never load it).
        models: Profile name or :class:`ModelProfile` used when ``embedding`` is not given.
        user: The user that methods act for when they are not given one.
        table: Table name.
        limits: Bounds on names, descriptions, images and counts.
        storage_options: Passed to LanceDB (object-store credentials, endpoint).
        ann: When to index the table and search large users approximately.
    """

    def __init__(
        self,
        uri: str | Path | None = None,
        *,
        embedding: object | None = None,
        models: str | ModelProfile | None = None,
        user: str | None = None,
        table: str = DEFAULT_TABLE,
        limits: StoreLimits | None = None,
        storage_options: dict[str, str] | None = None,
        ann: AnnSettings | None = None,
    ) -> None:
        self.uri = str(uri) if uri is not None else default_uri()
        self.limits = limits or StoreLimits()
        given = user if user is not None else os.environ.get("RAP_USER") or DEFAULT_USER
        self.user = clean_user(given, self.limits)  # "" is refused, as everywhere else
        self.table = ConceptTable(self.uri, table, storage_options)
        self._embedding: ImageEncoder | None = None
        if embedding is not None:
            from llama_index_rap.encode.adapter import as_image_encoder

            self._embedding = as_image_encoder(embedding)
        self.models = models
        self.ann = ann or AnnSettings()
        self._reads = ConceptReads(self.table)
        self._search = VectorSearch(self.table)
        self._writes = ConceptWrites(self.table, self._reads, self.limits)

    def __repr__(self) -> str:
        return f"ConceptStore(uri={self.uri!r}, user={self.user!r})"

    # models and table -------------------------------------------------------------------

    @property
    def embedding(self) -> ImageEncoder:
        """The image encoder (built from the profile on first use)."""
        if self._embedding is None:
            from llama_index_rap.encode.factory import embedding_from_spec
            from llama_index_rap.models.specs import get_profile

            self._embedding = embedding_from_spec(get_profile(self.models).encoder)
        return self._embedding

    @property
    def encoder_id(self) -> str | None:
        """The encoder the table was written with, or ``None`` before the first write."""
        return self.table.encoder_id

    @property
    def dim(self) -> int | None:
        """Vector dimension of the table, or ``None`` before the first write."""
        return self.table.dim

    @property
    def match_distance(self) -> float | None:
        """The match distance retrieval uses by default for this store.

        The one :meth:`calibrate` recorded in the table; else the match distance of the
        profile whose encoder the store uses (``ModelProfile.max_distance``: measured on real
        photos for the trained ones); else, for an encoder of your own, ``None`` (every match
        is kept, with a warning: calibrate, or pass ``max_distance`` to the retriever).
        """
        calibrated = self.table.match_distance
        if calibrated is not None:
            return calibrated
        from llama_index_rap.models.specs import get_profile, profile_for_encoder

        if self._embedding is None and self.table.encoder_id is None:
            return get_profile(self.models).max_distance  # the profile's encoder, to be built
        encoder = self.table.encoder_id or self.embedding.encoder_id
        profile = profile_for_encoder(encoder)
        if profile is None:
            logger.warning(
                "no match distance is known for encoder %s: retrieval keeps every match "
                "(strangers too); run store.calibrate() / 'rap calibrate', or pass max_distance",
                encoder,
            )
            return None
        return profile.max_distance

    @property
    def version(self) -> int:
        """The table's current version (0 before the first write); any write moves it.

        Inside :meth:`snapshot`, the version read when it began.
        """
        return self._reads.version

    def snapshot(self) -> contextlib.AbstractContextManager[int]:
        """Read the table version once for every read inside (one query, one view).

        Reads cached for that version (the concept list, concept records, the search plan)
        are reused without a version check each; rows written meanwhile are seen by the
        next read outside the block.
        """
        return self._reads.snapshot()

    def check_encoder(self, encoder: str, dim: int) -> None:
        """Refuse vectors from another embedding space than the table's.

        Raises:
            EncoderMismatchError: The table was written with another encoder or dimension.
        """
        self.table.check_encoder(encoder, dim)

    # reading ----------------------------------------------------------------------------

    def _user(self, user: str | None) -> str:
        return self.user if user is None else clean_user(user, self.limits)

    def get(self, name: str, *, user: str | None = None) -> Concept:
        """Return the concept called ``name`` (case-insensitive), with its image bytes.

        Raises:
            ConceptNotFoundError: The user has no such concept.
        """
        uid = self._user(user)
        clean = clean_name(name, self.limits)
        return Concept.from_rows(
            self._reads.one(uid, user_key(uid), clean, [*META_COLUMNS, "image"])
        )

    def list(
        self, *, user: str | None = None, include_images: bool = False
    ) -> builtins.list[Concept]:
        """The user's concepts sorted by name; image bytes only with ``include_images``.

        Without images the answer is remembered until the table changes.
        """
        return self._reads.list(user_key(self._user(user)), include_images)

    def by_ids(self, concept_ids: Iterable[str], *, user: str | None = None) -> dict[str, Concept]:
        """The user's concepts with these ids, with image bytes; unknown ids are left out.

        Concepts read are remembered until the table changes.
        """
        return self._reads.by_ids(user_key(self._user(user)), concept_ids)

    def count(self, *, user: str | None = None) -> int:
        """Number of concepts the user has."""
        return self._reads.count(user_key(self._user(user)))

    def search(
        self,
        vectors: np.ndarray | Sequence[Sequence[float]],
        *,
        k: int = 2,
        user: str | None = None,
        max_distance: float | None = None,
    ) -> builtins.list[builtins.list[SearchHit]]:
        """Find each query vector's nearest concepts among the user's, several queries at once.

        A concept with several images counts once, at its nearest image. Distances are
        squared L2 between unit vectors (``2 - 2 cos``): 0 is the same image, 4 the opposite.

        Args:
            vectors: ``(n, dim)`` query vectors from the table's encoder (normalised here).
            k: Concepts per query vector.
            user: Whose concepts to search.
            max_distance: Drop hits farther than this.

        Returns:
            For each query vector, its hits, nearest first.
        """
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, got {k}")
        if self.dim is None:  # nothing written yet
            return [[] for _ in range(len(queries))]
        if queries.shape[1] != self.dim:
            raise EncoderMismatchError(
                f"query vectors have {queries.shape[1]} dimensions but the store's encoder "
                f"({self.encoder_id}) has {self.dim}"
            )
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        ukey = user_key(self._user(user))
        return self._search.search(queries, ukey, self.version, k, max_distance, self.ann)

    # writing ----------------------------------------------------------------------------

    def remember(
        self,
        name: str,
        images: ImageInput | Sequence[ImageInput],
        description: str,
        category: str | None = None,
        aliases: Sequence[str] = (),
        *,
        user: str | None = None,
        replace: bool = False,
        purge: bool = False,
    ) -> Concept:
        """Remember a concept from one or more images; the next search sees it.

        Args:
            name: Its name, unique per user ignoring case (surrounding ``<>`` dropped).
            images: One image or several: paths, encoded bytes or PIL images.
            description: A line about it ("Bo is my Shiba Inu with a red collar").
            category: Detector class, e.g. ``"dog"`` (YOLO-World looks for these).
            aliases: Other names it answers to.
            user: Owner; the store's user by default.
            replace: Overwrite an existing concept of that name.
            purge: With ``replace``, also erase the replaced photos, description and vectors
                from disk (as ``forget(purge=True)`` does).

        Returns:
            The stored concept.

        Raises:
            ConceptExistsError: The name is taken by a different concept and not ``replace``.
            ImageError: An image is missing, corrupt, too large, animated... (nothing written).
            InvalidInputError: A bad name, description, category or alias (nothing written).
        """
        item = ConceptInput(name, images, description, category, aliases)
        on_conflict: OnConflict = "replace" if replace else "error"
        return self.remember_many([item], user=user, on_conflict=on_conflict, purge=purge)[0]

    def remember_many(
        self,
        items: Iterable[ConceptInput],
        *,
        user: str | None = None,
        on_conflict: OnConflict = "error",
        progress: Callable[[int], None] | None = None,
        vectors: Sequence[KnownVectors] | None = None,
        batch_size: int = WRITE_CHUNK,
        purge: bool = False,
    ) -> builtins.list[Concept]:
        """Remember many concepts, checking all of them before anything is written.

        Concepts are encoded in batches and written a few hundred per commit; each concept
        is whole in one commit. Running the same bulk remember again writes nothing new.

        Args:
            items: The concepts.
            user: Owner of all of them.
            on_conflict: For a name the user already has with other content: ``"error"``
                (raise before writing anything), ``"skip"`` (keep the stored one) or
                ``"replace"``. Identical content is never written twice.
            progress: Called with the number of concepts finished (already there, or
                encoded; committed at the end of each batch) as they go.
            vectors: Per concept, per image, a vector made by this store's encoder to use
                instead of encoding the image (``None`` entries are encoded). Each must be
                finite and of the table's dimension; it is scaled to unit length.
            batch_size: Concepts encoded and committed together. A crash loses at most the
                batch in flight (never part of a concept); running again completes it.
            purge: Erase what ``"replace"`` overwrote from disk too (old versions dropped).

        Returns:
            The stored concepts, in the order given.
        """
        uid = self._user(user)
        checked = [check_concept(item, self.limits) for item in items]
        known = list(vectors) if vectors is not None else [None] * len(checked)
        if len(known) != len(checked):
            raise InvalidInputError(f"{len(known)} vector lists for {len(checked)} concepts")
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be at least 1, got {batch_size}")
        if any(v is not None for v in known):
            known = check_vectors(known, checked, self.dim or self.embedding.dim, normalise=True)
        stored = self._write(uid, checked, known, on_conflict, progress, batch=batch_size)
        if purge:
            self.purge()
        return stored

    def update(
        self,
        name: str,
        *,
        user: str | None = None,
        new_name: str | None = None,
        description: str | None = None,
        category: str | None = None,
        aliases: Sequence[str] | None = None,
        add_images: Sequence[ImageInput] = (),
        remove_images: Sequence[str] = (),
        add_negatives: Sequence[ImageInput] = (),
        purge: bool = False,
    ) -> Concept:
        """Change a concept in one commit; only the given fields change.

        Args:
            name: The concept to change.
            user: Its owner.
            new_name: Rename it (must not be taken).
            description: New description.
            category: New category (``""`` clears it).
            aliases: New aliases (replace the old ones).
            add_images: Images to add (encoded now).
            remove_images: SHA-256 digests (or unique prefixes) of images to drop, its own
                or its negatives.
            add_negatives: Photos of something else that looks like it (see
                :meth:`add_negative`).
            purge: Also erase what the update replaced or dropped from disk (old versions
                dropped, as ``forget(purge=True)`` does); without it older versions keep it.

        Raises:
            ConceptNotFoundError: No such concept.
            ConceptExistsError: ``new_name`` is taken.
        """
        uid = self._user(user)
        clean = clean_name(name, self.limits)
        added = [load_image(image, self.limits.images) for image in add_images]
        negatives = [load_image(image, self.limits.images) for image in add_negatives]
        fresh = added + negatives
        known = {a.sha256: v for a, v in zip(fresh, self._encode(fresh), strict=True)}
        with self.table.lock():  # read, merge and write as one step: no update is lost
            # not found: never there, or forgotten while the new images were encoded
            rows = self._reads.one(uid, user_key(uid), clean, [*META_COLUMNS, "image", "vector"])
            kept = [
                r
                for r in rows
                if not any(r["image_sha256"].startswith(p) for p in remove_images if p)
            ]
            first = next(r for r in rows if r["image_index"] >= 0)
            own = [r["image"] for r in kept if r["image_index"] >= 0]  # rows are in order
            nots = [r["image"] for r in reversed(kept) if r["image_index"] < 0]  # -1 first
            item = ConceptInput(
                name=new_name if new_name is not None else first["name"],
                images=[*own, *(a.data for a in added)],
                description=description if description is not None else first["description"],
                category=first["category"] if category is None else category,
                aliases=first["aliases"] if aliases is None else aliases,
                negatives=[*nots, *(n.data for n in negatives)],
            )
            checked = check_concept(item, self.limits)
            known |= {r["image_sha256"]: np.asarray(r["vector"], np.float32) for r in kept}
            vectors = [known.get(img.sha256) for img in checked.every_image]
            stored = self._write(
                uid, [checked], [vectors], "replace", existing_id=first["concept_id"]
            )[0]
            if purge:
                self.purge()
            return stored

    def add_negative(
        self, name: str, images: ImageInput | Sequence[ImageInput], *, user: str | None = None
    ) -> Concept:
        """Say that a photo shows something else, not the concept called ``name``.

        Retrieval then leaves the concept out for a query that looks more like one of these
        photos than like the concept (a query nearer than :data:`~llama_index_rap.store.
        search.NEGATIVE_RATIO` times its distance to the concept, measured on DreamBooth's
        lookalikes: benchmarks/README.md). Negatives belong to the concept: scoped to its
        user, exported, imported, forgotten and purged with it; ``update(remove_images=...)``
        drops one by its SHA-256.

        Args:
            name: The concept (``"Bo"``).
            images: One photo or several of a lookalike (a stranger's Shiba).
            user: Its owner.

        Returns:
            The concept, with its negatives.

        Raises:
            ConceptNotFoundError: No such concept.
            InvalidInputError: A photo is one of the concept's own, or fails the checks.
        """
        given = as_image_list(images, clean_name(name, self.limits))
        return self.update(name, user=user, add_negatives=given)

    def _encode(self, images: Sequence[LoadedImage]) -> builtins.list[np.ndarray]:
        """Vectors of decoded images (none to encode: no model loaded)."""
        return list(self.embedding.embed_images([i.image for i in images])) if images else []

    def forget(self, name: str, *, user: str | None = None, purge: bool = False) -> Concept:
        """Forget a concept; with ``purge`` also erase its bytes from disk.

        Without ``purge`` the rows are deleted from the current version but older versions
        still hold them (``restore`` can bring them back). ``purge=True`` then compacts the
        table and deletes every old version, so the image bytes are in no file under the
        store; it costs a rewrite of the affected data files and loses the whole table's
        history (every user's) for ``restore``.

        A purge interrupted (a crash between the delete and the purge) is finished by
        :meth:`purge`, or by ``forget(name, purge=True)`` again: an absent name with
        ``purge`` still purges before it says the name is unknown.

        Returns:
            The forgotten concept (without image bytes).

        Raises:
            ConceptNotFoundError: No such concept (with ``purge``: after purging anyway).
        """
        uid = self._user(user)
        clean = clean_name(name, self.limits)
        with self.table.lock():
            try:
                concept = Concept.from_rows(
                    self._reads.one(uid, user_key(uid), clean, META_COLUMNS)
                )
            except ConceptNotFoundError as e:
                if not purge:
                    raise
                self.table.purge()
                raise ConceptNotFoundError(f"{e} (old versions were purged anyway)") from e
            where = f"{eq('concept_id', concept.concept_id)} AND {eq('user_key', user_key(uid))}"
            self.table.delete(where, f"forgetting {clean!r}")
            if purge:
                self.table.purge()
        logger.info("forgot %r for user %r (purge=%s)", concept.name, uid, purge)
        return concept

    def calibrate(
        self,
        *,
        user: str | None = None,
        impostors: Sequence[ImageInput] = (),
        target: float = 0.01,
        save: bool = True,
    ) -> Calibration:
        """Choose the match distance from the user's own photos, and record it in the table.

        True matches: each photo of a concept with several, against the concept's other
        photos (leave-one-out). Matches that must not happen: each photo against the user's
        other concepts, each "not this one" photo against its concept, and each of
        ``impostors`` (photos of strangers) against every concept. The distance chosen lets
        at most ``target`` of the latter through; retrieval uses it from then on (unless
        given another), for every user of this store's table.

        Args:
            user: Whose concepts.
            impostors: Photos of things that are none of the user's concepts.
            target: Share of strangers' matches allowed through (1% by default).
            save: Record the distance in the table (``False``: only report it).

        Returns:
            The distance with what it keeps and lets through (``.tradeoff()``, ``.summary()``).

        Raises:
            InvalidInputError: Too little to calibrate from (no concept with two photos, or
                nothing that must not match).
        """
        from llama_index_rap.retrieve.calibration import from_vectors

        uid = self._user(user)
        columns = ["concept_id", "user_key", "image_index", "vector"]
        own: dict[str, builtins.list[np.ndarray]] = {}
        negatives: dict[str, builtins.list[np.ndarray]] = {}
        for cid, group in self._reads.rows(user_key(uid), columns).items():
            for r in group:
                (own if r["image_index"] >= 0 else negatives).setdefault(cid, []).append(
                    np.asarray(r["vector"], np.float32)
                )
        loaded = [load_image(i, self.limits.images) for i in impostors]
        result = from_vectors(own, negatives, self._encode(loaded), target)
        if save:
            self.table.set_match_distance(result.max_distance, result.summary())
        return result

    def check(self) -> builtins.list[str]:
        """Verify every row of the table, every user's: images and vectors.

        Each image's bytes are compared with their SHA-256; each vector must be finite and
        of unit length.

        Returns:
            One line per problem found (empty: the table is sound).

        Raises:
            StoreError: The table cannot be read at all.
        """
        problems: builtins.list[str] = []
        columns = ["row_id", "user", "name", "image_index", "image", "image_sha256", "vector"]
        for r in self.table.rows("row_id IS NOT NULL", columns):
            which = (
                f"image {r['image_index'] + 1}"
                if r["image_index"] >= 0
                else f"'not this one' photo {-r['image_index']}"
            )
            where = f"user {r['user']!r}, concept {r['name']!r}, {which} (row {r['row_id']})"
            if hashlib.sha256(r["image"]).hexdigest() != r["image_sha256"]:
                problems.append(f"{where}: the image bytes do not match their SHA-256")
            fault = vector_fault(r["vector"], len(r["vector"]))
            if fault is not None:
                problems.append(f"{where}: the vector is not a finite unit vector (it {fault})")
        return problems

    def purge(self) -> None:
        """Erase from disk every deleted concept's bytes: compact, then drop old versions.

        What ``forget(purge=True)`` does after its delete, for every user at once; run it to
        finish a purge that was interrupted. The table's history (``restore``) is lost.
        """
        with self.table.lock():
            self.table.purge()

    def optimize(self) -> None:
        """Compact data files and rebuild the vector index once past ``ann.threshold`` rows.

        History is kept (``restore`` still works); the index is rebuilt from all rows.
        """
        self.table.optimize()
        self._index_if_large(rebuild=True)

    def _write(
        self,
        uid: str,
        checked: builtins.list[CheckedConcept],
        vectors: Sequence[KnownVectors],
        on_conflict: OnConflict,
        progress: Callable[[int], None] | None = None,
        existing_id: str | None = None,
        batch: int = WRITE_CHUNK,
    ) -> builtins.list[Concept]:
        """Write checked concepts, then index the table if it grew past ``ann.threshold``.

        The encoder is built only if something is written.
        """
        stored = self._writes.store(
            lambda: self.embedding, uid, checked, vectors, on_conflict, progress, existing_id, batch
        )
        self._index_if_large()
        return stored

    def _index_if_large(self, rebuild: bool = False) -> None:
        table = self.table.open()
        if table is None or table.count_rows() < self.ann.threshold:
            return
        if rebuild or not has_index(table):
            with self.table.lock():
                build_index(table, self.dim or 0, self.ann)

    def versions(self) -> builtins.list[StoreVersion]:
        """Committed versions of the table (every user's changes), oldest first."""
        return self.table.versions()

    def restore(self, version: int) -> None:
        """Make an older version current again, as a new version (for the whole table).

        Raises:
            InvalidInputError: No such version (perhaps purged).
        """
        self.table.restore(version)

    # moving concepts in and out ----------------------------------------------------------

    def export(self, folder: str | Path, *, user: str | None = None) -> int:
        """Write the user's concepts (images, vectors, text) to a folder.

        The layout is documented in :mod:`llama_index_rap.store.transfer`.

        Returns:
            The number of concepts exported.
        """
        uid = self._user(user)
        groups = self._reads.rows(user_key(uid), [*META_COLUMNS, "image", "vector"])
        ordered = sorted(groups.values(), key=lambda rows: rows[0]["name"].casefold())
        return write_export(Path(folder), uid, self.encoder_id, ordered)

    def import_(
        self, folder: str | Path, *, user: str | None = None, on_conflict: OnConflict = "error"
    ) -> builtins.list[Concept]:
        """Import an export folder; everything is checked before anything is written.

        Vectors are reused when the export was made with this store's encoder; otherwise
        the images are encoded again.
        """
        batch = read_export(Path(folder), self.limits)
        same_space = batch.encoder is not None and batch.encoder == self.embedding.encoder_id
        vectors = batch.vectors if same_space else [None] * len(batch.concepts)
        if same_space:
            try:
                vectors = check_vectors(vectors, batch.concepts, self.embedding.dim)
            except InvalidInputError as e:
                raise ImportFormatError(f"export {folder}: {e}; nothing was imported") from e
        return self._write(self._user(user), batch.concepts, vectors, on_conflict)

    def import_rap(
        self,
        path: str | Path,
        *,
        user: str | None = None,
        root: str | Path | None = None,
        on_conflict: OnConflict = "error",
    ) -> builtins.list[Concept]:
        """Import the RAP reference's ``database.json`` (``concept_dict``) and its images.

        Args:
            path: The ``database.json``.
            user: Owner of the imported concepts.
            root: Folder the image paths are relative to (the reference's repository root);
                by default the JSON's folder and its parents, then the working directory.
            on_conflict: As in :meth:`remember_many`.
        """
        batch = read_rap_database(Path(path), self.limits, Path(root) if root else None)
        return self._write(self._user(user), batch.concepts, batch.vectors, on_conflict)


__all__ = ["ConceptInput", "ConceptStore", "StoreLimits", "default_uri"]

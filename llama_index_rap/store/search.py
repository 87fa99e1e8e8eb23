"""Finding a user's nearest concepts: an exact numpy scan, or the index for large users.

LanceDB's own brute-force search is many times slower than a matrix product (see
../shared/FINDINGS.md), so below the index threshold (:class:`~llama_index_rap.store.ann.
AnnSettings`) a user's vectors are read once per table version and searched with numpy
(:class:`UserVectors`); past it the search goes through the index
(:func:`~llama_index_rap.store.ann.ann_search`). Which of the two runs, and the user's
vectors, are worked out once per table version
(:class:`~llama_index_rap.store.reading.VersionCache`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from llama_index_rap.store.ann import AnnSettings, RowDirectory, SearchPlan, ann_search
from llama_index_rap.store.reading import VersionCache, owned_rows
from llama_index_rap.store.schema import SearchHit, eq

if TYPE_CHECKING:
    from lancedb.table import AsyncTable

    from llama_index_rap.store.table import ConceptTable

COLUMNS = ["row_id", "concept_id", "name", "user_key", "vector"]

NEGATIVE_RATIO = 0.8
"""A concept is left out for a query that is nearer to one of its negatives ("this is not
Bo" photos) than this share of its distance to the concept itself.

Measured on DreamBooth's lookalikes (7 dogs, 2 cats, 3 plush toys, 2 sneakers, 2 backpacks;
the offline profile's MobileNetV2 at its match distance 0.40; five seeds; the quality
benchmark): with three photos per concept and five negatives from the others of its class,
lookalikes taken for the concept fell from 3.8% to 0.5% and the concept was kept in 93.9% of
its photos, as without negatives; with one photo, 2.8% -> 1.2% taken, 87.1% kept (unchanged).
The plain rule (left out when nearer to a negative than to the concept, a ratio of 1) lost
true photos where this one lost none (one photo per concept: 79% kept against 82% in the
exploration that chose 0.8; benchmarks/README.md).
"""


class VectorSearch:
    """Searches users' vectors in one concept table.

    Args:
        table: The concept table.
        users_in_memory: How many users' vectors the exact scan keeps.
    """

    def __init__(self, table: ConceptTable, users_in_memory: int = 64) -> None:
        self.table = table
        self._plans = VersionCache()
        self._vectors = VersionCache(capacity=users_in_memory)
        self._directory: tuple[AsyncTable, RowDirectory] | None = None

    def search(
        self,
        queries: np.ndarray,
        ukey: str,
        version: int,
        k: int,
        max_distance: float | None,
        ann: AnnSettings,
    ) -> list[list[SearchHit]]:
        """The ``k`` nearest concepts of user ``ukey`` for each unit query vector.

        A concept the query looks more like one of its negatives than like itself
        (:data:`NEGATIVE_RATIO`) is left out; the others carry their nearest negative's
        distance.
        """
        lance = self.table.open()
        if lance is None:
            return [[] for _ in range(len(queries))]
        where = eq("user_key", ukey)
        plan = self._plans.get(version, ukey, lambda: SearchPlan.count(lance, where, ann))
        negatives = self._vectors.get(version, ("not", ukey), lambda: self._read(ukey, False))
        wanted = k if negatives is None or not len(negatives.starts) else 2 * k
        if plan.use_index and (indexed := self.table.open_async()) is not None:
            rows = self._rows(indexed)
            hits = ann_search(indexed, rows, queries, ukey, wanted, max_distance, ann, plan)
        else:
            found = self._vectors.get(version, ukey, lambda: self._read(ukey, True))
            if found is None:
                return [[] for _ in range(len(queries))]
            hits = found.search(queries, wanted, max_distance)
        if negatives is None or not len(negatives.starts):
            return hits
        return [negatives.judge(queries[qi], found)[:k] for qi, found in enumerate(hits)]

    def _rows(self, indexed: AsyncTable) -> RowDirectory:
        """The row directory of ``indexed`` (a new one when the table was opened again)."""
        if self._directory is None or self._directory[0] is not indexed:
            self._directory = (indexed, RowDirectory(indexed))
        return self._directory[1]

    def _read(self, ukey: str, own: bool) -> UserVectors | None:
        """The user's own images' vectors, or (``own=False``) their negatives'."""
        data = owned_rows(
            self.table, ukey, COLUMNS, "image_index >= 0" if own else "image_index < 0"
        )
        return None if data is None else UserVectors.from_arrow(data, self.table.dim or 0)


@dataclass(frozen=True)
class UserVectors:
    """One user's vectors, sorted by concept (the store caches them per table version).

    Args:
        row_ids: Row id of each vector.
        concept_ids: Concept of each vector (sorted).
        names: Concept name of each vector.
        vectors: ``(rows, dim)`` float32 unit vectors.
        starts: Index of each concept's first row.
    """

    row_ids: np.ndarray
    concept_ids: np.ndarray
    names: np.ndarray
    vectors: np.ndarray
    starts: np.ndarray

    @classmethod
    def from_arrow(cls, data: Any, dim: int) -> UserVectors:
        """Build from an Arrow table of one user's rows with :data:`COLUMNS`."""
        vectors = data.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, dim)
        concept_ids = np.asarray(data.column("concept_id").to_pylist(), dtype=object)
        order = np.argsort(concept_ids, kind="stable")
        concept_ids = concept_ids[order]
        boundaries = np.flatnonzero(concept_ids[1:] != concept_ids[:-1]) + 1
        starts = np.concatenate([[0], boundaries]) if len(order) else np.zeros(0)
        return cls(
            row_ids=np.asarray(data.column("row_id").to_pylist(), dtype=object)[order],
            concept_ids=concept_ids,
            names=np.asarray(data.column("name").to_pylist(), dtype=object)[order],
            vectors=np.ascontiguousarray(vectors[order], dtype=np.float32),
            starts=starts.astype(np.intp),
        )

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.vectors.shape[1])

    def search(
        self, queries: np.ndarray, k: int, max_distance: float | None
    ) -> list[list[SearchHit]]:
        """Nearest ``k`` concepts for each unit query vector, nearest first.

        One matrix product; a concept with several images scores its most similar one.
        Distances (``2 - 2 cos``) are computed only for the hits returned.
        """
        if not len(self.starts):
            return [[] for _ in range(len(queries))]
        sims = queries @ self.vectors.T
        several = len(self.starts) < len(self.row_ids)
        per_concept = np.maximum.reduceat(sims, self.starts, axis=1) if several else sims
        kk = min(k, per_concept.shape[1])
        top = np.argpartition(-per_concept, kk - 1, axis=1)[:, :kk]
        results = []
        for qi, concepts in enumerate(top):
            hits = []
            for ci in concepts[np.argsort(-per_concept[qi, concepts])]:
                distance = max(0.0, 2.0 - 2.0 * float(per_concept[qi, ci]))
                if max_distance is not None and distance > max_distance:
                    break
                ri = self._best_row(sims[qi], int(ci)) if several else int(ci)
                hits.append(
                    SearchHit(
                        query_index=qi,
                        concept_id=str(self.concept_ids[ri]),
                        name=str(self.names[ri]),
                        row_id=str(self.row_ids[ri]),
                        distance=distance,
                    )
                )
            results.append(hits)
        return results

    def judge(self, query: np.ndarray, hits: list[SearchHit]) -> list[SearchHit]:
        """``hits`` of one query, as negatives (these vectors) see them.

        A hit whose concept has a negative nearer than :data:`NEGATIVE_RATIO` times the
        hit's distance is dropped; the others carry their nearest negative's distance.
        """
        kept = []
        for hit in hits:
            if hit.concept_id not in self.bounds:
                kept.append(hit)
                continue
            lo, hi = self.bounds[hit.concept_id]
            nearest = max(0.0, 2.0 - 2.0 * float(np.max(self.vectors[lo:hi] @ query)))
            if nearest >= NEGATIVE_RATIO * hit.distance:
                kept.append(replace(hit, negative_distance=nearest))
        return kept

    @cached_property
    def bounds(self) -> dict[str, tuple[int, int]]:
        """Each concept's rows, ``lo:hi`` (worked out once, on first use)."""
        ends = [*self.starts[1:].tolist(), len(self.row_ids)]
        return {
            str(self.concept_ids[lo]): (int(lo), int(hi))
            for lo, hi in zip(self.starts.tolist(), ends, strict=True)
        }

    def _best_row(self, sims: np.ndarray, concept: int) -> int:
        """The row of ``concept`` most similar to the query."""
        lo = int(self.starts[concept])
        hi = int(self.starts[concept + 1]) if concept + 1 < len(self.starts) else len(sims)
        return lo + int(np.argmax(sims[lo:hi]))

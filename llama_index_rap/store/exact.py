"""Exact search over one user's vectors in memory: a numpy scan, cached per table version.

LanceDB's own brute-force search is many times slower than a matrix product (see
../shared/FINDINGS.md), so below the index threshold a user's vectors are read once per
table version and searched with numpy. Rows are kept sorted by concept so that a concept
with several images is reduced to its nearest image in one vectorised step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llama_index_rap.store.schema import SearchHit

COLUMNS = ["row_id", "concept_id", "name", "user_key", "vector"]


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
    def from_arrow(cls, data: Any, dim: int, ukey: str) -> UserVectors:
        """Build from an Arrow table with :data:`COLUMNS`; rows of other users are dropped."""
        mine = np.asarray(data.column("user_key").to_pylist(), dtype=object) == ukey
        vectors = data.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, dim)
        concept_ids = np.asarray(data.column("concept_id").to_pylist(), dtype=object)
        order = np.flatnonzero(mine)[np.argsort(concept_ids[mine], kind="stable")]
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

    def _best_row(self, sims: np.ndarray, concept: int) -> int:
        """The row of ``concept`` most similar to the query."""
        lo = int(self.starts[concept])
        hi = int(self.starts[concept + 1]) if concept + 1 < len(self.starts) else len(sims)
        return lo + int(np.argmax(sims[lo:hi]))

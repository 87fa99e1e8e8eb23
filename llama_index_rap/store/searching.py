"""Finding a user's nearest concepts: the exact in-memory scan or the index.

Which of the two runs, and the user's vectors for the exact scan, are worked out once per
table version (:class:`~llama_index_rap.store.cache.VersionCache`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from llama_index_rap.store.ann import AnnSettings, SearchPlan, ann_search
from llama_index_rap.store.cache import VersionCache
from llama_index_rap.store.directory import RowDirectory
from llama_index_rap.store.exact import COLUMNS, UserVectors
from llama_index_rap.store.schema import SearchHit, eq

if TYPE_CHECKING:
    from lancedb.table import AsyncTable

    from llama_index_rap.store.table import ConceptTable


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
        """The ``k`` nearest concepts of user ``ukey`` for each unit query vector."""
        lance = self.table.open()
        if lance is None:
            return [[] for _ in range(len(queries))]
        where = eq("user_key", ukey)
        plan = self._plans.get(version, ukey, lambda: SearchPlan.count(lance, where, ann))
        if plan.use_index and (indexed := self.table.open_async()) is not None:
            rows = self._rows(indexed)
            return ann_search(indexed, rows, queries, ukey, k, max_distance, ann, plan)
        found = self._vectors.get(version, ukey, lambda: self._read(where, ukey))
        if found is None:
            return [[] for _ in range(len(queries))]
        return found.search(queries, k, max_distance)

    def _rows(self, indexed: AsyncTable) -> RowDirectory:
        """The row directory of ``indexed`` (a new one when the table was opened again)."""
        if self._directory is None or self._directory[0] is not indexed:
            self._directory = (indexed, RowDirectory(indexed))
        return self._directory[1]

    def _read(self, where: str, ukey: str) -> UserVectors | None:
        data = self.table.arrow(where, COLUMNS)
        return None if data is None else UserVectors.from_arrow(data, self.table.dim or 0, ukey)

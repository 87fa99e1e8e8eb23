"""What an index hit is: each row's concept, name and owner, held in memory by row id.

An index search that reads these string columns back through LanceDB pays a random read
per column per hit: 2 of the 8 ms of a search at 1M rows here (benchmarks/README.md). The
search reads only ``row_id`` (and LanceDB's ``_rowid`` address) and looks the rest up here.

A row id is written once and its row is never changed in place (a change to a concept
writes new rows under new ids and deletes the old ones), so what is looked up here never goes
stale: not after a write, a compaction or a restore. Rows are loaded all at once on first
use (~0.5 s and ~100 MB per million rows); a row written later is taken from LanceDB by
its address the first time a search finds it, and kept.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from llama_index_rap.store import aio
from llama_index_rap.store.schema import any_of

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.table import AsyncTable

COLUMNS = ["row_id", "concept_id", "name", "user_key"]


class RowInfo(NamedTuple):
    """What a search hit needs of a row besides its distance."""

    concept_id: str
    name: str
    user_key: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> RowInfo:
        """The info of a row read with :data:`COLUMNS`."""
        return cls(row["concept_id"], row["name"], row["user_key"])


class RowDirectory:
    """Row id -> :class:`RowInfo` for every row of one table, loaded on first use.

    Args:
        table: The table through LanceDB's async API (:mod:`llama_index_rap.store.aio`).
    """

    def __init__(self, table: AsyncTable) -> None:
        self._table = table
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._later: dict[str, RowInfo] = {}  # rows found after the load

    def lookup(self, row_ids: list[str], addresses: list[int]) -> list[RowInfo | None]:
        """Each row's info; rows not seen yet are taken from LanceDB by ``addresses``.

        ``None`` for a row deleted since the search found it.

        Args:
            row_ids: Row ids from a search of the table's current version.
            addresses: Their LanceDB ``_rowid`` values in that version.
        """
        loaded = self._loaded or self._load()
        found = loaded.find(row_ids)
        missing = [
            i for i, info in enumerate(found) if info is None and row_ids[i] not in self._later
        ]
        if missing:
            self._fetch([row_ids[i] for i in missing], [addresses[i] for i in missing])
        return [info or self._later.get(rid) for info, rid in zip(found, row_ids, strict=True)]

    def _fetch(self, row_ids: list[str], addresses: list[int]) -> None:
        """Take rows found after the load by address; by id if a compaction moved them."""
        data = aio.run(self._table.take_row_ids(addresses).select(COLUMNS).to_arrow())
        got = {r["row_id"]: r for r in data.to_pylist()}
        if len(got.keys() & set(row_ids)) < len(set(row_ids)):
            wanted = any_of("row_id", row_ids)
            query = self._table.query().where(wanted).select(COLUMNS)
            got.update({r["row_id"]: r for r in aio.run(query.to_arrow()).to_pylist()})
        for rid in row_ids:
            if (row := got.get(rid)) is not None:
                self._later[rid] = RowInfo.of(row)

    def _load(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                data = aio.run(self._table.query().select(COLUMNS).to_arrow())
                self._loaded = _Loaded.from_arrow(data)
            return self._loaded


class _Loaded:
    """Rows read in one scan: row ids sorted for binary search, the rest as Arrow arrays."""

    def __init__(self, keys: np.ndarray, order: np.ndarray, columns: pa.Table) -> None:
        self.keys = keys
        self.order = order
        self.columns = columns

    @classmethod
    def from_arrow(cls, data: pa.Table) -> _Loaded:
        import pyarrow.compute as pc

        keys = np.asarray(data.column("row_id").to_numpy(zero_copy_only=False), dtype="S")
        order = np.argsort(keys, kind="stable")
        columns = data.select(COLUMNS[1:]).combine_chunks()
        user_keys = pc.dictionary_encode(columns.column("user_key"))  # few owners, many rows
        columns = columns.set_column(2, "user_key", user_keys)
        return cls(keys[order], order, columns)

    def find(self, row_ids: list[str]) -> list[RowInfo | None]:
        """Info of each row id, ``None`` where it was not loaded."""
        if not len(self.keys) or not row_ids:
            return [None] * len(row_ids)
        wanted = np.asarray(row_ids, dtype="S")
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        hit = self.keys[at] == wanted
        rows = self.columns.take(self.order[at]).to_pylist()
        return [RowInfo.of(r) if ok else None for r, ok in zip(rows, hit, strict=True)]

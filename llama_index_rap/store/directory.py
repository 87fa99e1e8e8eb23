"""What an index hit is: each row's id, concept, name and owner, held in memory by address.

An index search that reads string columns back through LanceDB pays a random read per
column per hit: reading only ``row_id`` cost 1 of the 8.4 ms of a search at 1M rows here,
the four columns a hit needs 2 ms (benchmarks/README.md). The search reads back only each
hit's distance and LanceDB's row address (``_rowid``: fragment id and offset), and the rest
is looked up here.

An address names one row for the whole life of a table: Lance never gives a fragment id
to two sets of rows, not after a compaction, a deletion or a restore (it keeps the highest
fragment id ever issued; tests/test_store_ann.py checks it), and a row's offset in its
fragment never changes. So what is looked up here never goes stale. A compaction moves
rows to new addresses: those are taken from LanceDB the first time a search finds them,
and once more than :data:`RELOAD_SHARE` of the loaded rows (and :data:`RELOAD_AFTER`) were
taken that way, the directory is read again in one scan (~0.5-0.8 s and ~100 MB per million rows).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from llama_index_rap.store import aio

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.table import AsyncTable

COLUMNS = ["row_id", "concept_id", "name", "user_key"]
RELOAD_SHARE = 0.05  # rows taken one by one (a compaction moved them) before a full reload
RELOAD_AFTER = 1024  # ... and at least this many


class RowInfo(NamedTuple):
    """What a search hit needs of a row besides its distance."""

    row_id: str
    concept_id: str
    name: str
    user_key: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> RowInfo:
        """The info of a row read with :data:`COLUMNS`."""
        return cls(row["row_id"], row["concept_id"], row["name"], row["user_key"])


class RowDirectory:
    """Row address -> :class:`RowInfo` for every row of one table, loaded on first use.

    Args:
        table: The table through LanceDB's async API (:mod:`llama_index_rap.store.aio`).
    """

    def __init__(self, table: AsyncTable) -> None:
        self._table = table
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._later: dict[int, RowInfo] = {}  # rows found after the load

    def lookup(self, addresses: list[int]) -> list[RowInfo | None]:
        """Each row's info; rows not seen yet are taken from LanceDB.

        ``None`` for a row deleted or moved (compacted) since the search found it.

        Args:
            addresses: LanceDB ``_rowid`` values from a search of the table.
        """
        loaded = self._loaded or self._load()
        found = loaded.find(addresses)
        later = self._later
        missing = [
            a for a, info in zip(addresses, found, strict=True) if info is None and a not in later
        ]
        if missing:
            later = {**later, **self._fetch(missing, loaded)}
        return [info or later.get(a) for info, a in zip(found, addresses, strict=True)]

    def _fetch(self, addresses: list[int], loaded: _Loaded) -> dict[int, RowInfo]:
        """Take rows found after the load by address; reload all when many were."""
        query = self._table.take_row_ids(addresses).select(COLUMNS).with_row_id()
        got = {r["_rowid"]: RowInfo.of(r) for r in aio.run(query.to_arrow()).to_pylist()}
        with self._lock:
            if self._loaded is loaded:
                self._later.update(got)
                if len(self._later) > max(RELOAD_AFTER, RELOAD_SHARE * len(loaded.addresses)):
                    self._loaded, self._later = None, {}  # read all again on the next lookup
        return got

    def _load(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                query = self._table.query().select(COLUMNS).with_row_id()
                self._loaded = _Loaded.from_arrow(aio.run(query.to_arrow()))
            return self._loaded


class _Loaded:
    """Rows read in one scan: addresses sorted for binary search, the rest as Arrow arrays."""

    def __init__(self, addresses: np.ndarray, order: np.ndarray, columns: pa.Table) -> None:
        self.addresses = addresses
        self.order = order
        self.columns = columns

    @classmethod
    def from_arrow(cls, data: pa.Table) -> _Loaded:
        import pyarrow.compute as pc

        addresses = data.column("_rowid").to_numpy()
        order = np.argsort(addresses, kind="stable")
        columns = data.select(COLUMNS).combine_chunks()
        user_keys = pc.dictionary_encode(columns.column("user_key"))  # few owners, many rows
        return cls(addresses[order], order, columns.set_column(3, "user_key", user_keys))

    def find(self, addresses: list[int]) -> list[RowInfo | None]:
        """Info of each address, ``None`` where it was not loaded."""
        if not len(self.addresses) or not addresses:
            return [None] * len(addresses)
        wanted = np.asarray(addresses, dtype=np.uint64)
        at = np.minimum(np.searchsorted(self.addresses, wanted), len(self.addresses) - 1)
        hit = self.addresses[at] == wanted
        rows = self.columns.take(self.order[at]).to_pylist()
        return [RowInfo.of(r) if ok else None for r, ok in zip(rows, hit, strict=True)]

"""Approximate search for large users: an IVF index on the concept table, with refine.

Below ``threshold`` rows a user's vectors are searched exactly in memory
(:mod:`llama_index_rap.store.search`). Past it, the table gets an IVF index (built when a
write crosses the threshold, refreshed by ``ConceptStore.optimize()``) plus a BTree index on
``user_key``, and the user's search goes through LanceDB with the user filter applied before
the vector search (after it, for a user who owns most of the table) and a ``refine_factor``
that re-ranks candidates by exact distance. Rows written after the index was built are still
searched (LanceDB scans them flat).

The default index is IVF_RQ (RaBitQ) with 4 bits per dimension (384 bytes per 768-d
vector, 1/8 of the vector) and ``refine_factor`` 5. Measured on clustered 768-d vectors
(benchmarks/README.md): at 200k, IVF_PQ with refine 10 found 72% of the exact top-5, IVF_RQ
with 1 bit 92%, 2 bits 98%, 4 bits 100%, at 4-7 ms a query; IVF_SQ also finds them all but
adds a quarter of the vectors' size to the store and builds slower. At 1M, IVF_RQ 4 bits
found 100% with refine 5 or 10 (98% with 2).

Each query first probes 20 partitions (LanceDB's default). One whose nearest concept is
then farther than ``widen_distance`` is searched again probing one partition in 6: a near
neighbour the first search missed lies in a partition it did not probe. On clustered data
the neighbours share a partition and the first search finds them; on isotropic 1M vectors
it misses 7 of 100 planted near-duplicates, which the second finds.

Queries go through LanceDB's async API and read back only each hit's distance and row
address; its row id, concept, name and owner come from an in-memory :class:`RowDirectory`.

The row directory. An index search that reads string columns back through LanceDB pays a
random read per column per hit: reading only ``row_id`` cost 1 of the 8.4 ms of a search
at 1M rows here, the four columns a hit needs 2 ms (benchmarks/README.md), which is the
difference between meeting the 1/20-of-a-numpy-scan target at 1M and missing it. The
directory costs ~100 MB per million rows, loaded on the first index search. A ``_rowid``
names one row for the whole life of a table: as a row address (fragment id and offset),
Lance never gives a fragment id to two sets of rows, not after a compaction, a deletion or
a restore (tests/test_store_ann.py checks it); with stable row ids it is the row's id. So
what is looked up never goes stale. A compaction moves rows to new addresses: those are
taken from LanceDB the first time a search finds them, and once more than
:data:`RELOAD_SHARE` of the loaded rows were taken that way, the directory is read again in
one scan (~0.5-0.8 s per million rows).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from llama_index_rap.store.schema import SearchHit, eq
from llama_index_rap.store.table import run_async, with_retries

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.table import AsyncTable, Table

logger = logging.getLogger(__name__)

IndexType = Literal["IVF_RQ", "IVF_SQ", "IVF_PQ", "IVF_FLAT"]


@dataclass(frozen=True)
class AnnSettings:
    """When and how the store uses an approximate index.

    Args:
        threshold: Rows from which the table is indexed and a user's search goes through
            the index (the exact in-memory scan below it).
        index_type: LanceDB vector index kind.
        num_bits: Bits per dimension of IVF_RQ codes.
        nprobes: IVF partitions probed first per query (LanceDB's default, 20).
        wide_nprobes: Partitions probed when the first search found nothing near (see
            ``widen_distance``); ``None``: one in 6, at least ``nprobes``.
        widen_distance: A query whose nearest concept is farther than this (squared L2
            between unit vectors; 0.8 is the retriever's default match distance) is
            searched again with ``wide_nprobes``: a near neighbour missed by the first
            search lies in a partition it did not probe. ``inf``: never.
        refine_factor: Candidates re-ranked exactly per result wanted.
        rows_per_concept: Most rows fetched per concept wanted (concepts with several
            images); the user's own images-per-concept ratio when smaller.
        postfilter_share: From this share of the table's rows on, a user's rows are
            filtered after the vector search (with proportionally more candidates) instead of
            before it: LanceDB's pre-filter costs ~20 ms a query at 1M allowed rows.
    """

    threshold: int = 100_000
    index_type: IndexType = "IVF_RQ"
    num_bits: int = 4
    nprobes: int = 20
    wide_nprobes: int | None = None
    widen_distance: float = 0.8
    refine_factor: int = 5
    postfilter_share: float = 0.5
    rows_per_concept: int = 4

    def probes(self, rows: int) -> int:
        """Partitions probed first in a table of ``rows`` rows."""
        return min(partitions_for(rows), self.nprobes)

    def wide_probes(self, rows: int) -> int:
        """Partitions probed when the first search found nothing near."""
        wide = self.wide_nprobes or max(self.nprobes, partitions_for(rows) // 6)
        return min(partitions_for(rows), wide)


@dataclass(frozen=True)
class SearchPlan:
    """How one user's search runs at one table version (counted once per version).

    Args:
        rows: The user's rows (images).
        concepts: The user's concepts (only counted when the index is used, else 0).
        table_rows: Rows of the whole table (every user).
        use_index: Whether the search goes through the index.
    """

    rows: int
    concepts: int
    table_rows: int
    use_index: bool

    @classmethod
    def count(cls, table: Table, user_filter: str, settings: AnnSettings) -> SearchPlan:
        """Count what the plan needs; ``user_filter`` selects the user's rows."""
        rows = table.count_rows(user_filter)
        if rows <= settings.threshold or not has_index(table):
            return cls(rows, 0, 0, use_index=False)
        concepts = table.count_rows(f"{user_filter} AND image_index = 0")
        return cls(rows, concepts, table.count_rows(), use_index=True)

    def prefilter(self, settings: AnnSettings) -> bool:
        """Whether to filter the user's rows before the vector search (a small share)."""
        return self.rows < settings.postfilter_share * self.table_rows

    def limit(self, k: int, settings: AnnSettings) -> int:
        """Rows to fetch for ``k`` distinct concepts.

        ``k`` times the images per concept, and more when other users' rows are filtered
        out after the search.
        """
        per_concept = math.ceil(self.rows / max(1, self.concepts))
        rows = k * max(1, min(settings.rows_per_concept, per_concept))
        if self.prefilter(settings):
            return rows
        return math.ceil(rows * self.table_rows / max(1, self.rows))


def has_index(table: Table) -> bool:
    """Whether the vector column has an index."""
    return any("vector" in list(ix.columns) for ix in table.list_indices())


def build_index(table: Table, dim: int, settings: AnnSettings | None = None) -> None:
    """(Re)build the vector index over the whole table, and the user filter's index."""
    from lancedb.index import BTree, IvfFlat, IvfPq, IvfRq, IvfSq

    settings = settings or AnnSettings()
    kind = settings.index_type
    partitions = partitions_for(table.count_rows())
    config: Any
    if kind == "IVF_PQ":
        sub_vectors = next(s for s in (dim // 16, dim // 8, dim // 4, 1) if s and dim % s == 0)
        config = IvfPq(num_partitions=partitions, num_sub_vectors=sub_vectors)
    elif kind == "IVF_RQ":
        config = IvfRq(num_partitions=partitions, num_bits=settings.num_bits)
    else:
        config = {"IVF_SQ": IvfSq, "IVF_FLAT": IvfFlat}[kind](num_partitions=partitions)
    logger.info("%s index: %d partitions", kind, partitions)
    with_retries(
        lambda: table.create_index("vector", config=config, replace=True),
        "building the vector index",
    )
    with_retries(
        lambda: table.create_index("user_key", config=BTree(), replace=True),
        "building the user index",
    )


def ann_search(
    table: AsyncTable,
    rows: RowDirectory,
    queries: np.ndarray,
    ukey: str,
    k: int,
    max_distance: float | None,
    settings: AnnSettings,
    plan: SearchPlan,
) -> list[list[SearchHit]]:
    """The ``k`` nearest concepts of user ``ukey`` per unit query vector, through the index.

    A user who owns a small share of the table is filtered before the vector search; one
    who owns most of it after, here, from more candidates. Other users' rows are dropped
    here in both cases (rows written since ``plan`` was counted are searched too). A query
    whose nearest concept is farther than ``settings.widen_distance`` (or that found fewer
    than ``k``) is searched again, probing ``settings.wide_probes`` partitions.
    """
    first, wide = settings.probes(plan.table_rows), settings.wide_probes(plan.table_rows)
    results = _search(table, rows, queries, ukey, k, settings, plan, first)
    redo = [
        qi
        for qi, hits in enumerate(results)
        if len(hits) < k or hits[0].distance > settings.widen_distance
    ]
    if redo and wide > first:
        again = _search(table, rows, queries[redo], ukey, k, settings, plan, wide)
        for qi, hits in zip(redo, again, strict=True):
            results[qi] = [replace(h, query_index=qi) for h in hits]
    if max_distance is None:
        return results
    return [[h for h in hits if h.distance <= max_distance] for hits in results]


def _search(
    table: AsyncTable,
    rows: RowDirectory,
    queries: np.ndarray,
    ukey: str,
    k: int,
    settings: AnnSettings,
    plan: SearchPlan,
    nprobes: int,
) -> list[list[SearchHit]]:
    """One LanceDB vector query for all ``queries``: the ``k`` nearest concepts of each."""
    query = (
        table.vector_search(queries if len(queries) > 1 else queries[0])
        .column("vector")
        .distance_type("l2")
        .nprobes(nprobes)
        .refine_factor(settings.refine_factor)
        .select(["_distance"])
        .with_row_id()
        .limit(plan.limit(k, settings))
    )
    if plan.prefilter(settings):
        query = query.where(eq("user_key", ukey))
    for attempt in range(2):
        data = run_async(query.to_arrow())
        addresses = data.column("_rowid").to_pylist()
        infos = rows.lookup(addresses)
        if attempt or all(info is not None for info in infos):
            break  # else a row was deleted or moved (compacted) since: search once more
    distances = data.column("_distance").to_pylist()
    which = (
        data.column("query_index").to_pylist()
        if "query_index" in data.column_names
        else [0] * len(addresses)
    )
    results: list[list[SearchHit]] = [[] for _ in range(len(queries))]
    seen: list[set[str]] = [set() for _ in range(len(queries))]
    for i in sorted(range(len(addresses)), key=lambda i: (which[i], distances[i])):
        qi, info = int(which[i]), infos[i]
        if info is None or info.user_key != ukey or info.image_index < 0 or len(results[qi]) >= k:
            continue  # a deleted row, another user's, a negative, or enough already
        if info.concept_id in seen[qi]:
            continue  # another image of a concept already found nearer
        seen[qi].add(info.concept_id)
        results[qi].append(
            SearchHit(qi, info.concept_id, info.name, info.row_id, float(distances[i]))
        )
    return results


def partitions_for(rows: int) -> int:
    """IVF partitions for a table of ``rows`` rows (about the square root)."""
    return max(1, min(4096, round(math.sqrt(rows)), rows // 256))


ROW_COLUMNS = ["row_id", "concept_id", "name", "user_key", "image_index"]
RELOAD_SHARE = 0.05  # rows taken one by one (a compaction moved them) before a full reload
RELOAD_AFTER = 1024  # ... and at least this many


class RowInfo(NamedTuple):
    """What a search hit needs of a row besides its distance."""

    row_id: str
    concept_id: str
    name: str
    user_key: str
    image_index: int

    @classmethod
    def of(cls, row: dict[str, Any]) -> RowInfo:
        """The info of a row read with :data:`ROW_COLUMNS`."""
        return cls(
            row["row_id"], row["concept_id"], row["name"], row["user_key"], row["image_index"]
        )


class RowDirectory:
    """Row address -> :class:`RowInfo` for every row of one table, loaded on first use.

    Args:
        table: The table through LanceDB's async API (run with ``table.run_async``).
    """

    def __init__(self, table: AsyncTable) -> None:
        self._table = table
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._later: dict[int, RowInfo] = {}  # rows found after the load

    @property
    def loaded_rows(self) -> int:
        """Rows read in the last full scan (0 before it, or when it is to be read again)."""
        loaded = self._loaded
        return 0 if loaded is None else len(loaded.addresses)

    @property
    def taken_rows(self) -> int:
        """Rows taken one by one since the last full scan (written or moved since)."""
        return len(self._later)

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
        query = self._table.take_row_ids(addresses).select(ROW_COLUMNS).with_row_id()
        got = {r["_rowid"]: RowInfo.of(r) for r in run_async(query.to_arrow()).to_pylist()}
        with self._lock:
            if self._loaded is loaded:
                self._later.update(got)
                if len(self._later) > max(RELOAD_AFTER, RELOAD_SHARE * len(loaded.addresses)):
                    self._loaded, self._later = None, {}  # read all again on the next lookup
        return got

    def _load(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                query = self._table.query().select(ROW_COLUMNS).with_row_id()
                self._loaded = _Loaded.from_arrow(run_async(query.to_arrow()))
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
        columns = data.select(ROW_COLUMNS).combine_chunks()
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

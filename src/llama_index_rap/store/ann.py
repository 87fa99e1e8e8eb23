"""Approximate search for large users: an IVF index on the concept table, with refine.

Below ``threshold`` rows a user's vectors are searched exactly in memory
(:mod:`llama_index_rap.store.exact`). Past it, the table gets an IVF index (built when a
write crosses the threshold, refreshed by ``ConceptStore.optimize()``) plus a BTree index on
``user_key``, and the user's search goes through LanceDB with the user filter applied before
the vector search (after it, for a user who owns most of the table) and a ``refine_factor``
that re-ranks candidates by exact distance. Rows written after the index was built are still
searched (LanceDB scans them flat).

The default index is IVF_RQ (RaBitQ) with 4 bits per dimension (384 bytes per 768-d
vector, 1/8 of the vector), ``refine_factor`` 5 and one partition in 12 probed. Measured on
clustered 768-d vectors (benchmarks/README.md): at 200k, IVF_PQ with refine 10 found 72% of
the exact top-5, IVF_RQ with 1 bit 92%, 2 bits 98%, 4 bits 100%, at 4-7 ms a query; IVF_SQ
also finds them all but adds a quarter of the vectors' size to the store and builds slower.
At 1M, IVF_RQ 4 bits found 100% with refine 5 or 10 (98% with 2); on isotropic vectors one
partition in 20 missed 4 of 100 planted near-duplicates, one in 12 none.

Queries go through LanceDB's async API (:mod:`llama_index_rap.store.aio`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from llama_index_rap.store import aio
from llama_index_rap.store.locking import with_retries
from llama_index_rap.store.schema import SearchHit, eq

if TYPE_CHECKING:
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
        nprobes: IVF partitions probed per query; ``None``: one in 12, at least 20.
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
    nprobes: int | None = None
    refine_factor: int = 5
    postfilter_share: float = 0.5
    rows_per_concept: int = 4

    def probes(self, rows: int) -> int:
        """Partitions probed in a table of ``rows`` rows."""
        return self.nprobes or min(partitions_for(rows), max(20, partitions_for(rows) // 12))


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
    here in both cases (rows written since ``plan`` was counted are searched too).
    """
    query = (
        table.vector_search(queries if len(queries) > 1 else queries[0])
        .column("vector")
        .distance_type("l2")
        .nprobes(settings.probes(plan.table_rows))
        .refine_factor(settings.refine_factor)
        .select(["row_id", "concept_id", "name", "user_key", "_distance"])
        .limit(plan.limit(k, settings))
    )
    if plan.prefilter(settings):
        query = query.where(eq("user_key", ukey))
    data = aio.run(query.to_arrow()).to_pylist()
    results: list[list[SearchHit]] = [[] for _ in range(len(queries))]
    seen: list[set[str]] = [set() for _ in range(len(queries))]
    for row in sorted(data, key=lambda r: (r.get("query_index", 0), r["_distance"])):
        qi, cid = int(row.get("query_index", 0)), row["concept_id"]
        distance = float(row["_distance"])
        if row["user_key"] != ukey or cid in seen[qi] or len(results[qi]) >= k:
            continue
        if max_distance is not None and distance > max_distance:
            continue
        seen[qi].add(cid)
        results[qi].append(SearchHit(qi, cid, row["name"], row["row_id"], distance))
    return results


def partitions_for(rows: int) -> int:
    """IVF partitions for a table of ``rows`` rows (about the square root)."""
    return max(1, min(4096, round(math.sqrt(rows)), rows // 256))

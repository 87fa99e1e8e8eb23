"""Approximate search for large users: an IVF_PQ index on the concept table, with refine.

Below ``threshold`` rows a user's vectors are searched exactly in memory
(:mod:`llama_index_rap.store.exact`). Past it, the table gets an IVF_PQ index (built when
a write crosses the threshold, refreshed by ``ConceptStore.optimize()``) and the user's
search goes through LanceDB with the user filter applied before the vector search, a
generous ``nprobes`` and a ``refine_factor`` that re-ranks candidates by exact distance.
Rows written after the index was built are still searched (LanceDB scans them flat).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llama_index_rap.store.locking import with_retries
from llama_index_rap.store.schema import SearchHit

if TYPE_CHECKING:
    from lancedb.table import Table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnnSettings:
    """When and how the store uses an approximate index.

    Args:
        threshold: Rows from which the table is indexed and a user's search goes through
            the index (the exact in-memory scan below it).
        nprobes: IVF partitions probed per query; ``None``: a quarter of them, at least 20.
        refine_factor: Candidates re-ranked exactly per result wanted.
        rows_per_concept: Rows fetched per concept wanted (concepts with several images).
    """

    threshold: int = 100_000
    nprobes: int | None = None
    refine_factor: int = 10
    rows_per_concept: int = 4


def has_index(table: Table) -> bool:
    """Whether the vector column has an index."""
    return any("vector" in list(ix.columns) for ix in table.list_indices())


def build_index(table: Table, dim: int) -> None:
    """(Re)build the IVF_PQ index over the whole table."""
    rows = table.count_rows()
    partitions = partitions_for(rows)
    sub_vectors = next(s for s in (dim // 16, dim // 8, dim // 4, 1) if s and dim % s == 0)
    logger.info(
        "IVF_PQ index: %d rows, %d partitions, %d sub-vectors", rows, partitions, sub_vectors
    )
    with_retries(
        lambda: table.create_index(
            metric="l2",
            num_partitions=partitions,
            num_sub_vectors=sub_vectors,
            index_type="IVF_PQ",
            replace=True,
        ),
        "building the vector index",
    )


def ann_search(
    table: Table,
    queries: np.ndarray,
    where: str,
    ukey: str,
    k: int,
    max_distance: float | None,
    settings: AnnSettings,
) -> list[list[SearchHit]]:
    """The ``k`` nearest concepts per unit query vector, through the index."""
    nprobes = settings.nprobes or max(20, partitions_for(table.count_rows()) // 4)
    query: Any = table.search([q.tolist() for q in queries])
    data = (
        query.where(where, prefilter=True)
        .distance_type("l2")
        .nprobes(nprobes)
        .refine_factor(settings.refine_factor)
        .select(["row_id", "concept_id", "name", "user_key", "_distance"])
        .limit(k * settings.rows_per_concept)
        .to_arrow()
        .to_pylist()
    )
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

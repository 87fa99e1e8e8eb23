"""Synthetic concept vectors for the search benchmark, their ground truth and exact scans.

``clustered``: unit vectors around N/500 centres; ``isotropic``: uniform on the sphere (the
worst case for an index). Each query is a planted near-duplicate of one stored vector.
Rows go straight into a store's table with its schema (placeholder image bytes).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from llama_index_rap.store import ConceptStore
from llama_index_rap.store.schema import concept_row_model, user_key

DIM = 768
USER, OTHER = "bench-user", "bench-other"
ENCODER = "bench:synthetic-768"
NOISE = 0.02
CHUNK = 100_000


def unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


def make_vectors(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors of ``kind``, made in chunks so 1M rows fit in memory."""
    out = np.empty((n, DIM), dtype=np.float32)
    centres = rng.standard_normal((max(8, n // 500), DIM), dtype=np.float32)
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        noise = rng.standard_normal((hi - lo, DIM), dtype=np.float32)
        if kind == "clustered":
            noise = centres[rng.integers(0, len(centres), hi - lo)] + 0.35 * noise
        out[lo:hi] = unit(noise)
    return out


def planted(vectors: np.ndarray, count: int, rng: np.random.Generator) -> tuple[Any, Any]:
    """Queries near ``count`` stored vectors, and which vectors they were planted near."""
    sources = rng.choice(len(vectors), count, replace=False)
    noise = NOISE * rng.standard_normal((count, DIM), dtype=np.float32)
    return unit(vectors[sources] + noise), sources


def write_rows(store: ConceptStore, vectors: np.ndarray, user: str, offset: int) -> None:
    """Append one concept per vector for ``user`` straight into the store's table."""
    lance = store.table.writable(ENCODER, DIM)
    schema = concept_row_model(DIM).to_arrow_schema()
    now = datetime.now(timezone.utc)
    for lo in range(0, len(vectors), CHUNK):
        block = vectors[lo : lo + CHUNK]
        n = len(block)
        ids = [f"{offset + lo + i:032x}" for i in range(n)]
        columns: dict[str, Any] = {
            "row_id": ids,
            "concept_id": ids,
            "user": [user] * n,
            "user_key": [user_key(user)] * n,
            "name": [f"c{offset + lo + i}" for i in range(n)],
            "name_key": ids,
            "aliases": [[]] * n,
            "category": [None] * n,
            "description": [""] * n,
            "image": [b""] * n,
            "image_sha256": [""] * n,
            "image_format": ["png"] * n,
            "image_width": [1] * n,
            "image_height": [1] * n,
            "image_index": [0] * n,
            "encoder": [ENCODER] * n,
            "created_at": [now] * n,
            "updated_at": [now] * n,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(block.ravel()), DIM),
        }
        lance.add(pa.table(columns, schema=schema))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 5) -> np.ndarray:
    """Exact top-``k`` row indices per query (ground truth)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for lo in range(0, len(queries), 16):
        sims = queries[lo : lo + 16] @ vectors.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[lo : lo + 16] = np.take_along_axis(part, order, axis=1)
    return out


def scores(found: list[list[int]], sources: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """recall@1 of the planted sources and recall@5 against the exact top-5."""
    r1 = np.mean([bool(f) and f[0] == s for f, s in zip(found, sources, strict=True)])
    r5 = np.mean([len(set(f[:5]) & set(t)) / 5 for f, t in zip(found, truth, strict=True)])
    return {"recall_at_1_planted": float(r1), "recall_at_5_vs_exact": float(r5)}


def numpy_search(vectors: np.ndarray) -> Any:
    def search(q: np.ndarray) -> list[int]:
        sims = (vectors @ q[0]).ravel()
        part = np.argpartition(-sims, 5)[:5]
        return [int(i) for i in part[np.argsort(-sims[part])]]

    return search


def faiss_search(vectors: np.ndarray) -> tuple[Any, Any]:
    import faiss

    index = faiss.IndexFlatL2(DIM)
    index.add(vectors)

    def search(q: np.ndarray) -> list[int]:
        _, ids = index.search(q, 5)
        return [int(i) for i in ids[0]]

    return search, index

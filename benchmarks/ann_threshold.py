"""Where should a user's search switch from the exact numpy scan to the IVF_PQ index?

Measures, at several table sizes of 768-d clustered unit vectors (ViT-L-14-336's size), one
query of 8 crops: the exact in-memory scan (what the store does below the threshold), and
LanceDB's IVF_PQ search with the store's settings (prefilter, nprobes, refine); plus the
index build time, the memory the exact scan holds, and recall@5 of the index against exact.

Run: .venv/bin/python benchmarks/ann_threshold.py [--sizes 10000,50000,100000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import lancedb
import numpy as np
import pyarrow as pa

from llama_index_rap.store.ann import AnnSettings, ann_search, build_index
from llama_index_rap.store.exact import UserVectors


def clustered(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    centres = rng.normal(size=(max(8, n // 500), dim))
    points = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.normal(size=(n, dim))
    out: np.ndarray = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    return out


def table_of(vectors: np.ndarray) -> pa.Table:
    n, dim = vectors.shape
    ids = [f"{i:032x}" for i in range(n)]
    return pa.table(
        {
            "row_id": ids,
            "concept_id": ids,
            "name": [f"c{i}" for i in range(n)],
            "user_key": ["u" * 32] * n,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
        }
    )


def p50(times: list[float]) -> float:
    return float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,25000,50000,100000")
    parser.add_argument("--dim", type=int, default=768)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        vectors = clustered(rng, n, args.dim)
        data = table_of(vectors)
        queries = vectors[rng.choice(n, 8 * 20, replace=False)] + 0.02 * rng.normal(
            size=(160, args.dim)
        ).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        exact = UserVectors.from_arrow(data, 0, args.dim, "u" * 32)
        exact_times, exact_hits = [], []
        for i in range(20):
            t = time.perf_counter()
            exact_hits += exact.search(queries[i * 8 : (i + 1) * 8], 5, None)
            exact_times.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as folder:
            table = lancedb.connect(folder).create_table("t", data)
            t = time.perf_counter()
            build_index(table, args.dim)
            build_s = time.perf_counter() - t
            ann_times, ann_hits = [], []
            for i in range(20):
                t = time.perf_counter()
                ann_hits += ann_search(
                    table,
                    queries[i * 8 : (i + 1) * 8],
                    f"user_key = '{'u' * 32}'",
                    "u" * 32,
                    5,
                    None,
                    AnnSettings(),
                )
                ann_times.append(time.perf_counter() - t)
        recall5 = np.mean(
            [
                len({h.concept_id for h in a} & {h.concept_id for h in e}) / 5
                for a, e in zip(ann_hits, exact_hits, strict=True)
            ]
        )
        rows.append(
            {
                "rows": n,
                "exact_p50_ms": round(p50(exact_times), 2),
                "ivf_pq_p50_ms": round(p50(ann_times), 2),
                "index_build_s": round(build_s, 1),
                "exact_memory_mb": round(exact.vectors.nbytes / 2**20, 1),
                "ivf_pq_recall5": round(float(recall5), 3),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print("\n| rows | exact p50 (8 crops) | IVF_PQ p50 | build | exact memory | IVF_PQ recall@5 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['rows']:,} | {r['exact_p50_ms']} ms | {r['ivf_pq_p50_ms']} ms | "
            f"{r['index_build_s']} s | {r['exact_memory_mb']} MB | {r['ivf_pq_recall5']} |"
        )


if __name__ == "__main__":
    main()

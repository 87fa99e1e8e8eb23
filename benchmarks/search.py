"""Search at 1k to 1M concepts: the store against a numpy scan and FAISS IndexFlatL2.

For each data kind (``clustered``: unit vectors around N/500 centres; ``isotropic``: uniform
on the sphere, the worst case for an index) and each size N, one user owns N concepts of
768-d vectors (ViT-L-14-336's size) and another user 1% more, so the user filter has work
to do. Each query is a planted near-duplicate of one stored vector (noise of norm ~0.55,
cosine ~0.88 to its source: like a crop of a stored concept). Measured, per single query
vector: p50 and p99 of the numpy matmul scan, of FAISS ``IndexFlatL2`` and of
``ConceptStore.search`` (exact numpy scan below ``AnnSettings.threshold``, the LanceDB index
above it); the index build time; recall@1 of the planted source and recall@5 against the
exact top-5 (near-tied neighbours make the second harsh, above all on isotropic data); and
the peak memory of a fresh process that opens the store and searches it. The store's
ratio to numpy is measured side by side: store searches and numpy scans of the same
queries alternate in blocks of 10 (the "same loop" column), since scans timed minutes apart
on a shared machine differ by more than what is being compared.

Variants (``Config``): ``index_at`` also measures the default index where the store still
scans exactly (to show the threshold), ``unwidened_at`` one partition in 12 probed for every
query (the search before the first-narrow-then-wide one), ``every_at`` every partition
probed for every query (on isotropic data: what near-tied neighbours cost an IVF index),
``before_at`` the index settings of the first version (IVF_PQ, a quarter of the partitions
probed, refine 10).

Rows are written straight into the store's table with its schema (placeholder image
bytes; the data, ground truth and exact scans are in ``benchmarks/vectors.py``): this
benchmark is about search; ingest through ``remember_many`` is measured in
``benchmarks/plumbing.py``.

Run (from the repository root):
    .venv/bin/python -m benchmarks.search --out benchmarks/results            # full, ~25 min
    .venv/bin/python -m benchmarks.search --small --out /tmp/bench            # ~1 min
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ms, peak_rss_mb, save, stored_files, table
from benchmarks.vectors import (
    DIM,
    OTHER,
    USER,
    exact_top,
    faiss_search,
    make_vectors,
    numpy_search,
    planted,
    scores,
    write_rows,
)
from llama_index_rap.store import ConceptStore
from llama_index_rap.store.ann import AnnSettings, build_index, partitions_for


@dataclass(frozen=True)
class Config:
    """What one run measures."""

    sizes: tuple[int, ...]
    kinds: tuple[str, ...]
    queries: int
    threshold: int
    index_at: tuple[int, ...]
    unwidened_at: tuple[int, ...]
    before_at: tuple[int, ...]
    before_kinds: tuple[str, ...]
    every_at: tuple[int, ...]
    every_kinds: tuple[str, ...]
    peak_memory: bool


FULL = Config(
    sizes=(1_000, 10_000, 100_000, 1_000_000),
    kinds=("clustered", "isotropic"),
    queries=100,
    threshold=AnnSettings().threshold,
    index_at=(10_000, 100_000),
    unwidened_at=(1_000_000,),
    before_at=(1_000_000,),
    before_kinds=("clustered",),
    every_at=(1_000_000,),
    every_kinds=("isotropic",),
    peak_memory=True,
)
SMALL = Config(
    sizes=(1_000, 20_000),
    kinds=("clustered", "isotropic"),
    queries=30,
    threshold=5_000,
    index_at=(),
    unwidened_at=(20_000,),
    before_at=(),
    before_kinds=(),
    every_at=(20_000,),
    every_kinds=("isotropic",),
    peak_memory=False,
)


def time_each(search: Any, queries: np.ndarray) -> tuple[list[float], list[list[int]]]:
    """Run ``search`` on each query alone; times and the row indices found."""
    (times, found), _ = time_side_by_side(search, None, queries)
    return times, found


BLOCK = 10  # queries per block when the store and numpy are timed side by side


def time_side_by_side(
    search: Any, baseline: Any, queries: np.ndarray
) -> tuple[tuple[list[float], list[list[int]]], list[float]]:
    """Time ``search`` on each query alone and, if given, ``baseline`` on the same queries,
    in alternating blocks of :data:`BLOCK` queries (each going first in every other block),
    so both see the same machine state; the baseline's times come second.

    Blocks, not query by query: right after a numpy scan has swept a million vectors
    (3 GB) through the processor's caches, any search finds its own data evicted; timed
    query by query, that cost the store 10.2 in place of 7.4 ms at 1M (benchmarks/README.md).
    """
    times: list[float] = []
    found: list[list[int]] = []
    base: list[float] = []

    def run(fn: Any, block: np.ndarray, into: list[float], rows: list[list[int]] | None) -> None:
        for q in block:
            start = time.perf_counter()
            got = fn(q[None, :])
            into.append(time.perf_counter() - start)
            if rows is not None:
                rows.append(got)

    for b, lo in enumerate(range(0, len(queries), BLOCK)):
        block = queries[lo : lo + BLOCK]
        if baseline is not None and b % 2 == 0:
            run(baseline, block, base, None)
        run(search, block, times, found)
        if baseline is not None and b % 2 == 1:
            run(baseline, block, base, None)
    return (times, found), base


def method_row(method: str, times: list[float], **extra: Any) -> dict[str, Any]:
    return {"method": method, "p50_ms": ms(times, 50), "p99_ms": ms(times, 99), **extra}


def store_search(store: ConceptStore) -> Any:
    def search(q: np.ndarray) -> list[int]:
        return [int(h.row_id, 16) for h in store.search(q, k=5, user=USER)[0]]

    return search


def measure_store(
    folder: str, settings: AnnSettings, label: str, data: tuple[Any, ...], build: bool
) -> dict[str, Any]:
    """Build the index (if asked) and time single-query and 8-crop searches through the store.

    Single queries alternate in blocks with numpy scans of the same queries, so the ratio
    to numpy is side by side.
    """
    vectors, queries, sources, truth = data
    store = ConceptStore(folder, user=USER, ann=settings)
    build_s = None
    if build:
        start = time.perf_counter()
        build_index(store.table.open(), DIM, settings)  # type: ignore[arg-type]
        build_s = time.perf_counter() - start
    search = store_search(store)
    start = time.perf_counter()
    search(queries[:1])  # first search: reads the user's vectors or opens the index
    first_ms = (time.perf_counter() - start) * 1000
    (times, found), numpy_times = time_side_by_side(search, numpy_search(vectors), queries)
    crops = [time.perf_counter()]
    for lo in range(0, len(queries) - 7, 8):
        store.search(queries[lo : lo + 8], k=5, user=USER)
        crops.append(time.perf_counter())
    path = "index" if len(vectors) > settings.threshold else "exact"
    return method_row(
        label,
        times,
        path=path,
        index=settings.index_type if path == "index" else None,
        nprobes=settings.probes(len(vectors) * 101 // 100) if path == "index" else None,
        wide_nprobes=settings.wide_probes(len(vectors) * 101 // 100) if path == "index" else None,
        refine=settings.refine_factor if path == "index" else None,
        build_s=build_s,
        first_search_ms=first_ms,
        numpy_p50_same_loop_ms=ms(numpy_times, 50),
        vs_numpy_same_loop=ms(times, 50) / ms(numpy_times, 50),
        p50_8_crops_ms=ms(np.diff(crops).tolist(), 50),
        **scores(found, sources, truth),
    )


def peak_memory(folder: str, queries: np.ndarray, threshold: int) -> dict[str, float]:
    """Peak RSS of a fresh process that opens the store and runs the queries."""
    with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as f:
        np.save(f, queries)
    code = (
        "import json, numpy as np, sys\n"
        "from benchmarks.common import peak_rss_mb\n"
        "from llama_index_rap.store import ConceptStore\n"
        "from llama_index_rap.store.ann import AnnSettings\n"
        "before = peak_rss_mb()\n"
        f"store = ConceptStore({folder!r}, user={USER!r}, ann=AnnSettings(threshold={threshold}))\n"
        f"for q in np.load({f.name!r}):\n"
        "    store.search(q[None, :], k=5)\n"
        "print(json.dumps({'after_import_mb': before, 'peak_mb': peak_rss_mb()}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    Path(f.name).unlink()
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def before_settings(n: int) -> AnnSettings:
    """The first version's index: IVF_PQ, a quarter of the partitions, refine 10."""
    return AnnSettings(
        threshold=0,
        index_type="IVF_PQ",
        nprobes=max(20, partitions_for(n) // 4),
        refine_factor=10,
    )


def unwidened_settings(n: int) -> AnnSettings:
    """One partition in 12 probed for every query (session 3), never widened."""
    return AnnSettings(
        threshold=0, nprobes=max(20, partitions_for(n) // 12), widen_distance=float("inf")
    )


def every_settings() -> AnnSettings:
    """Every partition probed for every query: what the index finds at most, and its cost."""
    return AnnSettings(threshold=0, nprobes=4096, widen_distance=float("inf"))


def run_size(kind: str, n: int, cfg: Config, rng: np.random.Generator) -> list[dict[str, Any]]:
    vectors = make_vectors(kind, n, rng)
    queries, sources = planted(vectors, cfg.queries, rng)
    truth = exact_top(vectors, queries)
    data = (vectors, queries, sources, truth)
    rows = []
    times, found = time_each(numpy_search(vectors), queries)
    rows.append(method_row("numpy matmul", times, **scores(found, sources, truth)))
    fsearch, index = faiss_search(vectors)
    times, found = time_each(fsearch, queries)
    rows.append(method_row("FAISS IndexFlatL2", times, **scores(found, sources, truth)))
    del index, fsearch
    settings = AnnSettings(threshold=cfg.threshold)
    with tempfile.TemporaryDirectory(prefix="rap-bench-") as folder:
        store = ConceptStore(folder, user=USER)
        start = time.perf_counter()
        write_rows(store, vectors, USER, 0)
        write_rows(store, make_vectors(kind, max(1, n // 100), rng), OTHER, n)
        write_s = time.perf_counter() - start
        indexed = n > cfg.threshold
        rows.append(measure_store(folder, settings, "store", data, indexed))
        rows[-1]["write_s"] = write_s
        stored = sum(p.stat().st_size for p in stored_files(Path(folder)))
        rows[-1]["store_bytes_per_row"] = stored / (n + max(1, n // 100))
        if cfg.peak_memory and n == max(cfg.sizes):
            rows[-1]["memory"] = peak_memory(folder, queries, cfg.threshold)
        if n in cfg.index_at and not indexed:
            forced = replace(settings, threshold=0)
            rows.append(measure_store(folder, forced, "store, index forced", data, True))
        if n in cfg.unwidened_at:
            fixed = unwidened_settings(n)
            rows.append(measure_store(folder, fixed, "one in 12 probed always", data, False))
        if n in cfg.every_at and kind in cfg.every_kinds:
            rows.append(
                measure_store(folder, every_settings(), "every partition probed", data, False)
            )
        if n in cfg.before_at and kind in cfg.before_kinds:
            rows.append(measure_store(folder, before_settings(n), "IVF_PQ (before)", data, True))
    numpy_p50 = rows[0]["p50_ms"]
    for row in rows:
        row.update(kind=kind, n=n, vs_numpy_p50=row["p50_ms"] / numpy_p50)
        print(json.dumps(row), flush=True)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    def f(x: Any, spec: str) -> str:
        return "" if x is None else format(x, spec)

    body = [
        [
            r["kind"],
            f"{r['n']:,}",
            r["method"] + (f" ({r['path']})" if "path" in r else ""),
            f(r.get("build_s"), ".1f"),
            f(r["p50_ms"], ".2f"),
            f(r["p99_ms"], ".2f"),
            f(r.get("numpy_p50_same_loop_ms"), ".2f"),
            f(r.get("vs_numpy_same_loop", r["vs_numpy_p50"]), ".3f"),
            f(r.get("p50_8_crops_ms"), ".1f"),
            f(r["recall_at_1_planted"], ".3f"),
            f(r["recall_at_5_vs_exact"], ".3f"),
        ]
        for r in rows
    ]
    headers = [
        "data",
        "N",
        "method",
        "build s",
        "p50 ms",
        "p99 ms",
        "numpy p50 ms, same loop",
        "p50 / numpy",
        "8 crops p50 ms",
        "recall@1 planted",
        "recall@5",
    ]
    text = table(headers, body)
    sizes = [r for r in rows if "store_bytes_per_row" in r]
    text += "\n\n" + table(
        ["data", "N", "store bytes per concept", "budget: image + 1.2 x vector"],
        [
            [r["kind"], f"{r['n']:,}", f"{r['store_bytes_per_row']:.0f}", f"{1.2 * DIM * 4:.0f}"]
            for r in sizes
        ],
    )
    mem = [r for r in rows if "memory" in r]
    if mem:
        text += "\n\n" + table(
            ["data", "N", "RSS after import MiB", "peak RSS searching MiB"],
            [
                [
                    r["kind"],
                    f"{r['n']:,}",
                    f"{r['memory']['after_import_mb']:.0f}",
                    f"{r['memory']['peak_mb']:.0f}",
                ]
                for r in mem
            ],
        )
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the CI mode (about a minute)")
    parser.add_argument("--sizes", help="comma-separated sizes (overrides the mode's)")
    parser.add_argument("--kinds", help="clustered,isotropic")
    parser.add_argument("--out", type=Path, help="folder for search.json and search.md")
    args = parser.parse_args(argv)
    cfg = SMALL if args.small else FULL
    if args.sizes:
        cfg = replace(cfg, sizes=tuple(int(s) for s in args.sizes.split(",")))
    if args.kinds:
        cfg = replace(cfg, kinds=tuple(args.kinds.split(",")))
    rng = np.random.default_rng(0)
    rows = [row for kind in cfg.kinds for n in cfg.sizes for row in run_size(kind, n, cfg, rng)]
    save(args.out, "search", {"config": cfg.__dict__, "rows": rows}, markdown(rows))
    print(f"peak RSS of the benchmark process: {peak_rss_mb():.0f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()

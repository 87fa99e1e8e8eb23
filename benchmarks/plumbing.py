"""Plumbing benchmarks: batched encoding, bulk ingest, cold start, bytes per concept.

Prints a Markdown table (and writes plumbing.json / plumbing.md with ``--out``). Ratios are
measured side by side in one run; no figure here is a pass/fail assertion (machines are
shared and noisy).

Run (from the repository root):
    .venv/bin/python -m benchmarks.plumbing --out benchmarks/results     # full, ~4 min
    .venv/bin/python -m benchmarks.plumbing --small                      # ~20 s
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import save, stored_files, table, timed

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def best_of(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Fastest of ``repeat`` runs, in seconds."""
    return min(timed(fn, repeat))


def batched_vs_single(embedding: Any, images: list[Any], repeat: int) -> dict[str, float]:
    """Eight crops in one pass against eight single passes."""
    embedding.embed_images(images[:1])  # warm up
    batched = best_of(lambda: embedding.embed_images(images, batch_size=len(images)), repeat)
    single = best_of(lambda: [embedding.embed_images([im]) for im in images], repeat)
    return {"batched_s": batched, "single_s": single, "ratio": batched / single}


def bulk_ingest(embedding: Any, count: int) -> dict[str, float]:
    """Concepts per second through remember_many, and the fragments left behind."""
    from llama_index_rap.store import ConceptInput, ConceptStore
    from tests.imagegen import photo

    images = []
    for i in range(count):
        buf = io.BytesIO()
        photo(i, (64, 48)).save(buf, format="PNG")
        images.append(buf.getvalue())
    items = [ConceptInput(f"c{i}", images[i], f"Concept {i}.") for i in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        store = ConceptStore(folder, embedding=embedding)
        start = time.perf_counter()
        store.remember_many(items)
        seconds = time.perf_counter() - start
        lance = store.table.open()
        assert lance is not None
        stats: Any = lance.stats()
        fragments = int(stats["fragment_stats"]["num_fragments"])
        size = sum(p.stat().st_size for p in stored_files(Path(folder)))
        image_bytes = sum(len(b) for b in images)
        vector_bytes = count * embedding.dim * 4
    return {
        "concepts": count,
        "seconds": seconds,
        "concepts_per_s": count / seconds,
        "fragments": fragments,
        "store_bytes_per_concept": size / count,
        "budget_bytes_per_concept": (image_bytes + 1.2 * vector_bytes) / count,
    }


def cold_start() -> dict[str, float]:
    """``import llama_index_rap`` and ``rap --help`` in fresh interpreters."""
    python = sys.executable

    def run(*args: str) -> None:
        subprocess.run([python, *args], check=True, capture_output=True)

    return {
        "import_s": best_of(lambda: run("-c", "import llama_index_rap"), 3),
        "rap_help_s": best_of(lambda: run("-m", "llama_index_rap", "--help"), 3),
    }


def markdown(results: dict[str, Any]) -> str:
    b, c = results["bulk_ingest"], results["cold_start"]
    rows = [
        [f"8 crops batched / 8 single passes ({name})", f"{e['ratio']:.2f}x", "<= 0.6x"]
        for name, e in results["encode_8_crops"].items()
    ]
    rows += [
        [
            f"bulk ingest of {b['concepts']:,} concepts, tiny encoder",
            f"{b['concepts_per_s']:.0f} concepts/s",
            ">= 200",
        ],
        [f"data fragments after {b['concepts']:,} concepts", str(b["fragments"]), "< 100"],
        [
            "store bytes per concept",
            f"{b['store_bytes_per_concept']:.0f}",
            f"<= {b['budget_bytes_per_concept']:.0f} (image + 1.2 x vector)",
        ],
        ["`import llama_index_rap` (fresh interpreter)", f"{c['import_s']:.2f} s", "<= 0.5 s"],
        ["`rap --help`", f"{c['rap_help_s']:.2f} s", "<= 1 s"],
    ]
    return table(["measure", "figure", "target"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the CI mode")
    parser.add_argument("--concepts", type=int, help="concepts to ingest (10,000; small: 500)")
    parser.add_argument(
        "--encoders", help="profiles whose encoder is timed (tiny,default-random; small: tiny)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    count = args.concepts or (500 if args.small else 10_000)
    encoders = (args.encoders or ("tiny" if args.small else "tiny,default-random")).split(",")
    from llama_index_rap.encode import OpenCLIPEmbedding
    from llama_index_rap.models.specs import TINY_CLIP, ClipSpec, get_profile
    from tests.imagegen import photo

    crops = [photo(i, (96, 96)) for i in range(8)]
    ratios = {}
    for name in encoders:
        spec = get_profile(name).encoder
        assert isinstance(spec, ClipSpec)
        embedding = OpenCLIPEmbedding.from_spec(spec)
        ratios[spec.architecture] = batched_vs_single(embedding, crops, 5 if name == "tiny" else 2)
    tiny = OpenCLIPEmbedding.from_spec(TINY_CLIP)
    results = {
        "encode_8_crops": ratios,
        "bulk_ingest": bulk_ingest(tiny, count),
        "cold_start": cold_start(),
    }
    save(args.out, "plumbing", results, markdown(results))


if __name__ == "__main__":
    main()

"""Plumbing benchmarks: batched encoding, bulk ingest, cold start, bytes per concept.

Prints JSON lines and a Markdown table. Ratios are measured side by side in one run; no
figure here is a pass/fail assertion (machines are shared and noisy).

Run: .venv/bin/python benchmarks/plumbing.py [--concepts 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def best_of(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    """Fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def batched_vs_single(embedding, images) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Eight crops in one pass against eight single passes."""
    embedding.embed_images(images[:1])  # warm up
    batched = best_of(lambda: embedding.embed_images(images, batch_size=len(images)))
    single = best_of(lambda: [embedding.embed_images([im]) for im in images])
    return {"batched_s": batched, "single_s": single, "ratio": batched / single}


def bulk_ingest(embedding, count: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Concepts per second through remember_many, and the fragments left behind."""
    from tests.imagegen import photo

    from llama_index_rap.store import ConceptInput, ConceptStore

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
        table = store.table.open()
        assert table is not None
        stats: Any = table.stats()
        fragments = int(stats["fragment_stats"]["num_fragments"])
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concepts", type=int, default=2000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.imagegen import photo

    from llama_index_rap.encode import OpenCLIPEmbedding
    from llama_index_rap.models.specs import get_profile

    tiny = OpenCLIPEmbedding.from_spec(get_profile("tiny").clip)
    crops = [photo(i, (96, 96)) for i in range(8)]
    results = {
        "encode_8_crops": batched_vs_single(tiny, crops),
        "bulk_ingest": bulk_ingest(tiny, args.concepts),
        "cold_start": cold_start(),
    }
    print(json.dumps(results, indent=2))
    e, b, c = results["encode_8_crops"], results["bulk_ingest"], results["cold_start"]
    print("\n| measure | figure | target |")
    print("| --- | --- | --- |")
    print(f"| 8 crops batched / 8 single passes (tiny ViT) | {e['ratio']:.2f}x | <= 0.6x |")
    print(f"| bulk ingest, tiny encoder | {b['concepts_per_s']:.0f} concepts/s | >= 200 |")
    print(f"| fragments after {b['concepts']} concepts | {b['fragments']} | < 100 |")
    print(
        f"| store bytes per concept | {b['store_bytes_per_concept']:.0f} | <= "
        f"{b['budget_bytes_per_concept']:.0f} (image + 1.2 x vector) |"
    )
    print(f"| import llama_index_rap | {c['import_s']:.2f} s | <= 0.5 s |")
    print(f"| rap --help | {c['rap_help_s']:.2f} s | <= 1 s |")


if __name__ == "__main__":
    main()

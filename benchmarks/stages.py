"""One query, stage by stage: detect, crop, encode, search, format, generate.

Runs ``RAPQueryEngine.query`` on a scene with two remembered concepts (plus filler concepts
in the store) and times, inside that real query path, each stage and each model forward
pass (detector network, CLIP image tower, VLM ``generate``), by wrapping the methods that
do them. The non-model overhead is the query's end-to-end time minus the forward passes:
image decoding, ultralytics' letterboxing and NMS, CLIP's transforms, the store, node
building, the prompt and the VLM processor.

Run (from the repository root):
    .venv/bin/python -m benchmarks.stages --models tiny --out benchmarks/results
    .venv/bin/python -m benchmarks.stages --models default-random --out benchmarks/results
On a machine with CUDA the models load there (the VLM in bf16), as they do for users.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import peak_rss_mb, save, table

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

STAGES = ["detect", "crop", "encode", "search", "format", "generate"]
FORWARDS = ["detector forward", "CLIP image forward", "VLM generate"]


class Meter:
    """Seconds spent inside wrapped methods, per label, for the current query."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, obj: Any, attr: str, label: str) -> None:
        """Time every call of ``obj.attr`` under ``label`` (instance attribute, undone later)."""
        original = getattr(obj, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        had_own = attr in vars(obj)
        object.__setattr__(obj, attr, timed)
        self._undo.append(
            (lambda: object.__setattr__(obj, attr, original))
            if had_own
            else (lambda: object.__delattr__(obj, attr))
        )

    def reset(self) -> None:
        self.seconds.clear()

    def undo(self) -> None:
        for step in reversed(self._undo):
            step()


def png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def build(models: str, filler: int, max_new_tokens: int, folder: str) -> tuple[Any, ...]:
    """A store with Bo, Mam and ``filler`` more concepts; the engine; the query."""
    from llama_index_rap.demo import pictures
    from llama_index_rap.engine import RAPQueryEngine
    from llama_index_rap.generate import HuggingFaceVLM
    from llama_index_rap.models.specs import get_profile
    from llama_index_rap.retrieve import RAPQuery, RAPRetriever
    from llama_index_rap.store import ConceptInput, ConceptStore

    profile = get_profile(models)
    store = ConceptStore(folder, models=profile)
    store.remember("Bo", png(pictures.bo()), "My Shiba Inu.", category="dog")
    store.remember("Mam", png(pictures.mam()), "My mother.", category="person")
    rng = np.random.default_rng(0)
    dim = store.dim or 0
    noise = rng.standard_normal((filler, dim)).astype(np.float32)
    tile = png(pictures.bo().resize((32, 32)))
    store.remember_many(
        [ConceptInput(f"filler{i}", tile, "Filler.") for i in range(filler)],
        vectors=[[v / np.linalg.norm(v)] for v in noise],
    )
    retriever = RAPRetriever(store, max_distance=None)
    llm = HuggingFaceVLM.from_spec(profile.vlm, max_new_tokens=max_new_tokens)
    engine = RAPQueryEngine(retriever, llm)

    def query(i: int) -> Any:
        """The family scene, one pixel different per query (a new photo: nothing cached)."""
        scene = pictures.family()
        scene.putpixel((i % scene.width, 0), (i % 256, 0, 0))
        boxes = list(pictures.FAMILY_BOXES.values())
        return RAPQuery("What is <Bo> doing?", image=png(scene), boxes=boxes)

    return profile, store, retriever, llm, engine, query


@contextlib.contextmanager
def instrumented(store: Any, retriever: Any, llm: Any, engine: Any) -> Iterator[Meter]:
    """Wrap every stage and every model forward pass of the engine's query path."""
    import llama_index_rap.engine.pipeline as pipeline

    meter = Meter()
    detector = retriever.detector
    if detector is not None:
        meter.wrap(detector, "detect", "detect")
        meter.wrap(detector.model.predictor.model, "forward", "detector forward")
    meter.wrap(retriever, "crops", "crop")  # includes detect; subtracted below
    meter.wrap(retriever.embedding, "embed_images", "encode")
    meter.wrap(retriever.embedding.loaded.model, "encode_image", "CLIP image forward")
    meter.wrap(store, "search", "search")
    meter.wrap(store, "by_ids", "format")
    for post in engine.pipeline.postprocessors:
        meter.wrap(post, "postprocess_nodes", "format")
    meter.wrap(pipeline, "build_prompt", "format")  # the pipeline calls it by this name
    meter.wrap(llm, "chat", "generate")
    meter.wrap(llm.loaded.model, "generate", "VLM generate")
    try:
        yield meter
    finally:
        meter.undo()


def run(models: str, repeat: int, warmup: int, filler: int, tokens: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rap-stages-") as folder:
        return measure(models, repeat, warmup, filler, tokens, folder)


def measure(
    models: str, repeat: int, warmup: int, filler: int, tokens: int, folder: str
) -> dict[str, Any]:
    """Build the store and engine in ``folder``, then time ``repeat`` queries."""
    start = time.perf_counter()
    profile, store, retriever, llm, engine, query = build(models, filler, tokens, folder)
    engine.query(query(0))  # loads every model
    setup_s = time.perf_counter() - start
    samples: list[dict[str, float]] = []
    with instrumented(store, retriever, llm, engine) as meter:
        for i in range(warmup + repeat):
            photo = query(i + 1)
            meter.reset()
            tick = time.perf_counter()
            response = engine.query(photo)
            total = time.perf_counter() - tick
            if i < warmup:
                continue
            s = dict(meter.seconds)
            s["crop"] = s.get("crop", 0.0) - s.get("detect", 0.0)
            s["total"] = total
            s["model"] = sum(s.get(f, 0.0) for f in FORWARDS)
            s["overhead"] = total - s["model"]
            s["other"] = total - sum(s.get(st, 0.0) for st in STAGES)
            samples.append(s)
    p50 = {k: float(np.median([s.get(k, 0.0) for s in samples])) for k in samples[0]}
    return {
        "models": profile.name,
        "device": llm.loaded.device,
        "setup_s": setup_s,
        "repeat": repeat,
        "concepts_in_store": store.count(),
        "concepts_in_prompt": response.metadata["concepts"],
        "crops_searched": len(response.metadata["retrieval"].crops),
        "p50_s": p50,
        "peak_rss_mb": peak_rss_mb(),
    }


def markdown(result: dict[str, Any]) -> str:
    p = result["p50_s"]
    forward_of = {"detect": "detector forward", "encode": "CLIP image forward"}
    forward_of["generate"] = "VLM generate"
    rows = []
    for stage in [*STAGES, "other"]:
        total = p.get(stage, 0.0)
        fwd = p.get(forward_of.get(stage, ""), 0.0)
        rows.append(
            [
                stage,
                f"{total * 1000:.1f}",
                f"{fwd * 1000:.1f}",
                f"{(total - fwd) * 1000:.1f}",
                f"{total / p['total'] * 100:.1f}%",
            ]
        )
    rows.append(
        [
            "**query**",
            f"{p['total'] * 1000:.1f}",
            f"{p['model'] * 1000:.1f}",
            f"**{p['overhead'] * 1000:.1f}**",
            f"non-model {p['overhead'] / p['total'] * 100:.1f}%",
        ]
    )
    head = (
        f"models `{result['models']}` on {result['device']}, p50 of {result['repeat']} "
        f"queries, {result['crops_searched']} crops searched, "
        f"{result['concepts_in_store']} concepts in the store, peak RSS "
        f"{result['peak_rss_mb']:.0f} MiB\n\n"
    )
    return head + table(["stage", "ms", "model forward ms", "the rest ms", "share of query"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny", help="tiny, default-random or default")
    parser.add_argument("--repeat", type=int, default=None, help="queries measured")
    parser.add_argument("--warmup", type=int, default=None, help="queries before measuring")
    parser.add_argument("--filler", type=int, default=100, help="extra concepts in the store")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    tiny = args.models == "tiny"
    repeat = args.repeat or (20 if tiny else 2)
    warmup = args.warmup if args.warmup is not None else (3 if tiny else 0)
    result = run(args.models, repeat, warmup, args.filler, args.max_new_tokens)
    save(args.out, f"stages-{args.models}", result, markdown(result))
    print(f"set-up and first query: {result['setup_s']:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

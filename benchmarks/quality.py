"""Retrieval quality on real photos: DreamBooth, the trained MobileNetV2, the shipped defaults.

Everything goes through the real path a user's query takes: ``ConceptStore.remember`` of the
photo files, then ``RAPRetriever`` at the defaults the ``offline`` profile ships (whole image,
``top_k`` 2, the profile's ``max_distance``, no detector). For each split, 20 subjects are
remembered (from one photo, and as another user from three) and 10 kept as strangers; every
other photo is a query. Reported:

- recall@1/@2/@5: the photo's own concept among the nearest 1/2/5 (``store.search``, no
  distance cut-off: how well the encoder ranks);
- concept precision and recall of what the retriever hands the LLM (of the concepts
  handed, the share truly in the photo; of those in the photo, the share handed);
- strangers retrieving nothing, and photos handed a wrong concept;
- the same for RAP's reference rule (no threshold: always the nearest two), and without the
  per-region margin (``margin=None``);
- lookalikes (DreamBooth's 7 dogs, 2 cats, 3 plush toys, 2 sneakers, 2 backpacks): a user
  who remembers one of them (from 1 or 3 photos), before and after marking up to five photos
  of the others of its class "not this one" (``add_negative``): its own photos kept, the
  others' photos taken for it;
- calibration (``store.calibrate``, 1% target) from each split's three-photo concepts and
  one photo of each of five strangers, scored on the rest: the distance chosen, true matches
  kept, the other strangers retrieving nothing;
- collages of 2-4 photos of different subjects with their boxes given;
- growth to 500 concepts with distractors (other objects' photos, cropped and flipped);
- remembering a 12-megapixel camera JPEG: time beyond the encoder's pass, bytes stored;
- the distances of true matches, strangers and wrong concepts (a plot), and what each
  threshold keeps and lets through.

Run (from the repository root; the photos are read from ``--photos``, never copied):
    .venv/bin/python -m benchmarks.quality --out benchmarks/results      # ~2.5 min on 2 CPUs
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import save, stored_files
from benchmarks.dreambooth import (
    KNOWN,
    Subject,
    camera_jpegs,
    collage,
    default_photos,
    distractors,
    dreambooth,
    references,
    split,
)
from benchmarks.quality_report import plot, report
from benchmarks.strangers import calibration, lookalikes

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

PROFILE = "offline"
REFS = (1, 3)
GROWTH = (20, 50, 100, 200, 500)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.30, 1.01, 0.02))


@dataclass
class Tally:
    """Counts behind concept precision and recall, strangers and wrong concepts."""

    handed: int = 0
    handed_right: int = 0
    present: int = 0
    present_handed: int = 0
    photos: int = 0
    photos_wrong: int = 0
    strangers: int = 0
    strangers_silent: int = 0

    def add(self, truth: set[str], handed: Sequence[str]) -> None:
        """One query: the concepts truly in the photo and those handed to the LLM."""
        right = [h for h in handed if h in truth]
        if truth:
            self.photos += 1
            self.photos_wrong += len(right) < len(handed)
            self.present += len(truth)
            self.present_handed += len(set(right))
        else:
            self.strangers += 1
            self.strangers_silent += not handed
        self.handed += len(handed)
        self.handed_right += len(right)

    def figures(self) -> dict[str, float]:
        """The rates (NaN where nothing was counted)."""

        def rate(a: int, b: int) -> float:
            return a / b if b else float("nan")

        return {
            "concept_precision": rate(self.handed_right, self.handed),
            "concept_recall": rate(self.present_handed, self.present),
            "strangers_retrieving_nothing": rate(self.strangers_silent, self.strangers),
            "photos_with_a_wrong_concept": rate(self.photos_wrong, self.photos),
        }


class Bench:
    """One store (one user per split and reference count) and the photos' vectors."""

    def __init__(self, folder: str) -> None:
        from llama_index_rap.retrieve import RAPRetriever
        from llama_index_rap.store import ConceptStore

        self.store = ConceptStore(folder, models=PROFILE)
        self.retriever = RAPRetriever(self.store)  # the shipped defaults
        self.unruled = RAPRetriever(self.store, margin=None)  # no per-region margin
        self._vectors: dict[Path, np.ndarray] = {}

    def remember(
        self, user: str, refs: Mapping[str, Sequence[Path]], categories: Mapping[str, str]
    ) -> None:
        """Remember each subject from its reference photos (the files, as a user gives them)."""
        from llama_index_rap.store import ConceptInput

        items = [
            ConceptInput(name, [str(p) for p in paths], f"The {name}.", categories[name])
            for name, paths in refs.items()
        ]
        self.store.remember_many(items, user=user)

    def vector(self, path: Path) -> np.ndarray:
        """The photo's vector (encoded once, as the retriever encodes a whole image)."""
        if path not in self._vectors:
            from llama_index_rap.images import load_image

            image = load_image(str(path), self.store.limits.images).image
            self._vectors[path] = self.store.embedding.embed_images([image])[0]
        return self._vectors[path]

    def ranking(self, path: Path, user: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest concepts, no cut-off: ``(name, distance)``."""
        hits = self.store.search(self.vector(path)[None], k=k, user=user)[0]
        names = self.store.by_ids([h.concept_id for h in hits], user=user)
        return [(names[h.concept_id].name, h.distance) for h in hits]

    def handed(
        self, image: Any, user: str, boxes: Sequence[Any] = (), margin: bool = True
    ) -> list[tuple[str, float]]:
        """What the retriever hands the LLM at the shipped defaults: ``(name, distance)``."""
        from llama_index_rap.retrieve import RAPQuery

        retriever = self.retriever if margin else self.unruled
        nodes = retriever.retrieve(RAPQuery("", image=image, boxes=boxes, user=user))
        return [(n.node.metadata["name"], n.node.metadata["distance"]) for n in nodes]


def recognition(bench: Bench, subjects: list[Subject], splits: int) -> dict[str, Any]:
    """Whole photos, one subject each: ranking recall, what is handed, distances."""
    categories = {s.name: s.category for s in subjects}
    rows: list[dict[str, Any]] = []
    distances: dict[str, list[float]] = {"true match": [], "wrong concept": [], "stranger": []}
    for seed in range(splits):
        known, strangers = split(subjects, seed)
        for refs in REFS:
            user = f"split{seed}-refs{refs}"
            chosen = references(known, refs, seed)
            bench.remember(user, chosen, categories)
            shipped, reference, unruled = Tally(), Tally(), Tally()
            hits_at = {1: 0, 2: 0, 5: 0}
            misses: list[str] = []
            queries = [(s.name, p) for s in known for p in s.photos if p not in chosen[s.name]]
            queries += [("", p) for s in strangers for p in s.photos]
            for truth, path in queries:
                ranked = bench.ranking(path, user, k=KNOWN)
                names = [n for n, _ in ranked]
                if truth:
                    for k in hits_at:
                        hits_at[k] += truth in names[:k]
                    if names[0] != truth:
                        misses.append(f"{path.parent.name}/{path.name} -> {names[0]}")
                    if refs == 1:
                        distances["true match"] += [d for n, d in ranked if n == truth]
                        distances["wrong concept"].append(next(d for n, d in ranked if n != truth))
                elif refs == 1:
                    distances["stranger"].append(ranked[0][1])
                wanted = {truth} if truth else set()
                shipped.add(wanted, [n for n, _ in bench.handed(str(path), user)])
                unruled.add(wanted, [n for n, _ in bench.handed(str(path), user, margin=False)])
                reference.add(wanted, names[:2])
            n_known = sum(1 for t, _ in queries if t)
            rows.append(
                {
                    "split": seed,
                    "refs": refs,
                    "queries": len(queries),
                    "known_queries": n_known,
                    **{f"recall_at_{k}": v / n_known for k, v in hits_at.items()},
                    "shipped": shipped.figures(),
                    "no_margin": unruled.figures(),
                    "reference_rule": reference.figures(),
                    "misses_at_1": misses,
                }
            )
    return {"rows": rows, "distances": distances}


def collages(bench: Bench, subjects: list[Subject], splits: int, per_split: int) -> dict[str, Any]:
    """Collages of 2-4 query photos of different known subjects, their boxes given."""
    by_size: dict[int, Tally] = {n: Tally() for n in (2, 3, 4)}
    total = Tally()
    for seed in range(splits):
        known, _ = split(subjects, seed)
        user = f"split{seed}-refs1"
        chosen = references(known, 1, seed)
        rng = random.Random(1000 + seed)
        for i in range(per_split):
            count = 2 + i % 3
            picked = rng.sample(known, count)
            paths = [rng.choice([p for p in s.photos if p not in chosen[s.name]]) for s in picked]
            image, boxes = collage(paths)
            handed = [n for n, _ in bench.handed(image, user, boxes)]
            for tally in (by_size[count], total):
                tally.add({s.name for s in picked}, handed)
    return {
        "all": total.figures() | {"collages": total.photos},
        **{str(n): t.figures() | {"collages": t.photos} for n, t in by_size.items()},
    }


def growth(bench: Bench, subjects: list[Subject], sizes: Sequence[int]) -> list[dict[str, Any]]:
    """Split 0's 20 concepts (one photo each) among distractor concepts, up to ``sizes[-1]``."""
    from llama_index_rap.demo.photos import SKIMAGE_PHOTOS, skimage_photo
    from llama_index_rap.store import ConceptInput

    known, strangers = split(subjects, 0)
    chosen = references(known, 1, 0)
    user = "growth"
    bench.remember(user, chosen, {s.name: s.category for s in subjects})
    sources = [p for s in strangers for p in s.photos] + [skimage_photo(n) for n in SKIMAGE_PHOTOS]
    extra = distractors(sources, max(sizes) - KNOWN)
    queries = [(s.name, p) for s in known for p in s.photos if p not in chosen[s.name]]
    rows, added = [], 0
    for size in sizes:
        items = [
            ConceptInput(f"other-{i}", extra[i], f"Someone else's thing {i}.")
            for i in range(added, size - KNOWN)
        ]
        if items:
            bench.store.remember_many(items, user=user)
        added = size - KNOWN
        hits_at = {1: 0, 5: 0}
        shipped = Tally()
        for truth, path in queries:
            names = [n for n, _ in bench.ranking(path, user, k=5)]
            for k in hits_at:
                hits_at[k] += truth in names[:k]
            shipped.add({truth}, [n for n, _ in bench.handed(str(path), user)])
        rows.append(
            {
                "concepts": bench.store.count(user=user),
                "queries": len(queries),
                **{f"recall_at_{k}": v / len(queries) for k, v in hits_at.items()},
                "shipped": shipped.figures(),
            }
        )
    return rows


def camera_jpeg(bench: Bench, source: Path, folder: Path, repeat: int) -> dict[str, float]:
    """Remember 12-megapixel JPEGs: seconds beyond the encoder's pass, and bytes stored.

    One concept per commit (``remember``), then ``repeat`` more in one ``remember_many``.
    """
    from PIL import Image

    from llama_index_rap.store import ConceptInput, ConceptStore

    files = camera_jpegs(source, folder, 2 * repeat + 1)
    file_bytes = [p.stat().st_size for p in files]
    db = folder / "camera-db"
    store = ConceptStore(str(db), embedding=bench.store.embedding, user="camera")
    store.remember("warm-up", str(files[-1]), "Warm-up.")
    before = folder_bytes(db)
    remember_s, encode_s = [], []
    for i, path in enumerate(files[:repeat]):
        start = time.perf_counter()
        store.remember(f"photo-{i}", str(path), "A camera photo.")
        remember_s.append(time.perf_counter() - start)
        decoded = Image.open(path)
        decoded.load()
        start = time.perf_counter()
        store.embedding.embed_images([decoded])
        encode_s.append(time.perf_counter() - start)
    single = folder_bytes(db)
    bulk = files[repeat : 2 * repeat]
    store.remember_many(
        [ConceptInput(f"bulk-{i}", str(p), "A camera photo.") for i, p in enumerate(bulk)]
    )
    after = folder_bytes(db)
    stored = store.get("photo-0").images[0]
    vector_bytes = (store.dim or 0) * 4
    return {
        "megapixels": 12.0,
        "file_bytes": float(np.mean(file_bytes)),
        "stored_image_is_the_file": float(stored.data == files[0].read_bytes()),
        "remember_s": float(np.median(remember_s)),
        "encoder_pass_s": float(np.median(encode_s)),
        "beyond_encoder_s": float(np.median(np.subtract(remember_s, encode_s))),
        "data_bytes_per_concept": (single["data"] - before["data"]) / repeat,
        "commit_bytes_per_remember": (single["commit"] - before["commit"]) / repeat,
        "data_bytes_per_concept_in_one_commit": (after["data"] - single["data"]) / repeat,
        "budget_bytes_per_concept": float(np.mean(file_bytes[:-1])) + 1.2 * vector_bytes,
    }


def folder_bytes(db: Path) -> dict[str, int]:
    """Bytes of the table's data files, and of its commit records (manifests, transactions)."""
    sizes = {"data": 0, "commit": 0}
    for path in stored_files(db):
        sizes["data" if "data" in path.parent.parts[-1:] else "commit"] += path.stat().st_size
    return sizes


def tradeoff(distances: dict[str, list[float]]) -> list[dict[str, float]]:
    """For each threshold: true matches kept, strangers and wrong concepts let through."""
    arrays = {k: np.asarray(v) for k, v in distances.items()}
    return [
        {
            "threshold": t,
            "true_matches_kept": float(np.mean(arrays["true match"] <= t)),
            "strangers_through": float(np.mean(arrays["stranger"] <= t)),
            "wrong_concepts_through": float(np.mean(arrays["wrong concept"] <= t)),
        }
        for t in THRESHOLDS
    ]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--photos", type=Path, default=default_photos(), help="folder holding dreambooth/"
    )
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--collages", type=int, default=30, help="collages per split")
    parser.add_argument("--small", action="store_true", help="1 split, 6 collages, 60 concepts")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.photos / "dreambooth" / "prompts_and_classes.txt").is_file():
        parser.error(
            f"no DreamBooth photos under {args.photos}/dreambooth "
            "(download google/dreambooth's dataset/ folder there)"
        )
    splits, per_split, sizes = (
        (1, 6, (20, 60)) if args.small else (args.splits, args.collages, GROWTH)
    )
    from llama_index_rap.models.specs import get_profile

    profile = get_profile(PROFILE)
    subjects = dreambooth(args.photos)
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(str(Path(folder) / "db"))
        result: dict[str, Any] = {
            "encoder": profile.encoder.label,
            "max_distance": profile.max_distance,
            "photos": sum(len(s.photos) for s in subjects),
            "subjects": len(subjects),
            "small": args.small,
            "recognition": recognition(bench, subjects, splits),
            "collages": collages(bench, subjects, splits, per_split),
            "lookalikes": lookalikes(bench, subjects, REFS, 1 if args.small else 5),
            "calibration": calibration(bench, subjects, splits),
            "growth": growth(bench, subjects, sizes),
            "camera_jpeg": camera_jpeg(
                bench, subjects[0].photos[0], Path(folder), 2 if args.small else 5
            ),
        }
    result["tradeoff"] = tradeoff(result["recognition"]["distances"])
    name = "quality-small" if args.small else "quality"
    if args.out is not None:
        plot(
            result["recognition"]["distances"],
            result["tradeoff"],
            profile.max_distance,
            args.out / f"{name}.png",
        )
    save(args.out, name, result, report(result))
    return result


if __name__ == "__main__":
    main()

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
- the same for RAP's reference rule (no threshold: always the nearest two);
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
import io
import os
import random
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import save, table

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

PROFILE = "offline"
KNOWN, STRANGERS = 20, 10
REFS = (1, 3)
GROWTH = (20, 50, 100, 200, 500)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.30, 1.01, 0.02))


def default_photos() -> Path:
    """``RAP_PHOTOS`` or ``../shared/photos`` beside the repository."""
    here = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("RAP_PHOTOS") or here.parent / "shared" / "photos")


@dataclass(frozen=True)
class Subject:
    """One DreamBooth subject: its folder name, its class and its photos."""

    name: str
    category: str
    photos: tuple[Path, ...]


def dreambooth(photos: Path) -> list[Subject]:
    """The subjects under ``photos/dreambooth`` with their classes (``prompts_and_classes.txt``)."""
    folder = photos / "dreambooth"
    classes: dict[str, str] = {}
    lines = (folder / "prompts_and_classes.txt").read_text().splitlines()
    start = lines.index("subject_name,class") + 1
    for line in lines[start:]:
        if not line.strip():
            break
        name, category = line.split(",", 1)
        classes[name.strip()] = category.strip()
    return [
        Subject(name, category, tuple(sorted(p for p in (folder / name).iterdir() if p.is_file())))
        for name, category in sorted(classes.items())
    ]


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

    def handed(self, image: Any, user: str, boxes: Sequence[Any] = ()) -> list[tuple[str, float]]:
        """What the retriever hands the LLM at the shipped defaults: ``(name, distance)``."""
        from llama_index_rap.retrieve import RAPQuery

        nodes = self.retriever.retrieve(RAPQuery("", image=image, boxes=boxes, user=user))
        return [(n.node.metadata["name"], n.node.metadata["distance"]) for n in nodes]


def split(subjects: list[Subject], seed: int) -> tuple[list[Subject], list[Subject]]:
    """20 known subjects and 10 strangers, shuffled by ``seed``."""
    order = subjects[:]
    random.Random(seed).shuffle(order)
    return order[:KNOWN], order[KNOWN : KNOWN + STRANGERS]


def references(known: list[Subject], refs: int, seed: int) -> dict[str, list[Path]]:
    """Each known subject's reference photos (``refs`` of them, chosen by ``seed``)."""
    rng = random.Random(seed * 101 + refs)
    return {s.name: rng.sample(list(s.photos), refs) for s in known}


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
            shipped, reference = Tally(), Tally()
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
                    "reference_rule": reference.figures(),
                    "misses_at_1": misses,
                }
            )
    return {"rows": rows, "distances": distances}


def grid(count: int) -> tuple[int, int]:
    """Columns and rows of a collage of ``count`` photos."""
    return {2: (2, 1), 3: (3, 1), 4: (2, 2)}[count]


def collage(paths: Sequence[Path], cell: int = 320) -> tuple[Any, list[tuple[int, int, int, int]]]:
    """The photos side by side on a grey canvas, each fitted into its cell; and their boxes."""
    from PIL import Image

    cols, rows = grid(len(paths))
    canvas = Image.new("RGB", (cols * cell, rows * cell), (128, 128, 128))
    boxes = []
    for i, path in enumerate(paths):
        photo = Image.open(path).convert("RGB")
        photo.thumbnail((cell, cell))
        x = (i % cols) * cell + (cell - photo.width) // 2
        y = (i // cols) * cell + (cell - photo.height) // 2
        canvas.paste(photo, (x, y))
        boxes.append((x, y, x + photo.width, y + photo.height))
    return canvas, boxes


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


def distractors(sources: Sequence[Path], count: int, seed: int = 7) -> list[bytes]:
    """``count`` JPEGs of other objects: random crops (half to all of each side) and flips."""
    from PIL import Image, ImageOps

    rng = random.Random(seed)
    images = [Image.open(p).convert("RGB") for p in sources]
    out = []
    for _ in range(count):
        image = rng.choice(images)
        w, h = image.size
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = image.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        buf = io.BytesIO()
        crop.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


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


def camera_jpegs(source: Path, folder: Path, count: int) -> list[Path]:
    """``count`` different 12-megapixel JPEGs made from one photo (enlarged, with grain)."""
    from PIL import Image

    base = np.asarray(
        Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC),
        dtype=np.int16,
    )
    paths = []
    for seed in range(count):
        grain = np.random.default_rng(seed).integers(-6, 7, base.shape, dtype=np.int16)
        path = folder / f"camera-{seed}.jpg"
        Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(path, quality=92)
        paths.append(path)
    return paths


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
    for path in db.rglob("*"):
        if path.is_file():
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


def plot(
    distances: dict[str, list[float]], curve: list[dict[str, float]], shipped: float, path: Path
) -> None:
    """Distance histograms and the threshold trade-off, the shipped threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    bins = np.linspace(0, 1.6, 41)
    for label, values in distances.items():
        left.hist(values, bins=bins, alpha=0.5, label=f"{label} ({len(values)})")
    left.set(
        xlabel="distance (squared L2 of unit vectors)",
        ylabel="photos",
        title="DreamBooth, MobileNetV2, one photo per concept",
    )
    ts = [c["threshold"] for c in curve]
    right.plot(ts, [c["true_matches_kept"] for c in curve], label="true matches kept")
    right.plot(ts, [c["strangers_through"] for c in curve], label="strangers let through")
    right.plot(
        ts, [c["wrong_concepts_through"] for c in curve], label="nearest wrong concept within"
    )
    right.set(xlabel="max_distance", ylabel="share", title="what a threshold keeps")
    for axis in (left, right):
        axis.axvline(shipped, color="k", linestyle="--", label=f"shipped {shipped}")
        axis.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def mean(rows: Sequence[dict[str, Any]], key: str, sub: str | None = None) -> float:
    """The mean of a figure over rows (``row[sub][key]`` when ``sub`` is given)."""
    return float(np.nanmean([(r[sub] if sub else r)[key] for r in rows]))


RATES = (
    "concept_precision",
    "concept_recall",
    "strangers_retrieving_nothing",
    "photos_with_a_wrong_concept",
)


CAMERA_BYTES = (
    "data_bytes_per_concept",
    "data_bytes_per_concept_in_one_commit",
    "budget_bytes_per_concept",
)


def f3(value: float) -> str:
    """Three decimals."""
    return f"{value:.3f}"


def recognition_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Per reference count and rule: ranking recall (mean, range over splits) and the rates."""
    out: list[list[Any]] = []
    for refs in REFS:
        mine = [r for r in rows if r["refs"] == refs]
        at_1 = [r["recall_at_1"] for r in mine]
        for rule, sub in (
            ("shipped defaults", "shipped"),
            ("nearest 2 (reference)", "reference_rule"),
        ):
            ranks = [f3(mean(mine, f"recall_at_{k}")) for k in (1, 2, 5)]
            rates = [f3(mean(mine, key, sub)) for key in RATES]
            span = f"{min(at_1):.3f}-{max(at_1):.3f}"
            out.append([refs, rule, len(mine), ranks[0], span, *ranks[1:], *rates])
    return out


def report(result: dict[str, Any]) -> str:
    """The Markdown tables."""
    rates = ["concept precision", "concept recall", "strangers retrieving nothing"]
    head = f"DreamBooth, {result['encoder']}, max_distance {result['max_distance']}"
    collage, cam = result["collages"], result["camera_jpeg"]
    picked = [
        c
        for c in result["tradeoff"]
        if round(c["threshold"] * 100) % 4 == 0 or c["threshold"] == result["max_distance"]
    ]
    return "\n\n".join(
        [
            f"Whole photos, one subject each ({head}):",
            table(
                [
                    *("photos per concept", "rule", "splits", "recall@1", "range", "recall@2"),
                    *("recall@5", *rates, "photos with a wrong concept"),
                ],
                recognition_rows(result["recognition"]["rows"]),
            ),
            "Collages of 2-4 photos of different subjects, boxes given (one photo per concept):",
            table(
                [
                    "photos",
                    "collages",
                    "concept precision",
                    "concept recall",
                    "with a wrong concept",
                ],
                [
                    [n, collage[n]["collages"]]
                    + [f3(collage[n][k]) for k in (*RATES[:2], RATES[3])]
                    for n in ("2", "3", "4", "all")
                ],
            ),
            "Growth (split 0, one photo per concept, distractor concepts added):",
            table(
                [
                    "concepts",
                    "queries",
                    "recall@1",
                    "recall@5",
                    "concept precision",
                    "concept recall",
                ],
                [
                    [g["concepts"], g["queries"], f3(g["recall_at_1"]), f3(g["recall_at_5"])]
                    + [f3(g["shipped"][k]) for k in RATES[:2]]
                    for g in result["growth"]
                ],
            ),
            "A 12-megapixel camera JPEG remembered (median of runs):",
            table(
                [
                    *("file bytes", "stored image is the file", "remember s", "encoder pass s"),
                    *("beyond the encoder s", "data bytes per concept"),
                    *("the same, several per commit", "budget (file + 1.2 x vector)"),
                    "commit records per remember",
                ],
                [
                    [f"{cam['file_bytes']:.0f}", bool(cam["stored_image_is_the_file"])]
                    + [f3(cam[k]) for k in ("remember_s", "encoder_pass_s", "beyond_encoder_s")]
                    + [f"{cam[k]:.0f}" for k in CAMERA_BYTES]
                    + [f"{cam['commit_bytes_per_remember']:.0f}"]
                ],
            ),
            "What a threshold keeps (one photo per concept, all splits; wrong concept within: "
            "the photo's nearest wrong concept is nearer than the threshold):",
            table(
                [
                    "max_distance",
                    "true matches kept",
                    "strangers let through",
                    "wrong concept within",
                ],
                [
                    [c["threshold"]]
                    + [f3(c[k]) for k in ("true_matches_kept", "strangers_through")]
                    + [f3(c["wrong_concepts_through"])]
                    for c in picked
                ],
            ),
        ]
    )


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

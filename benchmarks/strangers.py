"""The quality benchmark's stranger measurements: lookalikes and "not this one" photos, and
calibration from a user's own photos (see ``benchmarks/quality.py`` for the set-up)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.dreambooth import Subject, references, split

if TYPE_CHECKING:
    from benchmarks.quality import Bench


LOOKALIKE_CLASSES = ("dog", "cat", "stuffed animal", "sneaker", "backpack")
NEGATIVES = 5


def lookalikes(
    bench: Bench, subjects: list[Subject], refs_counts: Sequence[int], seeds: int
) -> list[dict[str, Any]]:
    """One concept of a class with lookalikes, before and after "not this one" photos."""
    classes = {c: [s for s in subjects if s.category == c] for c in LOOKALIKE_CLASSES}
    limit = bench.store.match_distance
    rows = []
    for refs in refs_counts:
        counts = {k: 0 for k in ("own", "kept", "kept_after", "others", "taken", "taken_after")}
        for seed in range(seeds):
            rng = random.Random(7000 + seed)
            for members in classes.values():
                for subject in members:
                    user = f"look-{seed}-{refs}-{subject.name}"
                    chosen = rng.sample(list(subject.photos), refs)
                    bench.remember(user, {subject.name: chosen}, {subject.name: subject.category})
                    others = [p for s in members if s is not subject for p in s.photos]
                    negatives = rng.sample(others, min(NEGATIVES, len(others)))
                    own = [p for p in subject.photos if p not in chosen]
                    rest = [p for p in others if p not in negatives]

                    def found(paths: list[Path], user: str = user) -> int:
                        if not paths:  # a class of two: all the other's photos are negatives
                            return 0
                        queries = np.stack([bench.vector(p) for p in paths])
                        hits = bench.store.search(queries, k=1, user=user, max_distance=limit)
                        return sum(bool(h) for h in hits)

                    counts["own"] += len(own)
                    counts["others"] += len(rest)
                    counts["kept"] += found(own)
                    counts["taken"] += found(rest)
                    bench.store.add_negative(subject.name, [str(p) for p in negatives], user=user)
                    counts["kept_after"] += found(own)
                    counts["taken_after"] += found(rest)
        rows.append(
            {
                "refs": refs,
                "negatives": NEGATIVES,
                "seeds": seeds,
                "own_photos": counts["own"],
                "lookalike_photos": counts["others"],
                "kept": counts["kept"] / counts["own"],
                "kept_with_negatives": counts["kept_after"] / counts["own"],
                "lookalikes_taken": counts["taken"] / counts["others"],
                "lookalikes_taken_with_negatives": counts["taken_after"] / counts["others"],
            }
        )
    return rows


def calibration(bench: Bench, subjects: list[Subject], splits: int) -> list[dict[str, Any]]:
    """``store.calibrate`` from three-photo concepts and five strangers' photos, scored on
    the rest of the split's photos."""
    rows = []
    for seed in range(splits):
        known, strangers = split(subjects, seed)
        user = f"split{seed}-refs3"  # remembered by recognition()
        chosen = references(known, 3, seed)
        shown = [s.photos[0] for s in strangers[:5]]
        result = bench.store.calibrate(
            user=user, impostors=[str(p) for p in shown], target=0.01, save=False
        )
        limit = result.max_distance
        queries = [(s.name, p) for s in known for p in s.photos if p not in chosen[s.name]]
        unseen = [p for s in strangers[5:] for p in s.photos]
        kept = silent = 0
        for truth, path in queries:
            hits = bench.store.search(bench.vector(path)[None], k=1, user=user, max_distance=limit)
            kept += bool(hits[0]) and hits[0][0].name == truth
        for path in unseen:
            hits = bench.store.search(bench.vector(path)[None], k=1, user=user, max_distance=limit)
            silent += not hits[0]
        rows.append(
            {
                "split": seed,
                "max_distance": limit,
                "calibration_kept": result.kept,
                "calibration_let_through": result.let_through,
                "true_matches": len(result.genuine),
                "strangers_matches": len(result.impostor),
                "kept": kept / len(queries),
                "unseen_strangers_retrieving_nothing": silent / len(unseen),
            }
        )
    return rows

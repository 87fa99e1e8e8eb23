"""The quality benchmark's Markdown tables and plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import table


def mean(rows: Sequence[dict[str, Any]], key: str, sub: str | None = None) -> float:
    """The mean of a figure over rows (``row[sub][key]`` when ``sub`` is given)."""
    return float(np.nanmean([(r[sub] if sub else r)[key] for r in rows]))


RATES = (
    "concept_precision",
    "concept_recall",
    "strangers_retrieving_nothing",
    "photos_with_a_wrong_concept",
)


LOOKALIKE_RATES = (
    "kept",
    "kept_with_negatives",
    "lookalikes_taken",
    "lookalikes_taken_with_negatives",
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
    for refs in sorted({r["refs"] for r in rows}):
        mine = [r for r in rows if r["refs"] == refs]
        at_1 = [r["recall_at_1"] for r in mine]
        for rule, sub in (
            ("shipped defaults", "shipped"),
            ("no margin", "no_margin"),
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
            "Lookalikes: one concept of a class with others in the set, before and after up to "
            f"{result['lookalikes'][0]['negatives']} photos of the others are marked 'not this "
            "one' (the rest of the others' photos are the queries):",
            table(
                [
                    *("photos per concept", "seeds", "own photos", "lookalike photos"),
                    *("kept", "kept with negatives", "lookalikes taken"),
                    "lookalikes taken with negatives",
                ],
                [
                    [r["refs"], r["seeds"], r["own_photos"], r["lookalike_photos"]]
                    + [f3(r[k]) for k in LOOKALIKE_RATES]
                    for r in result["lookalikes"]
                ],
            ),
            "Calibration (store.calibrate, 1% target) from each split's three-photo concepts "
            "and one photo of each of five strangers; scored on the split's other photos and "
            "the five strangers not shown:",
            table(
                [
                    *("split", "distance chosen", "kept (calibration)", "true matches"),
                    *("strangers' matches", "kept (held-out photos)"),
                    "unseen strangers retrieving nothing",
                ],
                [
                    [
                        *(c["split"], f3(c["max_distance"]), f3(c["calibration_kept"])),
                        *(c["true_matches"], c["strangers_matches"], f3(c["kept"])),
                        f3(c["unseen_strangers_retrieving_nothing"]),
                    ]
                    for c in result["calibration"]
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

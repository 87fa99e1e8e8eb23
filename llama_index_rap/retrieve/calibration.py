"""Choosing the match distance from a user's own photos.

The match distance decides whether a stranger's dog is called "Bo", and it belongs to the
encoder: no one number is right for every model. Calibration measures it where the user's
photos are: each photo of a concept with several is matched against the concept's other
photos (a true match, leave-one-out), and against the user's other concepts; "not this one"
photos against their concept, and any photos of strangers given against every concept (those
are matches that must not happen). The distance chosen lets at most the target share of the
latter through; what share of true matches it keeps is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llama_index_rap.errors import InvalidInputError


@dataclass(frozen=True)
class Calibration:
    """A match distance chosen for a target false-accept rate, and what it keeps.

    Args:
        max_distance: The distance chosen (squared L2 between unit vectors).
        target: The share of strangers' matches allowed through.
        kept: Share of true (leave-one-out) matches within it.
        let_through: Share of strangers' matches within it.
        genuine: Distances of the true matches.
        impostor: Distances of the matches that must not happen.
        concepts: Concepts with two or more photos (the true matches' source).
    """

    max_distance: float
    target: float
    kept: float
    let_through: float
    genuine: tuple[float, ...]
    impostor: tuple[float, ...]
    concepts: int

    def tradeoff(self, steps: int = 9) -> list[tuple[float, float, float]]:
        """``(distance, true matches kept, strangers let through)`` around the choice."""
        low = min(min(self.genuine), min(self.impostor))
        high = max(max(self.genuine), min(self.impostor) + 1e-6)
        grid = sorted({round(float(t), 3) for t in np.linspace(low, high, steps)})
        grid = sorted({*grid, round(self.max_distance, 3)})
        return [(t, share(self.genuine, t), share(self.impostor, t)) for t in grid]

    def summary(self) -> str:
        """One line: the distance, what it keeps and lets through, from how much."""
        return (
            f"match distance {self.max_distance:.3f}: keeps {self.kept:.0%} of "
            f"{len(self.genuine)} true matches (leave-one-out, {self.concepts} concepts with "
            f"several photos) and lets {self.let_through:.1%} of {len(self.impostor)} "
            f"strangers' matches through (target {self.target:.1%})"
        )


def from_vectors(
    own: Mapping[str, Sequence[np.ndarray]],
    negatives: Mapping[str, Sequence[np.ndarray]],
    strangers: Sequence[np.ndarray],
    target: float,
) -> Calibration:
    """Calibrate from unit vectors: each concept's photos, its negatives, strangers' photos.

    Args:
        own: Per concept, its photos' vectors.
        negatives: Per concept, its "not this one" photos' vectors.
        strangers: Photos of none of the concepts.
        target: Share of strangers' matches allowed through.
    """
    concepts = {c: np.asarray(v, np.float32) for c, v in own.items() if len(v)}

    def nearest(vectors: np.ndarray, concept: np.ndarray) -> list[float]:
        sims = np.asarray(vectors, np.float32) @ concept.T
        return [float(d) for d in np.maximum(0.0, 2.0 - 2.0 * sims.max(axis=1))]

    genuine: list[float] = []
    impostor: list[float] = []
    for cid, vectors in concepts.items():
        for i in range(len(vectors)) if len(vectors) > 1 else ():
            genuine += nearest(vectors[i : i + 1], np.delete(vectors, i, axis=0))
        for other, theirs in concepts.items():
            if other != cid:
                impostor += nearest(vectors, theirs)
        if len(negatives.get(cid, ())):
            impostor += nearest(np.asarray(negatives[cid]), vectors)
    if len(strangers) and concepts:
        impostor += nearest(np.asarray(strangers), np.concatenate(list(concepts.values())))
    several = sum(len(v) > 1 for v in concepts.values())
    return choose(genuine, impostor, target, several)


def share(distances: Sequence[float], threshold: float) -> float:
    """Share of ``distances`` at or below ``threshold``."""
    return float(np.mean(np.asarray(distances) <= threshold)) if len(distances) else 0.0


def choose(
    genuine: Sequence[float], impostor: Sequence[float], target: float, concepts: int
) -> Calibration:
    """The largest distance that lets at most ``target`` of ``impostor`` through.

    Raises:
        InvalidInputError: No true matches, no strangers' matches, or a target outside [0, 1).
    """
    if not 0.0 <= target < 1.0:
        raise InvalidInputError(f"the target false-accept rate must be in [0, 1), got {target}")
    if not genuine:
        raise InvalidInputError(
            "calibration needs a concept with two or more photos (its true matches): add "
            "photos with update(name, add_images=...) or 'rap update NAME --add PHOTO'"
        )
    if not impostor:
        raise InvalidInputError(
            "calibration needs matches that must not happen: a second concept, 'not this "
            "one' photos, or photos of strangers (impostors=..., --impostor PHOTO)"
        )
    ordered = np.sort(np.asarray(impostor, dtype=np.float64))
    allowed = math.floor(target * len(ordered))  # strangers' matches that may get through
    limit = ordered[allowed] if allowed < len(ordered) else ordered[-1] + 1e-3
    chosen = float(np.nextafter(limit, 0.0)) if allowed < len(ordered) else float(limit)
    chosen = max(0.0, math.floor(chosen * 10_000) / 10_000)
    return Calibration(
        max_distance=chosen,
        target=target,
        kept=share(genuine, chosen),
        let_through=share(impostor, chosen),
        genuine=tuple(float(g) for g in genuine),
        impostor=tuple(float(i) for i in impostor),
        concepts=concepts,
    )


def plot(calibration: Calibration, path: Path) -> Path:
    """A PNG of true matches kept against strangers let through, the choice marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0.0, max(max(calibration.genuine), max(calibration.impostor)), 200)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(grid, [share(calibration.genuine, t) * 100 for t in grid], label="true matches kept")
    ax.plot(
        grid,
        [share(calibration.impostor, t) * 100 for t in grid],
        label="strangers let through",
    )
    ax.axvline(calibration.max_distance, color="k", linestyle="--", linewidth=1)
    ax.annotate(
        f"{calibration.max_distance:.3f}: {calibration.kept:.0%} kept, "
        f"{calibration.let_through:.1%} through",
        (calibration.max_distance, 50),
        xytext=(6, 0),
        textcoords="offset points",
    )
    ax.set_xlabel("match distance (squared L2)")
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.set_title("What each match distance keeps and lets through")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path

"""Functions run in child processes by the concurrency tests (importable by spawn)."""

from __future__ import annotations

import os

from llama_index_rap.errors import ConceptExistsError
from llama_index_rap.store import ConceptStore
from tests.imagegen import photo


def remember_range(db: str, worker: int, count: int, options: dict[str, str] | None = None) -> int:
    """Remember ``count`` distinct concepts; return how many succeeded."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    store = ConceptStore(db, models="tiny", user="shared", storage_options=options)
    for i in range(count):
        store.remember(f"w{worker}-c{i}", photo(1000 * worker + i, (64, 48)), f"Concept {i}.")
    return count


def remember_same_name(db: str, worker: int) -> str:
    """Everyone tries to claim the same name with a different image."""
    store = ConceptStore(db, models="tiny", user="shared")
    try:
        store.remember("Contested", photo(5000 + worker, (64, 48)), f"Claimed by {worker}.")
        return "won"
    except ConceptExistsError:
        return "refused"


def remember_and_forget(db: str, worker: int, count: int) -> int:
    """Remember ``count`` concepts and forget every other one as it goes (worker 1 purges
    each, so readers run while purges remove old versions' files)."""
    store = ConceptStore(db, models="tiny", user="shared")
    for i in range(count):
        store.remember(f"rf{worker}-{i}", photo(7000 + 100 * worker + i, (64, 48)), "x")
        if i % 2:
            store.forget(f"rf{worker}-{i - 1}", purge=worker == 1)
    return count


def read_whole_concepts(db: str, seconds: float) -> list[int]:
    """Keep listing concepts while others write; return the image counts seen."""
    import time

    store = ConceptStore(db, models="tiny", user="shared")
    seen: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.extend(len(c.images) for c in store.list() if c.name.startswith("multi"))
    return seen


def remember_multi_image(db: str, count: int) -> int:
    """Remember concepts of three images each."""
    store = ConceptStore(db, models="tiny", user="shared")
    for i in range(count):
        images = [photo(8000 + 3 * i + j, (48, 48)) for j in range(3)]
        store.remember(f"multi{i}", images, "Three photos.")
    return count


def add_images(db: str, worker: int, calls: int) -> int:
    """Add one new image to the shared concept ``calls`` times."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    store = ConceptStore(db, models="tiny", user="shared")
    for i in range(calls):
        store.update("Shared", add_images=[photo(9000 + 10 * worker + i, (48, 48))])
    return calls

"""Functions run in child processes by the concurrency tests (importable by spawn)."""

from __future__ import annotations

import os

from llama_index_rap.errors import ConceptExistsError
from llama_index_rap.store import ConceptStore
from tests.imagegen import photo


def remember_range(db: str, worker: int, count: int) -> int:
    """Remember ``count`` distinct concepts; return how many succeeded."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    store = ConceptStore(db, models="tiny", user="shared")
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

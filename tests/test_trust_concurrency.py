"""Many writers and readers on one local store: nothing lost, nothing seen half-written."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from llama_index_rap.store import ConceptStore
from tests import workers

pytestmark = pytest.mark.slow


def test_eight_processes_times_a_hundred_remembers(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        done = pool.starmap(workers.remember_range, [(db, w, 100) for w in range(8)])
    assert done == [100] * 8
    names = {c.name for c in ConceptStore(db, user="shared").list()}
    assert names == {f"w{w}-c{i}" for w in range(8) for i in range(100)}


def test_remembers_and_forgets_at_once_while_readers_see_whole_concepts(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(5) as pool:
        readers = [pool.apply_async(workers.read_whole_concepts, (db, 25.0)) for _ in range(2)]
        writers = [pool.apply_async(workers.remember_and_forget, (db, w, 20)) for w in range(2)]
        multi = pool.apply_async(workers.remember_multi_image, (db, 15))
        assert [w.get(timeout=300) for w in writers] == [20, 20]
        assert multi.get(timeout=300) == 15
        seen = [n for r in readers for n in r.get(timeout=300)]
    assert seen and set(seen) == {3}  # a concept is seen with all its images or not at all
    names = {c.name for c in ConceptStore(db, user="shared").list()}
    kept = {f"rf{w}-{i}" for w in range(2) for i in range(1, 20, 2)}
    assert {n for n in names if n.startswith("rf")} == kept
    assert {n for n in names if n.startswith("multi")} == {f"multi{i}" for i in range(15)}

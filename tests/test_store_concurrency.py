from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from llama_index_rap.store import ConceptStore
from tests import workers

pytestmark = pytest.mark.slow


def test_concurrent_remembers_from_several_processes_lose_nothing(tmp_path: Path) -> None:
    db, procs, each = str(tmp_path / "db"), 4, 10
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs) as pool:
        done = pool.starmap(workers.remember_range, [(db, w, each) for w in range(procs)])
    assert done == [each] * procs
    names = {c.name for c in ConceptStore(db, user="shared").list()}
    assert names == {f"w{w}-c{i}" for w in range(procs) for i in range(each)}


def test_a_contested_name_is_won_once(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        outcomes = pool.starmap(workers.remember_same_name, [(db, w) for w in range(4)])
    assert sorted(outcomes) == ["refused"] * 3 + ["won"]
    concepts = ConceptStore(db, user="shared").list()
    assert [c.name for c in concepts] == ["Contested"]
    assert len(concepts[0].images) == 1

"""Many writers and readers on one local store: nothing lost, nothing seen half-written."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

from llama_index_rap.errors import ConceptNotFoundError
from llama_index_rap.store import ConceptStore
from tests import workers
from tests.imagegen import photo

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


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ConceptStore(db, models="tiny", user="shared").remember("Shared", photo(1), "Everyone's.")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        done = pool.starmap(workers.add_images, [(db, w, 3) for w in range(4)])
    assert done == [3] * 4
    shared = ConceptStore(db, user="shared").get("Shared")
    assert len(shared.images) == 1 + 4 * 3  # every update's image is there


def test_an_update_in_flight_cannot_undo_a_forget(tmp_path: Path) -> None:
    db = tmp_path / "db"
    writer = ConceptStore(db, models="tiny", user="alice")
    writer.remember("Bo", photo(1), "My dog.")
    encoding, forgotten = threading.Event(), threading.Event()
    embed = writer.embedding.embed_images

    def slow_embed(images: Any, *args: Any, **kwargs: Any) -> Any:
        encoding.set()
        assert forgotten.wait(60)  # the forget happens while this update encodes
        return embed(images, *args, **kwargs)

    object.__setattr__(writer.embedding, "embed_images", slow_embed)
    errors: list[BaseException] = []

    def update() -> None:
        try:
            writer.update("Bo", add_images=[photo(2)])
        except ConceptNotFoundError as e:
            errors.append(e)

    thread = threading.Thread(target=update)
    thread.start()
    assert encoding.wait(60)
    other = ConceptStore(db, models="tiny", user="alice")
    other.forget("Bo", purge=True)
    forgotten.set()
    thread.join(60)
    assert len(errors) == 1 and "no concept named 'Bo'" in str(errors[0])
    assert other.list() == []  # a forgotten concept stays forgotten

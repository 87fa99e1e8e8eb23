"""A bulk ingest killed with SIGKILL at random moments leaves every concept whole, and
running it again completes it with no duplicates."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llama_index_rap.store import ConceptStore
from tests.imagegen import photo, save

pytestmark = pytest.mark.slow

CONCEPTS = 60


def ingest_folder(root: Path) -> Path:
    for i in range(CONCEPTS):
        folder = root / f"concept{i:02d}"
        save(photo(3000 + 2 * i, (64, 48)), folder / "a.png")
        save(photo(3001 + 2 * i, (64, 48)), folder / "b.png")
        (folder / "description.txt").write_text(f"Concept number {i}.")
    return root


def ingest(db: Path, folder: Path) -> subprocess.Popen[bytes]:
    rap = [sys.executable, "-m", "llama_index_rap", "--db", str(db), "--models", "tiny"]
    return subprocess.Popen(
        [*rap, "remember", "--from-dir", str(folder), "--batch-size", "4"],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def check_whole(db: Path) -> int:
    concepts = ConceptStore(db).list()
    names = [c.name for c in concepts]
    assert len(names) == len(set(names))  # no duplicates
    assert all(len(c.images) == 2 for c in concepts)  # all its images or none
    return len(concepts)


def test_sigkill_during_bulk_ingest(tmp_path: Path) -> None:
    folder = ingest_folder(tmp_path / "in")
    db = tmp_path / "db"
    rng = random.Random(7)
    counts = []
    # first a kill at a random early moment (start-up, checking, first encodes) ...
    proc = ingest(db, folder)
    time.sleep(rng.uniform(1.0, 4.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    counts.append(check_whole(db))
    # ... then kills in the middle of the writing, once a random number of concepts is in.
    # The target leaves two batches (of 4) unwritten, and one store object polls every 10 ms:
    # a new store per poll took longer than the ingest needs for several batches.
    watcher = ConceptStore(db)
    for _ in range(3):
        target = min(CONCEPTS - 8, counts[-1] + rng.randint(4, 16))
        proc = ingest(db, folder)
        deadline = time.monotonic() + 300
        while watcher.count() < target and time.monotonic() < deadline:
            assert proc.poll() is None, "the ingest finished before it could be killed"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(check_whole(db))
    print("concepts after each kill:", counts)
    assert counts == sorted(counts)  # later runs only add
    assert 0 < counts[-1] < CONCEPTS  # the kills did land in the middle of the ingest
    final = ingest(db, folder)
    assert final.wait(timeout=600) == 0
    assert check_whole(db) == CONCEPTS
    again = ingest(db, folder)
    assert again.wait(timeout=600) == 0  # idempotent: nothing new, no error
    assert check_whole(db) == CONCEPTS


PURGE_CHILD = """
import sys, time
from llama_index_rap.store import ConceptStore
from llama_index_rap.store.table import ConceptTable

purge = ConceptTable.purge

def timed_purge(self):
    print("purging", flush=True)  # the parent kills this process from here on
    start = time.perf_counter()
    purge(self)
    print(time.perf_counter() - start, flush=True)

ConceptTable.purge = timed_purge
ConceptStore(sys.argv[1], models="tiny").forget("Secret", purge=True)
"""


def test_sigkill_at_random_moments_of_a_purge(tmp_path: Path) -> None:
    """A purge killed anywhere leaves the store whole, and `rap purge` finishes the erasure."""
    from click.testing import CliRunner

    from llama_index_rap.cli import main

    db = tmp_path / "db"
    store = ConceptStore(db, models="tiny")
    for i in range(30):  # one commit each: a purge compacts 30 fragments and drops versions
        store.remember(f"Keep{i}", photo(4000 + i, (64, 48)), f"Stays {i}.")
    secret = save(photo(7, (128, 96)), tmp_path / "secret.png")
    marker = secret.read_bytes()[100:164]

    def holders() -> list[Path]:
        return [p for p in db.rglob("*") if p.is_file() and marker in p.read_bytes()]

    def child(delay: float | None) -> tuple[int, str]:
        """Run ``forget Secret --purge``; SIGKILL it ``delay`` seconds into its purge."""
        proc = subprocess.Popen(
            [sys.executable, "-c", PURGE_CHILD, str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "purging"
        if delay is not None:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        out = proc.stdout.read()
        return proc.wait(timeout=300), out

    def before_a_purge(round_: int) -> None:  # the same work for every purge to undo
        store.remember("Secret", secret, "Remove me for real.")
        for i in range(30):  # a version and a fragment each
            store.update(f"Keep{i}", description=f"Stays {i}, round {round_}.")

    before_a_purge(0)
    code, out = child(None)  # how long such a purge takes here, not killed
    assert code == 0
    duration = float(out.split()[-1])
    rng = random.Random(11)
    killed = 0
    for round_ in range(1, 5):
        before_a_purge(round_)
        code, _ = child(rng.uniform(0.0, duration))
        killed += code == -9
        assert [c.name for c in store.list()].count("Secret") == 0  # the delete came first
        assert len(store.list()) == 30 and store.check() == []  # the rest whole
        rap = ["--db", str(db), "--models", "tiny"]
        assert CliRunner().invoke(main, [*rap, "purge"]).exit_code == 0
        assert holders() == []
        assert store.check() == [] and len(store.list(include_images=True)) == 30
    print(f"a purge takes {duration:.2f} s here; {killed} of 4 children killed inside it")
    assert killed >= 2  # most kills landed inside the purge

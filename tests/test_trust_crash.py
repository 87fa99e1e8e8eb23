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

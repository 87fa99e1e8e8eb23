"""A full disk: erasure still works (the store's reserve), a write fails in one line and
changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from llama_index_rap.cli import main
from llama_index_rap.errors import DiskFullError
from llama_index_rap.store import ConceptStore
from llama_index_rap.store.table import RESERVE
from tests.imagegen import photo, save
from tests.mounts import tmpfs

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB file system of its own."""
    with tmpfs(tmp_path / "small", "size=16m") as where:
        yield where


def fill(disk: Path, name: str) -> Path:
    """Write a file until the disk is full."""
    filler = disk / name
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_forget_and_purge_work_on_a_full_disk(small_disk: Path, tmp_path: Path) -> None:
    db = small_disk / "db"
    store = ConceptStore(db, models="tiny", user="alice")
    secret = save(photo(7, (256, 256)), tmp_path / "secret.png")
    store.remember("Secret", secret, "Remove me for real.")
    store.remember("Keep", photo(8), "Stays.")
    assert (db / RESERVE).is_file()  # set aside at the first write
    filler = fill(small_disk, "filler")

    with pytest.raises(DiskFullError, match="disk is full"):
        store.remember("New", photo(9), "No room.")
    assert [c.name for c in store.list()] == ["Keep", "Secret"]  # unchanged

    rap = ["--db", str(db), "--models", "tiny", "--user", "alice"]
    result = CliRunner().invoke(main, [*rap, "forget", "Secret", "--purge"])
    assert result.exit_code == 0, result.output
    marker = secret.read_bytes()[100:164]
    assert not any(marker in p.read_bytes() for p in db.rglob("*") if p.is_file())
    assert [c.name for c in store.list()] == ["Keep"]

    more = fill(small_disk, "more")  # the erasure freed some room: take it too
    full = CliRunner().invoke(main, [*rap, "remember", "New", str(secret), "-d", "x"])
    assert full.exit_code != 0 and len(full.output.strip().splitlines()) == 1
    assert "disk is full" in full.output and "Traceback" not in full.output
    filler.unlink()
    more.unlink()
    store.remember("New", photo(9), "Room again.")
    assert (db / RESERVE).is_file()  # taken again once there is room
    assert [c.name for c in store.list()] == ["Keep", "New"]

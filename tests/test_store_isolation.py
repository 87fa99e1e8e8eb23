from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llama_index_rap.errors import ConceptNotFoundError
from llama_index_rap.store import ConceptStore
from llama_index_rap.store.schema import eq
from tests.imagegen import photo, save

HOSTILE = [
    "' OR 1=1 --",
    "x' OR user_key != '",
    "\\' OR '1'='1",
    'Bo"; DROP TABLE concepts; --',
    "%",
    "_",
    "Bo\\",
    "Zoë 🐶 名前",
    "O'Brien",
    "user_key = user_key",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_users_and_names_never_widen_a_query(
    store: ConceptStore, tiny_embedding, hostile: str
) -> None:
    store.remember("Bo", photo(1), "Alice's dog.", user="alice")
    store.remember("Mam", photo(2), "Bob's mother.", user="bob")
    store.remember(hostile, photo(3), "A hostile name.", user=hostile)
    assert [c.name for c in store.list(user=hostile)] == [hostile]
    assert [c.name for c in store.list(user="alice")] == ["Bo"]
    everyone = tiny_embedding.embed_images([photo(1), photo(2), photo(3)])
    hits = store.search(everyone, k=10, user=hostile)
    assert {h.name for hs in hits for h in hs} == {hostile}
    with pytest.raises(ConceptNotFoundError):
        store.forget(hostile, user="alice")  # alice has no such concept
    with pytest.raises(ConceptNotFoundError):
        store.get("Bo", user=hostile)
    store.forget(hostile, user=hostile)
    assert store.list(user=hostile) == []
    assert [c.name for c in store.list(user="alice")] == ["Bo"]
    assert [c.name for c in store.list(user="bob")] == ["Mam"]


def test_same_name_for_two_users_are_two_concepts(store: ConceptStore, tiny_embedding) -> None:
    a = store.remember("Bo", photo(1), "Alice's Bo.", user="alice")
    b = store.remember("Bo", photo(2), "Bob's Bo.", user="bob")
    assert a.concept_id != b.concept_id
    store.forget("Bo", user="bob")
    assert store.get("Bo", user="alice").description == "Alice's Bo."
    hits = store.search(tiny_embedding.embed_images([photo(2)]), k=5, user="bob")
    assert hits == [[]]


def test_filters_only_ever_hold_hex_keys() -> None:
    assert eq("user_key", "0123abcd") == "user_key = '0123abcd'"
    for bad in ["' OR 1=1 --", "ABC", "", "12 3"]:
        with pytest.raises(ValueError):
            eq("user_key", bad)


def test_purge_erases_image_bytes_from_every_file(
    db_dir: Path, store: ConceptStore, tiny_embedding
) -> None:
    secret = photo(7)
    concept = store.remember("Secret", secret, "Remove me for real.")
    store.remember("Keep", photo(8), "Stays.")
    data = store.get("Secret").images[0].data
    assert data is not None
    marker = data[100:164]  # a run of the PNG's compressed bytes

    def holders() -> list[Path]:
        return [p for p in db_dir.rglob("*") if p.is_file() and marker in p.read_bytes()]

    store.forget("Secret")  # without purge the old version still holds the bytes
    assert holders(), "expected the bytes to survive in an old version before purging"
    store.restore(store.versions()[-2].version)
    assert store.get("Secret").concept_id == concept.concept_id
    store.forget("Secret", purge=True)
    assert holders() == []
    assert [c.name for c in store.list()] == ["Keep"]
    vector = tiny_embedding.embed_images([secret])[0].astype(np.float32).tobytes()
    assert not [p for p in db_dir.rglob("*") if p.is_file() and vector[:64] in p.read_bytes()]
    assert store.search(tiny_embedding.embed_images([secret]), k=3)[0][0].name == "Keep"


def test_an_interrupted_purge_is_finished_later(db_dir: Path, store: ConceptStore) -> None:
    store.remember("Secret", photo(7), "Remove me for real.")
    store.remember("Keep", photo(8), "Stays.")
    data = store.get("Secret").images[0].data
    assert data is not None
    marker = data[100:164]

    def holders() -> list[Path]:
        return [p for p in db_dir.rglob("*") if p.is_file() and marker in p.read_bytes()]

    # where a crash between forget's delete and its purge leaves the store
    store.forget("Secret")
    assert holders()
    with pytest.raises(ConceptNotFoundError, match="purged anyway"):
        store.forget("Secret", purge=True)  # re-running the purge of an absent name
    assert holders() == []
    store.remember("Secret", photo(7), "Again.")
    store.forget("Secret")
    assert holders()
    store.purge()  # or finish it for every deleted concept at once
    assert holders() == [] and [c.name for c in store.list()] == ["Keep"]


def test_rap_purge_finishes_an_interrupted_forget(tmp_path: Path) -> None:
    import subprocess
    import sys

    from click.testing import CliRunner

    from llama_index_rap.cli import main

    db = tmp_path / "db"
    image = save(photo(7), tmp_path / "secret.png")
    rap = ["--db", str(db), "--models", "tiny"]
    runner = CliRunner()
    assert runner.invoke(main, [*rap, "remember", "Secret", str(image), "-d", "x"]).exit_code == 0
    # a forget --purge killed after its delete: run it in a child and kill it at the purge
    code = (
        "import os, signal, sys\n"
        "from llama_index_rap.store import ConceptStore\n"
        "from llama_index_rap.store.table import ConceptTable\n"
        "ConceptTable.purge = lambda self: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"ConceptStore({str(db)!r}, models='tiny').forget('Secret', purge=True)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert killed.returncode == -9
    marker = image.read_bytes()[100:164]
    assert any(marker in p.read_bytes() for p in db.rglob("*") if p.is_file())
    done = runner.invoke(main, [*rap, "purge"])
    assert done.exit_code == 0 and "purged" in done.output
    assert not any(marker in p.read_bytes() for p in db.rglob("*") if p.is_file())


def test_a_read_that_began_before_a_purge_reads_the_newest_version(
    db_dir: Path, store: ConceptStore, tiny_embedding
) -> None:
    """A reader whose version's files a purge (in another process) removed reads again."""
    store.remember("Secret", photo(7), "Remove me for real.")
    store.remember("Keep", photo(8), "Stays.")
    lance = store.table.open()
    assert lance is not None
    lance.checkout(lance.version)  # this reader is at the version a purge will remove
    other = ConceptStore(db_dir, embedding=tiny_embedding, user=store.user)
    other.forget("Secret", purge=True)
    assert [c.name for c in store.list(include_images=True)] == ["Keep"]

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llama_index_rap.errors import ConceptExistsError, ConceptNotFoundError, InvalidInputError
from llama_index_rap.store import Concept, ConceptInput, ConceptStore
from tests.imagegen import photo, save


def remember_three(store: ConceptStore, photos: dict[str, Path]) -> None:
    store.remember("Bo", photos["bo"], "Bo is my Shiba Inu with a red collar.", category="dog")
    store.remember("Mam", photos["mam"], "Mam is my mother.", category="person")
    store.remember("Toy", photos["toy"], "Toy is a plush bear.", category="plush toy")


def test_remember_then_get_and_list(store: ConceptStore, photos: dict[str, Path]) -> None:
    concept = store.remember(
        "<Bo>", photos["bo"], "  Bo is my dog. ", category="Dog", aliases=["Bobo", "bo"]
    )
    assert isinstance(concept, Concept)
    assert concept.name == "Bo"
    assert concept.aliases == ("Bobo",)  # the name itself is not repeated as an alias
    assert concept.category == "dog"
    assert concept.description == "Bo is my dog."
    assert concept.user == "alice"
    got = store.get("bo")  # case-insensitive
    assert got.concept_id == concept.concept_id
    assert got.images[0].data == photos["bo"].read_bytes()  # the bytes as given
    assert got.images[0].open().size == (160, 120)
    listed = store.list()
    assert [c.name for c in listed] == ["Bo"]
    assert listed[0].images[0].data is None  # listing does not read image bytes


def test_same_image_and_resized_copy_find_their_concept_first(
    store: ConceptStore, photos: dict[str, Path], tiny_embedding
) -> None:
    remember_three(store, photos)
    original = Image.open(photos["mam"])
    resized = original.resize((original.width // 2 + 7, original.height // 2 + 5))
    queries = tiny_embedding.embed_images([original.convert("RGB"), resized.convert("RGB")])
    hits = store.search(queries, k=3)
    assert [h[0].name for h in hits] == ["Mam", "Mam"]
    assert hits[0][0].distance < 1e-4  # the very same image
    assert hits[1][0].distance < hits[1][1].distance  # the copy is nearer than any other
    assert all(len(h) == 3 for h in hits)
    assert all(a.distance <= b.distance for h in hits for a, b in itertools.pairwise(h))


def test_search_merges_images_of_one_concept(store: ConceptStore, tiny_embedding) -> None:
    store.remember("Bo", [photo(1), photo(4)], "Bo is my dog.")
    store.remember("Mam", photo(2), "Mam is my mother.")
    hits = store.search(tiny_embedding.embed_images([photo(4)]), k=5)[0]
    assert [h.name for h in hits] == ["Bo", "Mam"]  # Bo once, at its nearest image
    assert hits[0].distance < 1e-4


def test_search_empty_store_and_threshold(store: ConceptStore, tiny_embedding) -> None:
    query = tiny_embedding.embed_images([photo(9)])
    assert store.search(query) == [[]]
    store.remember("Bo", photo(1), "Bo is my dog.")
    assert store.search(query, max_distance=0.0) == [[]]
    assert len(store.search(query, max_distance=4.0)[0]) == 1
    with pytest.raises(InvalidInputError):
        store.search(query, k=0)


def test_next_query_sees_a_new_concept_without_restart(
    db_dir: Path, tiny_embedding, photos: dict[str, Path]
) -> None:
    reader = ConceptStore(db_dir, embedding=tiny_embedding, user="alice")
    writer = ConceptStore(db_dir, embedding=tiny_embedding, user="alice")
    writer.remember("Bo", photos["bo"], "Bo is my dog.")
    query = tiny_embedding.embed_images([photos["toy"]])
    assert [h.name for h in reader.search(query, k=5)[0]] == ["Bo"]
    writer.remember("Toy", photos["toy"], "A plush bear.")
    assert reader.search(query, k=5)[0][0].name == "Toy"


def test_existing_name_is_refused_unless_identical_or_replaced(
    store: ConceptStore, photos: dict[str, Path]
) -> None:
    first = store.remember("Bo", photos["bo"], "Bo is my dog.")
    version = store.version
    again = store.remember("BO", photos["bo"], "Bo is my dog.")  # identical: nothing written
    assert again.concept_id == first.concept_id
    assert store.version == version
    with pytest.raises(ConceptExistsError, match="replace=True"):
        store.remember("bo", photos["mam"], "Another Bo.")
    assert store.version == version
    replaced = store.remember("bo", photos["mam"], "Another Bo.", replace=True)
    assert replaced.concept_id == first.concept_id
    assert replaced.created_at == first.created_at
    assert replaced.description == "Another Bo."
    assert store.count() == 1
    assert store.get("Bo").images[0].data == photos["mam"].read_bytes()


def test_update_changes_only_what_is_given(store: ConceptStore, photos: dict[str, Path]) -> None:
    store.remember("Bo", photos["bo"], "Bo is my dog.", category="dog")
    store.remember("Mam", photos["mam"], "My mother.")
    updated = store.update("bo", description="Bo, my Shiba.", add_images=[photos["toy"]])
    assert updated.description == "Bo, my Shiba."
    assert updated.category == "dog"
    assert len(updated.images) == 2
    sha = updated.images[0].sha256
    trimmed = store.update("Bo", remove_images=[sha[:12]], new_name="Bobby")
    assert trimmed.name == "Bobby" and len(trimmed.images) == 1
    assert trimmed.concept_id == updated.concept_id
    with pytest.raises(ConceptExistsError):
        store.update("Bobby", new_name="MAM")
    with pytest.raises(ConceptNotFoundError):
        store.get("Bo")
    assert sorted(c.name for c in store.list()) == ["Bobby", "Mam"]


def test_forget_versions_and_restore(store: ConceptStore, photos: dict[str, Path]) -> None:
    remember_three(store, photos)
    before = store.version
    forgotten = store.forget("toy")
    assert forgotten.name == "Toy"
    assert [c.name for c in store.list()] == ["Bo", "Mam"]
    with pytest.raises(ConceptNotFoundError, match="no concept named 'Toy'"):
        store.forget("Toy")
    assert before in [v.version for v in store.versions()]
    store.restore(before)
    assert [c.name for c in store.list()] == ["Bo", "Mam", "Toy"]
    with pytest.raises(InvalidInputError, match="does not exist"):
        store.restore(10_000)


def test_remember_many_checks_everything_before_writing(
    store: ConceptStore, photos: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    items = [
        ConceptInput("Bo", photos["bo"], "My dog."),
        ConceptInput("Broken", bad, "Never stored."),
    ]
    with pytest.raises(InvalidInputError, match=r"bad\.png"):
        store.remember_many(items)
    assert store.list() == []
    assert store.version == 0
    with pytest.raises(InvalidInputError, match="twice"):
        store.remember_many([items[0], ConceptInput("bo", photos["mam"], "x")])
    done: list[int] = []
    concepts = store.remember_many(items[:1] * 1, progress=done.append)
    assert [c.name for c in concepts] == ["Bo"] and done == [1]


def test_pil_bytes_and_path_inputs_agree(store: ConceptStore, tmp_path: Path) -> None:
    img = photo(5)
    path = save(img, tmp_path / "five.png")
    a = store.remember("A", path, "From a path.")
    b = store.remember("B", path.read_bytes(), "From bytes.")
    c = store.remember("C", img, "From PIL.")
    assert a.images[0].sha256 == b.images[0].sha256
    hits = store.search(store.embedding.embed_images([img]), k=3)[0]
    assert sorted(h.name for h in hits) == ["A", "B", "C"]
    assert max(h.distance for h in hits) < 1e-4
    assert c.images[0].format == "png"


def test_store_without_embedding_lists_without_loading_a_model(
    db_dir: Path, tiny_embedding, photos: dict[str, Path]
) -> None:
    ConceptStore(db_dir, embedding=tiny_embedding).remember("Bo", photos["bo"], "My dog.")
    plain = ConceptStore(db_dir, models="default")  # default weights are not available here
    assert [c.name for c in plain.list()] == ["Bo"]
    assert plain.encoder_id == tiny_embedding.encoder_id
    assert plain.dim == tiny_embedding.dim
    assert np.isfinite(plain.search(np.ones((1, plain.dim or 0)))[0][0].distance)


def test_reads_see_every_write_and_a_snapshot_sees_one_version(
    store: ConceptStore, photos: dict[str, Path], tiny_embedding
) -> None:
    store.remember("Bo", photos["bo"], "Bo is my dog.", category="dog")
    other = ConceptStore(store.uri, embedding=tiny_embedding, user="alice")  # another writer
    assert [c.name for c in store.list()] == ["Bo"]
    bo_id = store.get("Bo").concept_id
    assert set(store.by_ids([bo_id])) == {bo_id}
    with store.snapshot() as version:
        assert [c.name for c in store.list()] == ["Bo"]
        other.remember("Mam", photos["mam"], "Mam is my mother.")
        assert store.version == version  # one view for the whole block
        assert [c.name for c in store.list()] == ["Bo"]
    # outside the block the cached reads are dropped at once: the new version is seen
    assert [c.name for c in store.list()] == ["Bo", "Mam"]
    other.update("Bo", description="Bo is my Shiba Inu.")
    assert store.by_ids([bo_id])[bo_id].description == "Bo is my Shiba Inu."
    other.forget("Mam")
    assert [c.name for c in store.list()] == ["Bo"]


def test_a_damaged_image_is_detected_where_images_are_read(
    store: ConceptStore, tmp_path: Path
) -> None:
    from llama_index_rap.errors import DamagedImageError

    bo = store.remember("Bo", photo(1), "My dog.")
    store.remember("Mam", photo(2), "My mother.")
    data = bytearray(store.get("Bo").images[0].data or b"")
    data[len(data) // 2] ^= 0x01  # one flipped bit in the stored bytes
    lance = store.table.open()
    assert lance is not None
    lance.update(where=f"row_id = '{bo.images[0].row_id}'", values={"image": bytes(data)})
    with pytest.raises(DamagedImageError, match=r"image 1 of concept 'Bo'.*damaged"):
        store.get("Bo")
    with pytest.raises(DamagedImageError):
        store.export(tmp_path / "out")
    assert not (tmp_path / "out").exists()  # checked before anything is written
    assert sorted(c.name for c in store.list()) == ["Bo", "Mam"]  # listing reads no images
    assert store.get("Mam").images[0].data  # the others are fine


def test_a_damaged_table_is_an_error_that_names_it_never_an_empty_store(tmp_path: Path) -> None:
    import shutil

    from click.testing import CliRunner

    from llama_index_rap.cli import main
    from llama_index_rap.errors import StoreError

    for damage in ("versions", "truncate"):
        db = tmp_path / damage
        store = ConceptStore(db, models="tiny", user="alice")
        for i in range(4):
            store.remember(f"C{i}", photo(i + 1), f"Concept {i}.")
        table = db / "concepts.lance"
        if damage == "versions":
            shutil.rmtree(table / "_versions")
        else:
            data = max((table / "data").iterdir(), key=lambda p: p.stat().st_size)
            data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
        again = ConceptStore(db, models="tiny", user="alice")
        with pytest.raises(StoreError, match="concepts"):
            again.list()
        with pytest.raises(StoreError):
            again.remember("New", photo(9), "Would start a new table.")
        result = CliRunner().invoke(main, ["--db", str(db), "--user", "alice", "list"])
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert "no concepts yet" not in result.output and str(db) in result.output


def test_rap_check_reports_every_damaged_row(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from llama_index_rap.cli import main

    db = tmp_path / "db"
    store = ConceptStore(db, models="tiny", user="alice")
    bo = store.remember("Bo", photo(1), "My dog.")
    store.remember("Mam", photo(2), "My mother.", user="bob")
    rap = ["--db", str(db), "--models", "tiny"]
    sound = CliRunner().invoke(main, [*rap, "check"])
    assert sound.exit_code == 0 and "no damage found" in sound.output
    data = bytearray(store.get("Bo").images[0].data or b"")
    data[-10] ^= 0xFF
    lance = store.table.open()
    assert lance is not None
    lance.update(where=f"row_id = '{bo.images[0].row_id}'", values={"image": bytes(data)})
    report = CliRunner().invoke(main, [*rap, "check"])
    assert report.exit_code != 0 and "Traceback" not in report.output
    assert "concept 'Bo', image 1" in report.output and "SHA-256" in report.output
    assert "'Mam'" not in report.output and "1 problem(s)" in report.output
    mam = store.get("Mam", user="bob").images[0].row_id
    lance.update(where=f"row_id = '{mam}'", values={"vector": [1000.0] * (store.dim or 0)})
    both = CliRunner().invoke(main, [*rap, "check"])
    assert "concept 'Mam', image 1" in both.output and "not a finite unit vector" in both.output
    assert "2 problem(s)" in both.output

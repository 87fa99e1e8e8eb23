from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llama_index_rap.errors import ConceptExistsError, ImageNotFoundError, ImportFormatError
from llama_index_rap.store import ConceptStore
from tests.imagegen import photo, save


def write_rap_repo(root: Path) -> Path:
    """A RAP reference layout: paths in database.json are relative to the repo root."""
    save(photo(1), root / "example_database" / "bo.png")
    save(photo(2), root / "example_database" / "mam" / "0.jpg")
    database = {
        "concept_dict": {
            "<bo>": {
                "name": "bo",
                "image": "example_database/bo.png",
                "info": "<bo> is a Shiba Inu with a red collar.",
                "category": "dog",
            },
            "<mam>": {
                "name": "mam",
                "image": ["./example_database/mam/0.jpg"],
                "info": "<mam> is the user's mother.",
                "category": "person",
            },
        },
        "path_to_concept": {
            "example_database/bo.png": "<bo>",
            "example_database/mam/0.jpg": "<mam>",
        },
    }
    path = root / "example_database" / "database.json"
    path.write_text(json.dumps(database))
    return path


def test_import_rap_reads_the_reference_format(store: ConceptStore, tmp_path: Path) -> None:
    database = write_rap_repo(tmp_path / "RAP-MLLM")
    concepts = store.import_rap(database)
    assert [c.name for c in concepts] == ["bo", "mam"]
    bo = store.get("<BO>")
    assert bo.category == "dog"
    assert bo.description.startswith("<bo> is a Shiba Inu")
    assert bo.images[0].data == (tmp_path / "RAP-MLLM/example_database/bo.png").read_bytes()
    hits = store.search(store.embedding.embed_images([photo(2)]), k=1)[0]
    assert hits[0].name == "mam"
    again = store.import_rap(database)  # idempotent: nothing new
    assert [c.concept_id for c in again] == [c.concept_id for c in concepts]


def test_import_rap_missing_image_names_the_concept_and_writes_nothing(
    store: ConceptStore, tmp_path: Path
) -> None:
    database = write_rap_repo(tmp_path / "repo")
    (tmp_path / "repo/example_database/mam/0.jpg").unlink()
    with pytest.raises(ImageNotFoundError, match=r"<mam>.*0\.jpg.*root"):
        store.import_rap(database)
    assert store.version == 0


def test_import_rap_with_explicit_root(store: ConceptStore, tmp_path: Path) -> None:
    database = write_rap_repo(tmp_path / "repo")
    moved = tmp_path / "elsewhere" / "database.json"
    moved.parent.mkdir()
    database.rename(moved)
    with pytest.raises(ImageNotFoundError):
        store.import_rap(moved)
    assert len(store.import_rap(moved, root=tmp_path / "repo")) == 2


def test_import_rap_refuses_other_json(store: ConceptStore, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"concepts": []}')
    with pytest.raises(ImportFormatError, match="concept_dict"):
        store.import_rap(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{not json")
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        store.import_rap(tmp_path / "y.json")


def test_export_then_import_round_trip(store: ConceptStore, tmp_path: Path, tiny_embedding) -> None:
    store.remember("Bo", [photo(1), photo(4)], "My dog.", category="dog", aliases=["Bobo"])
    store.remember("Mam", photo(2), "My mother.", category="person")
    store.remember("Other", photo(3), "Bob's.", user="bob")
    assert store.export(tmp_path / "out") == 2
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["encoder"] == tiny_embedding.encoder_id and manifest["concepts"] == 2
    fresh = ConceptStore(tmp_path / "db2", embedding=tiny_embedding, user="carol")
    imported = fresh.import_(tmp_path / "out")
    assert [(c.name, len(c.images), c.aliases) for c in imported] == [
        ("Bo", 2, ("Bobo",)),
        ("Mam", 1, ()),
    ]
    original = store.search(tiny_embedding.embed_images([photo(4)]), k=2)[0]
    copied = fresh.search(tiny_embedding.embed_images([photo(4)]), k=2)[0]
    assert [h.name for h in original] == [h.name for h in copied]
    assert abs(original[0].distance - copied[0].distance) < 1e-6
    fresh.remember("Bo", photo(9), "A different Bo.", replace=True)
    with pytest.raises(ConceptExistsError):
        fresh.import_(tmp_path / "out")
    fresh.import_(tmp_path / "out", on_conflict="replace")
    assert fresh.get("Bo").description == "My dog."


def test_import_refuses_a_folder_that_is_not_an_export(store: ConceptStore, tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="does not exist"):
        store.import_(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(ImportFormatError, match="not a llama-index-rap export"):
        store.import_(tmp_path)


def exported(store: ConceptStore, folder: Path, count: int = 3) -> Path:
    for i in range(count):
        store.remember(f"C{i}", photo(i + 1), f"Concept {i}.")
    store.export(folder)
    return folder


def fresh_store(tmp_path: Path, tiny_embedding: Any) -> ConceptStore:
    return ConceptStore(tmp_path / "fresh", embedding=tiny_embedding, user="carol")


@pytest.mark.parametrize(
    ("poison", "words"),
    [
        (lambda v: v * 1000, "length 1000"),
        (lambda v: np.full_like(v, np.inf), "inf or NaN"),
        (lambda v: np.full_like(v, np.nan), "inf or NaN"),
    ],
    ids=["x1000", "inf", "nan"],
)
def test_import_refuses_poisoned_vectors_before_writing_anything(
    store: ConceptStore, tmp_path: Path, tiny_embedding: Any, poison: Any, words: str
) -> None:
    folder = exported(store, tmp_path / "out")
    matrix = np.load(folder / "vectors.npy")
    matrix[-1] = poison(matrix[-1])  # the last concept's: the first ones pass the checks
    np.save(folder / "vectors.npy", matrix)
    fresh = fresh_store(tmp_path, tiny_embedding)
    with pytest.raises(ImportFormatError, match=words):
        fresh.import_(folder)
    assert fresh.count() == 0 and fresh.version == 0  # nothing written, not even the first


def test_remember_many_checks_given_vectors(store: ConceptStore) -> None:
    from llama_index_rap.errors import InvalidInputError
    from llama_index_rap.store import ConceptInput

    unit = store.embedding.embed_images([photo(1)])[0]
    items = [ConceptInput("Bo", photo(1), "My dog.")]
    inf = np.full_like(unit, np.inf)
    for bad, words in ((unit * 0, "length"), (unit[:5], "dimensions"), (inf, "inf or NaN")):
        with pytest.raises(InvalidInputError, match=words):
            store.remember_many(items, vectors=[[bad]])
    assert store.count() == 0
    store.remember_many(items, vectors=[[unit * 1000]])  # a caller's vector is scaled to unit
    assert store.search(unit[None], k=1)[0][0].distance < 1e-6
    other = store.embedding.embed_images([photo(2)])[0]
    assert store.search(other[None], k=1)[0][0].distance > 1e-3  # not first for everything


def test_import_reads_only_regular_files_inside_the_export(
    store: ConceptStore, tmp_path: Path, tiny_embedding: Any
) -> None:
    folder = exported(store, tmp_path / "out", count=1)
    outside = save(photo(7), tmp_path / "someone-elses.png")
    os.mkfifo(tmp_path / "pipe")
    line = json.loads((folder / "concepts.jsonl").read_text())
    (folder / "images" / "link.png").symlink_to(outside)
    fresh = fresh_store(tmp_path, tiny_embedding)
    for name in (str(outside), "../someone-elses.png", "images/link.png", "/dev/zero", "../pipe"):
        line["images"][0]["file"] = name
        (folder / "concepts.jsonl").write_text(json.dumps(line) + "\n")
        with pytest.raises(ImportFormatError, match="inside the export folder") as info:
            fresh.import_(folder)
        assert "shadow" not in str(info.value)
    assert fresh.count() == 0

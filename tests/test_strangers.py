"""Saying nothing about strangers: the match distance that belongs to the store, calibration,
the per-region margin, "not this one" photos and the evidence each concept carries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from llama_index_rap.cli import main
from llama_index_rap.errors import ConceptNotFoundError, InvalidInputError
from llama_index_rap.retrieve import RAPRetriever
from llama_index_rap.retrieve.calibration import choose
from llama_index_rap.store import ConceptStore
from llama_index_rap.store.search import NEGATIVE_RATIO
from tests.imagegen import photo, save


def crops(*seeds: int) -> list[tuple[None, Image.Image]]:
    """Whole-image regions of these pictures."""
    return [(None, photo(s)) for s in seeds]


def test_the_margin_keeps_a_much_farther_concept_out_of_a_region(store: ConceptStore) -> None:
    store.remember("Bo", photo(1), "My dog.")
    store.remember("Mam", photo(2), "My mother.")
    query = store.embedding.embed_images([photo(1)])
    (bo, mam) = store.search(query, k=2)[0]
    assert bo.name == "Bo" and mam.distance > bo.distance + 0.05  # Mam is much farther
    loose = RAPRetriever(store, detector=None, max_distance=1.0, margin=None)
    assert {n.node.metadata["name"] for n in loose.match("", crops(1)).nodes} == {"Bo", "Mam"}
    ruled = RAPRetriever(store, detector=None, max_distance=1.0)  # the default margin
    assert [n.node.metadata["name"] for n in ruled.match("", crops(1)).nodes] == ["Bo"]
    wide = RAPRetriever(store, detector=None, max_distance=1.0, margin=mam.distance)
    assert len(wide.match("", crops(1)).nodes) == 2  # within the margin: rides along


def test_a_not_this_one_photo_keeps_a_lookalike_from_being_taken(
    store: ConceptStore, tiny_embedding, db_dir: Path
) -> None:
    store.remember("Bo", [photo(1)], "My dog.", category="dog")
    store.remember("Mam", photo(2), "My mother.")
    retriever = RAPRetriever(store, detector=None, max_distance=1.0, margin=None)
    lookalike = photo(3)

    def names(picture: Image.Image) -> list[str]:
        return [n.node.metadata["name"] for n in retriever.match("", [(None, picture)]).nodes]

    assert "Bo" in names(lookalike)  # at this loose distance the lookalike is taken for Bo
    bo = store.add_negative("Bo", lookalike)
    assert len(bo.images) == 1 and len(bo.negatives) == 1
    assert "Bo" not in names(lookalike)  # nearer to "not Bo" than 0.8 x its distance to Bo
    node = retriever.match("", crops(1)).nodes[0]  # Bo himself is still found, with evidence
    meta = node.node.metadata
    assert meta["name"] == "Bo" and meta["negative_distance"] > 0
    assert "nearest 'not this one' photo" in meta["evidence"] and meta["max_distance"] == 1.0
    hit = store.search(store.embedding.embed_images([photo(1)]), k=1)[0][0]
    assert hit.negative_distance is not None and hit.negative_distance >= NEGATIVE_RATIO * 0
    # negatives are the user's own: another user's Bo is untouched
    store.remember("Bo", photo(1), "Bob's dog.", user="bob")
    bobs = RAPRetriever(store, user="bob", detector=None, max_distance=1.0, margin=None)
    assert [n.node.metadata["name"] for n in bobs.match("", [(None, lookalike)]).nodes] == ["Bo"]
    # a negative that is one of the concept's own photos is refused, nothing written
    version = store.version
    with pytest.raises(InvalidInputError, match="also given as one that is not"):
        store.add_negative("Bo", photo(1))
    with pytest.raises(ConceptNotFoundError):
        store.add_negative("Nobody", lookalike)
    assert store.version == version
    # kept through an update and a rename, exported and imported, listed
    renamed = store.update("Bo", new_name="Bobby", add_images=[photo(11)])
    assert len(renamed.images) == 2 and len(renamed.negatives) == 1
    assert "Bobby" not in names(lookalike)
    store.export(db_dir.parent / "out")
    other = ConceptStore(db_dir.parent / "db2", embedding=tiny_embedding, user="carol")
    imported = {c.name: c for c in other.import_(db_dir.parent / "out")}
    assert len(imported["Bobby"].negatives) == 1
    assert imported["Bobby"].negatives[0].sha256 == renamed.negatives[0].sha256
    assert store.check() == []
    # dropped by its digest, and erased with the concept
    sha = renamed.negatives[0].sha256
    assert store.update("Bobby", remove_images=[sha[:12]]).negatives == ()
    store.add_negative("Bobby", lookalike)
    data = store.get("Bobby").negatives[0].data
    assert data is not None
    store.forget("Bobby", purge=True)
    marker = data[100:164]
    assert not any(marker in p.read_bytes() for p in db_dir.rglob("*") if p.is_file())


def test_calibration_chooses_records_and_is_used(store: ConceptStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="two or more photos"):
        store.remember("Solo", photo(5), "One photo.")
        store.calibrate()
    store.remember("Bo", [photo(1), photo(1).rotate(8)], "My dog.")
    store.remember("Mam", [photo(2), photo(2).rotate(8)], "My mother.")
    assert store.match_distance == 0.02  # the tiny profile's, before any calibration
    report = store.calibrate(impostors=[photo(7), photo(8)], target=0.0)
    assert report.let_through == 0.0 and report.max_distance < min(report.impostor)
    assert report.kept == np.mean(np.asarray(report.genuine) <= report.max_distance)
    assert store.match_distance == report.max_distance  # recorded in the table
    again = ConceptStore(store.uri, embedding=store.embedding, user="alice")
    assert again.match_distance == report.max_distance  # by any store object
    assert RAPRetriever(again, detector=None).max_distance == report.max_distance
    assert RAPRetriever(again, detector=None, max_distance=0.3).max_distance == 0.3
    dry = store.calibrate(target=0.5, save=False)
    assert store.match_distance == report.max_distance and dry.target == 0.5
    rows = report.tradeoff()
    assert any(abs(d - report.max_distance) < 1e-3 for d, _, _ in rows)
    assert [k for _, k, _ in rows] == sorted(k for _, k, _ in rows)  # more kept as it grows


def test_choose_lets_at_most_the_target_through() -> None:
    impostor = [0.2 + 0.01 * i for i in range(100)]
    genuine = [0.05, 0.1, 0.15, 0.25, 0.5]
    for target in (0.0, 0.01, 0.05, 0.1):
        chosen = choose(genuine, impostor, target, concepts=2)
        assert chosen.let_through <= target and chosen.max_distance >= 0
        assert np.mean(np.asarray(impostor) <= chosen.max_distance + 0.0101) > target  # tight
    assert choose(genuine, impostor, 0.0, 2).kept == 0.6
    with pytest.raises(InvalidInputError, match="must not happen"):
        choose(genuine, [], 0.01, 2)
    with pytest.raises(InvalidInputError):
        choose(genuine, impostor, 1.0, 2)


def test_rap_not_and_rap_calibrate(tmp_path: Path) -> None:
    runner = CliRunner()
    rap = ["--db", str(tmp_path / "db"), "--models", "tiny"]
    bo = [save(photo(1), tmp_path / "bo1.png"), save(photo(1).rotate(8), tmp_path / "bo2.png")]
    mam = [save(photo(2), tmp_path / "m1.png"), save(photo(2).rotate(8), tmp_path / "m2.png")]
    stranger = save(photo(9), tmp_path / "stranger.png")
    for name, files in (("Bo", bo), ("Mam", mam)):
        made = runner.invoke(main, [*rap, "remember", name, *map(str, files), "-d", "x"])
        assert made.exit_code == 0, made.output
    noted = runner.invoke(main, [*rap, "not", "Bo", str(stranger)])
    assert noted.exit_code == 0 and "noted: 1 photo not Bo" in noted.output
    assert "1 'not this one'" in runner.invoke(main, [*rap, "list"]).output
    missing = runner.invoke(main, [*rap, "not", "Nobody", str(stranger)])
    assert missing.exit_code != 0 and len(missing.output.strip().splitlines()) == 1
    plot = tmp_path / "tradeoff.png"
    dry = runner.invoke(main, [*rap, "calibrate", "--dry-run", "--impostor", str(stranger)])
    assert dry.exit_code == 0 and "not recorded" in dry.output
    done = runner.invoke(
        main, [*rap, "calibrate", "--impostor", str(stranger), "--plot", str(plot)]
    )
    assert done.exit_code == 0, done.output
    assert "match distance" in done.output and "<- chosen" in done.output
    assert Image.open(plot).size[0] > 100
    chosen = float(done.output.split("match distance ")[1].split(":")[0])
    found = json.loads(runner.invoke(main, [*rap, "retrieve", str(bo[0]), "--json"]).stdout)
    assert found["concepts"][0]["max_distance"] == pytest.approx(chosen, abs=1e-3)

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from llama_index_rap.cli import main
from llama_index_rap.detect import Box
from llama_index_rap.retrieve.picture import annotate
from llama_index_rap.retrieve.retriever import CropResult, RetrievalReport
from llama_index_rap.store.schema import SearchHit
from tests.imagegen import photo, save
from tests.scenes import scene

BO_BOX = (20, 30, 170, 140)


@pytest.fixture
def rap(tmp_path: Path):
    runner = CliRunner()
    db = str(tmp_path / "db")

    def invoke(*args: str):
        return runner.invoke(main, ["--db", db, "--user", "alice", "--models", "tiny", *args])

    return invoke


def test_retrieve_prints_json_and_writes_the_picture(rap, tmp_path: Path) -> None:
    assert (
        rap("remember", "Bo", str(save(photo(1), tmp_path / "bo.png")), "-d", "Dog.").exit_code == 0
    )
    assert (
        rap("remember", "Mam", str(save(photo(2), tmp_path / "m.png")), "-d", "Mum.").exit_code == 0
    )
    query = save(scene([(photo(1), BO_BOX)]), tmp_path / "scene.png")
    out = tmp_path / "shown.png"
    result = rap(
        "retrieve",
        str(query),
        "--question",
        "and <mam>?",
        "--box",
        "20,30,170,140",
        "--box",
        "300,200,400,300",
        "--no-detector",
        "--max-distance",
        "0.02",
        "--json",
        "--show",
        str(out),
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[: result.output.rindex("}") + 1])
    assert [(c["name"], c["reason"]) for c in data["concepts"]] == [
        ("Mam", "name"),
        ("Bo", "box"),
    ]
    assert data["concepts"][1]["box"] == list(BO_BOX)
    assert set(data["timings"]) >= {"encode", "search", "total"}
    drawn = np.asarray(Image.open(out).convert("RGB"), dtype=int)
    original = np.asarray(Image.open(query).convert("RGB"), dtype=int)
    changed = np.abs(drawn - original).sum(axis=2) > 0
    assert changed[30, 20:170].any() and changed[200:300, 300].any()  # both frames drawn
    assert not changed[200:300, 200:280].any()  # untouched away from the boxes and labels
    plain = rap("retrieve", str(query), "--box", "20,30,170,140", "--max-distance", "0.02")
    assert "Bo: found in a box you gave at [20, 30, 170, 140]: distance" in plain.output
    assert "<= 0.020 (the match distance)" in plain.output
    whole = rap("retrieve", str(query), "--no-detector", "--max-distance", "0.02")
    assert "no known concept in this image" in whole.output  # Bo is too small in the scene


def test_retrieve_errors_are_one_line(rap, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    result = rap("retrieve", str(bad), "--no-detector")
    assert result.exit_code != 0 and "not an image" in result.output
    result = rap("retrieve", str(bad), "--box", "1,2,3")
    assert result.exit_code != 0 and "x0,y0,x1,y1" in result.output


def test_annotate_labels_matches_and_dims_unknowns() -> None:
    from llama_index.core.schema import ImageNode, NodeWithScore

    image = Image.new("RGB", (300, 200), (255, 255, 255))
    meta = {"concept_id": "c1", "crop_index": 0}
    node = NodeWithScore(node=ImageNode(text="x", metadata=meta), score=0.9)
    report = RetrievalReport(
        nodes=[node],
        crops=[
            CropResult(Box(10, 10, 100, 100, label="dog"), [SearchHit(0, "c1", "Bo", "r", 0.01)]),
            CropResult(Box(150, 50, 250, 150, label="cat"), []),
            CropResult(None, []),
        ],
    )
    out = np.asarray(annotate(image, report, note="random weights"), dtype=int)
    matched = out[10, 40]  # on the top edge of the matched box
    unknown = out[100, 150]  # on the left edge of the unknown box
    assert tuple(matched) != (255, 255, 255) and tuple(unknown) != (255, 255, 255)
    assert matched.std() > unknown.std()  # colour for a match, grey for an unknown
    assert (out[180:, :] != 255).any()  # the note is written at the bottom


def test_each_region_shows_what_retrieval_took_from_it_and_labels_never_overlap() -> None:
    from llama_index.core.schema import ImageNode, NodeWithScore

    image = Image.new("RGB", (300, 200), (255, 255, 255))
    bo = NodeWithScore(
        node=ImageNode(text="x", metadata={"concept_id": "bo", "crop_index": 2}), score=0.9
    )
    mam = NodeWithScore(
        node=ImageNode(text="x", metadata={"concept_id": "mam", "crop_index": 1}), score=0.9
    )
    near_bo, near_mam = SearchHit(0, "bo", "Bo", "r1", 0.02), SearchHit(0, "mam", "Mam", "r2", 0.3)

    def drawn(crops: list[CropResult], nodes: list[NodeWithScore]) -> np.ndarray:
        return np.asarray(annotate(image, RetrievalReport(nodes=nodes, crops=crops)), dtype=int)

    def near(pixels: np.ndarray, colour: tuple[int, int, int]) -> bool:
        return bool((np.abs(pixels - np.array(colour)).sum(-1) < 30).any())

    red, green = (230, 25, 75), (60, 180, 75)  # the first and second concept's colours
    # Mam is the corner box's nearest hit, but retrieval took Bo from the whole image: the
    # corner box is "unknown" (grey), nothing there is labelled Mam, the corner says Bo
    corner = CropResult(Box(0, 0, 120, 120, label="dog"), [SearchHit(0, "mam", "Mam", "r", 0.035)])
    out = drawn([corner, CropResult(None, []), CropResult(None, [near_bo])], [bo])
    assert (out[:60, :200].sum(-1) < 200).any()  # the whole image's Bo, below the box label
    assert not near(out, red) and not near(out, green)  # no coloured frame: box is unknown
    # two boxes from the same corner, each with its own concept: both labels visible
    a = CropResult(Box(10, 10, 100, 100, label="dog"), [near_bo])
    b = CropResult(Box(10, 10, 200, 150, label="person"), [near_mam])
    bo.node.metadata["crop_index"] = 0
    out = drawn([a, b], [bo, mam])
    label_rows = out[8:60, 12:40]
    assert near(label_rows, red) and near(label_rows, green)  # one under the other


def test_top_k_zero_is_refused(rap, tmp_path: Path) -> None:
    image = save(photo(1), tmp_path / "bo.png")
    result = rap("retrieve", str(image), "--top-k", "0")
    assert result.exit_code == 2 and "--top-k" in result.output and "Traceback" not in result.output


def test_at_the_tiny_profiles_defaults_a_never_seen_picture_retrieves_nothing(
    rap, tmp_path: Path
) -> None:
    from llama_index_rap.models.specs import get_profile

    assert get_profile("tiny").max_distance == 0.02  # its own, not the ViT-L-14-336's 0.8
    for i, name in ((1, "Bo"), (2, "Mam")):
        made = rap("remember", name, str(save(photo(i), tmp_path / f"{name}.png")), "-d", "x")
        assert made.exit_code == 0
    grey = save(Image.new("RGB", (200, 150), (128, 128, 128)), tmp_path / "grey.png")
    never = save(photo(42), tmp_path / "never-seen.png")
    for picture in (grey, never):
        found = json.loads(rap("retrieve", str(picture), "--json").stdout)  # CLI defaults
        assert found["concepts"] == [], picture.name
    again = json.loads(rap("retrieve", str(tmp_path / "Bo.png"), "--no-detector", "--json").stdout)
    assert [c["name"] for c in again["concepts"]] == ["Bo"]  # and the same picture still does

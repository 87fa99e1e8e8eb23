from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from llama_index_rap.cli import main
from llama_index_rap.demo import photos
from tests.imagegen import photo, save
from tests.scenes import scene


@pytest.fixture
def rap(tmp_path: Path):
    runner = CliRunner()
    db = str(tmp_path / "db")

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, ["--db", db, "--user", "alice", *args], input=input)

    bo = save(photo(1), tmp_path / "bo.png")
    assert invoke("--models", "tiny", "remember", "Bo", str(bo), "-d", "My dog.").exit_code == 0
    return invoke


def scene_file(tmp_path: Path) -> str:
    return str(save(scene([(photo(1), (10, 10, 470, 350))]), tmp_path / "scene.png"))


def test_ask_json_and_stream(rap, tmp_path: Path) -> None:
    image = scene_file(tmp_path)
    result = rap(
        "ask",
        image,
        "What is <bo> doing?",
        "--models",
        "tiny",
        "--no-detector",
        "--max-distance",
        "0.05",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["concepts"] == ["Bo"] and data["random_weights"] is True
    assert data["answer"] and "Name: <Bo>, Info: My dog." in data["prompt"]
    assert "generate" in data["timings"]
    streamed = rap("--models", "tiny", "ask", image, "Who?", "--stream", "--no-detector")
    assert streamed.exit_code == 0, streamed.output
    assert "random weights" in streamed.output


def test_caption_and_recognize(rap, tmp_path: Path) -> None:
    image = scene_file(tmp_path)
    caption = rap("caption", image, "--models", "tiny", "--no-detector", "--json")
    assert caption.exit_code == 0, caption.output
    assert (
        "Write a short caption"
        in json.loads(caption.output[: caption.output.rindex("}") + 1])["prompt"]
    )
    found = rap(
        "recognize",
        image,
        "bo",
        "--models",
        "tiny",
        "--no-detector",
        "--max-distance",
        "0.05",
        "--json",
    )
    assert found.exit_code == 0, found.output
    data = json.loads(found.stdout)
    assert data["recognized"] in ("yes", "no", "unclear")
    assert data["evidence"]["found_in_image"] is True
    unknown = rap("recognize", image, "Nobody", "--models", "tiny", "--no-detector")
    assert unknown.exit_code != 0 and "no concept named 'Nobody'" in unknown.output


def test_chat_takes_turns_from_stdin(rap, tmp_path: Path) -> None:
    result = rap(
        "chat",
        scene_file(tmp_path),
        "--models",
        "tiny",
        "--no-detector",
        "--json",
        input="Hello\nIs Bo here?\n\n",
    )
    assert result.exit_code == 0, result.output
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["you"] for t in turns] == ["Hello", "Is Bo here?"]
    assert turns[1]["concepts"] == ["Bo"]


def test_demo_finds_real_things_in_real_photos_offline(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["--models", "offline", "demo", "--out", str(out), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # with --json, stdout is only the JSON
    assert "random weights" in result.stderr and "prompt (caption of the scene)" in result.stderr
    assert summary["random_vlm"] and not summary["random_retrieval"]
    scenes = summary["scenes"]
    assert [name for name, _ in scenes["motorbike"]["found"]] == ["Moto"]
    assert [name for name, _ in scenes["chelsea-at-coffee"]["found"]] == ["Chelsea"]
    assert scenes["rocket"]["found"] == []
    assert scenes["rocket"]["nearest"][0][1] > summary["max_distance"]  # the reason, shown
    scene, box = photos.chelsea_scene()
    drawn = np.asarray(Image.open(out / "chelsea-at-coffee.png").convert("RGB"), dtype=int)
    x0, y0, _, y1 = box
    frame = (np.abs(drawn - np.asarray(scene, dtype=int)).sum(axis=2) > 0)[y0 + 30 : y1 - 30, x0]
    assert frame.all()  # her box is framed

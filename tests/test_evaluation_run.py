from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from llama_index_rap.cli import main
from llama_index_rap.errors import ImportFormatError
from llama_index_rap.evaluation.datasets import read_image_concepts, read_qa, read_recognition
from tests.imagegen import photo, save
from tests.scenes import scene

BOXES = [(20, 30, 170, 140), (250, 200, 430, 340)]


def make_dataset(root: Path, concepts: int = 30, strangers: bool = False) -> tuple[Path, Path]:
    """A RAP database.json of ``concepts`` photos and a JSONL of scenes pasting some of them
    at known boxes; with ``strangers``, three more scenes hold only people not in the
    database."""
    entries = {}
    for i in range(concepts):
        save(photo(100 + i), root / "db" / f"c{i}.png")
        entries[f"<c{i}>"] = {
            "name": f"c{i}",
            "image": f"db/c{i}.png",
            "info": f"Concept {i}.",
            "category": "thing",
        }
    (root / "database.json").write_text(json.dumps({"concept_dict": entries}))
    lines = []
    for s in range(6):
        members = [s, s + 6] if s % 2 else [s]
        items = [(photo(100 + m), BOXES[j]) for j, m in enumerate(members)]
        save(scene(items, background_seed=500 + s), root / "scenes" / f"s{s}.png")
        row = {
            "image": f"scenes/s{s}.png",
            "concepts": [f"<c{m}>" for m in members],
            "boxes": [list(BOXES[j]) for j in range(len(members))],
        }
        lines.append(json.dumps(row))
    for s in range(3 if strangers else 0):
        save(scene([(photo(900 + s), BOXES[0])]), root / "scenes" / f"x{s}.png")
        row = {"image": f"scenes/x{s}.png", "concepts": [], "boxes": [list(BOXES[0])]}
        lines.append(json.dumps(row))
    test = root / "test.jsonl"
    test.write_text("\n".join(lines) + "\n")
    return root / "database.json", test


def run_retrieval(tmp: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["--models", "tiny", "eval", "retrieval", *extra])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads((tmp / "retrieval.json").read_text())
    return data


def test_retrieval_eval_end_to_end(tmp_path: Path) -> None:
    database, test = make_dataset(tmp_path / "data")
    out = tmp_path / "out"
    report = run_retrieval(
        out,
        str(test),
        "--database",
        str(database),
        "--sizes",
        "10,30",
        "--no-detector",
        "--max-distance",
        "0.02",
        "--out",
        str(out),
    )
    sizes = [r["database_size"] for r in report["report"]]
    assert sizes == [10, 30]
    for r in report["report"]:
        assert r["recall"]["1"] == 0.75  # scenes with two concepts find one at K=1
        assert all(r["recall"][str(k)] == 1.0 for k in (2, 3, 4, 5))
        assert r["precision"]["1"] == 1.0 and r["precision"]["5"] == 1.0  # nothing else passes
    table = (out / "retrieval.md").read_text()
    assert table.startswith("| Concepts | R@1 |") and "| 30 | 75.0 | 100.0 |" in table
    png = Image.open(out / "retrieval.png")
    assert png.format == "PNG" and png.size == (600, 400)


def test_strangers_lower_precision_unless_the_threshold_stops_them(tmp_path: Path) -> None:
    database, clean = make_dataset(tmp_path / "clean")
    _, noisy = make_dataset(tmp_path / "noisy", strangers=True)

    def precision_at_1(test: Path, cutoff: str, name: str) -> float:
        out = tmp_path / name
        report = run_retrieval(
            out,
            str(test),
            "--database",
            str(database),
            "--sizes",
            "30",
            "--no-detector",
            "--max-distance",
            cutoff,
            "--out",
            str(out),
        )
        assert report["report"][0]["recall"]["2"] == 1.0  # the known concepts are all found
        return float(report["report"][0]["precision"]["1"])

    # no cut-off: a stranger's nearest concept is "found" and precision falls
    assert precision_at_1(noisy, "4", "n4") < precision_at_1(clean, "4", "c4") == 1.0
    # the distance threshold keeps strangers out
    assert precision_at_1(noisy, "0.02", "n02") == precision_at_1(clean, "0.02", "c02") == 1.0


def test_readers_take_the_rap_formats(tmp_path: Path) -> None:
    (tmp_path / "cap.json").write_text(json.dumps({"test/bo/1.png": ["<bo>"], "x.png": "mam"}))
    caps = read_image_concepts(tmp_path / "cap.json")
    assert caps[0].image == tmp_path / "test/bo/1.png" and caps[0].concepts == ("<bo>",)
    assert caps[1].concepts == ("mam",)
    (tmp_path / "rec.json").write_text(
        json.dumps(
            [
                {
                    "image": "bo/4.png",
                    "question": "...",
                    "concept": "bo",
                    "type": "positive",
                    "correct_answer": True,
                },
                {
                    "image": "bo/4.png",
                    "concept": "mam",
                    "type": "negative",
                    "correct_answer": False,
                },
            ]
        )
    )
    recs = read_recognition(tmp_path / "rec.json", root=tmp_path / "data")
    assert [(r.concept, r.truth) for r in recs] == [("bo", True), ("mam", False)]
    assert recs[0].image == tmp_path / "data/bo/4.png"
    (tmp_path / "vqa.json").write_text(
        json.dumps(
            {
                "bo": {
                    "./test/bo/3.png": {
                        "question": "What animal does sks resemble?",
                        "options": {"A": "Cat", "B": "Dog"},
                        "correct_answer": "B",
                    }
                }
            }
        )
    )
    (tmp_path / "tqa.json").write_text(
        json.dumps(
            {
                "bo": {
                    "0": {
                        "question": "Is sks a dog?",
                        "option": {"A": "Yes", "B": "No"},
                        "correct_answer": "A",
                    }
                }
            }
        )
    )
    visual, text = read_qa(tmp_path / "vqa.json")[0], read_qa(tmp_path / "tqa.json")[0]
    assert visual.question == "What animal does <bo> resemble?" and visual.image is not None
    assert text.image is None and text.options == {"A": "Yes", "B": "No"} and text.answer == "A"


def test_engine_tasks_write_reports(tmp_path: Path) -> None:
    database, _ = make_dataset(tmp_path / "data", concepts=4)
    save(scene([(photo(100), (10, 10, 470, 350))]), tmp_path / "data/q.png")
    (tmp_path / "cap.json").write_text(json.dumps({"data/q.png": ["<c0>"]}))
    (tmp_path / "rec.jsonl").write_text(
        json.dumps({"image": "data/q.png", "concept": "c0", "answer": True})
        + "\n"
        + json.dumps({"image": "data/q.png", "concept": "c1", "answer": False})
        + "\n"
    )
    (tmp_path / "qa.jsonl").write_text(
        json.dumps(
            {
                "image": "data/q.png",
                "concept": "c0",
                "question": "What is <c0>?",
                "options": {"A": "x", "B": "y"},
                "answer": "A",
            }
        )
        + "\n"
    )
    for task, data in [("caption", "cap.json"), ("recognition", "rec.jsonl"), ("qa", "qa.jsonl")]:
        out = tmp_path / "out"
        result = CliRunner().invoke(
            main,
            [
                "--models",
                "tiny",
                "eval",
                task,
                str(tmp_path / data),
                "--database",
                str(database),
                "--no-detector",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        payload = json.loads((out / f"{task}.json").read_text())
        assert payload["meta"]["random_weights"] is True and payload["items"]
        assert "(paper" in (out / f"{task}.md").read_text()


def test_recognition_reads_the_reference_file_as_the_reference_means_it(
    tmp_path: Path, caplog
) -> None:
    """RAP's file repeats every positive in its 'negative' group (correct_answer true)."""
    rows = []
    for image, own in (("bo/4.png", "bo"), ("mam/1.png", "mam")):
        rows.append({"image": image, "concept": own, "type": "positive", "correct_answer": True})
        for concept in ("bo", "mam", "toy"):  # every concept asked about the image
            truth = concept == own
            rows.append(
                {"image": image, "concept": concept, "type": "negative", "correct_answer": truth}
            )
    (tmp_path / "rec.json").write_text(json.dumps(rows))
    with caplog.at_level("WARNING"):
        recs = read_recognition(tmp_path / "rec.json")
    assert sum(r.truth for r in recs) == 2 and sum(not r.truth for r in recs) == 4
    assert "2 rows repeat a question" in caplog.text
    words = [{"image": "a.png", "concept": "bo", "correct_answer": w} for w in ("No", "yes")]
    (tmp_path / "words.json").write_text(json.dumps([words[0], {**words[1], "image": "b.png"}]))
    assert [r.truth for r in read_recognition(tmp_path / "words.json")] == [False, True]
    for bad in ("maybe", None):
        (tmp_path / "bad.json").write_text(json.dumps([{**words[0], "correct_answer": bad}]))
        with pytest.raises(ImportFormatError, match="not yes or no"):
            read_recognition(tmp_path / "bad.json")
    both = [words[0], {**words[0], "correct_answer": True}]
    (tmp_path / "both.json").write_text(json.dumps(both))
    with pytest.raises(ImportFormatError, match="both yes and no"):
        read_recognition(tmp_path / "both.json")


def test_eval_checks_every_image_before_loading_models(tmp_path: Path) -> None:
    database, _ = make_dataset(tmp_path / "data", concepts=2)
    save(photo(100), tmp_path / "data/q.png")
    (tmp_path / "cap.json").write_text(
        json.dumps({"q.png": ["<c0>"], "gone1.png": ["<c1>"], "gone2.png": ["<c0>"]})
    )
    args = ["--models", "tiny", "eval", "caption", str(tmp_path / "cap.json")]
    args += ["--database", str(database), "--no-detector", "--out", str(tmp_path / "out")]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "3 of 3 items name an image that is not there" in refused.output
    assert "--root" in refused.output and "--skip-missing" in refused.output
    assert not (tmp_path / "out").exists()  # nothing run
    rooted = CliRunner().invoke(main, [*args, "--root", str(tmp_path / "data"), "--skip-missing"])
    assert rooted.exit_code == 0, rooted.output
    assert "left out 2 of 3 items" in rooted.output
    scored = json.loads((tmp_path / "out/caption.json").read_text())
    assert len(scored["items"]) == 1
    png = CliRunner().invoke(main, ["eval", "caption", str(tmp_path / "data/q.png")])
    assert png.exit_code != 0 and "not a UTF-8 text file" in png.output
    assert "Traceback" not in png.output

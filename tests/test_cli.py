from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llama_index_rap.cli import main
from tests.imagegen import photo, save


@pytest.fixture
def rap(tmp_path: Path):
    runner = CliRunner()
    db = str(tmp_path / "db")

    def invoke(*args: str, user: str = "alice"):
        return runner.invoke(main, ["--db", db, "--user", user, "--models", "tiny", *args])

    return invoke


def test_remember_list_forget(rap, tmp_path: Path) -> None:
    bo = save(photo(1), tmp_path / "bo.png")
    result = rap("remember", "Bo", str(bo), "-d", "My dog.", "-c", "dog", "-a", "Bobo")
    assert result.exit_code == 0, result.output
    assert "remembered Bo (1 image) for user alice" in result.output
    assert "random weights" in result.output  # tiny models are never passed off as real
    listed = rap("list")
    assert "Bo [dog] (also Bobo): My dog." in listed.output
    data = json.loads(rap("list", "--json").output)
    assert data[0]["name"] == "Bo" and data[0]["images"][0]["width"] == 160
    assert "no concepts" in rap("list", user="bob").output
    assert rap("forget", "bo", "--purge").output.strip() == "forgot Bo and purged it from disk"
    assert json.loads(rap("list", "--json").output) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["remember", "Bo", "missing.png", "-d", "x"], "does not exist"),
        (["remember", "Bo", "{bad}", "-d", "x"], "not an image"),
        (["remember", "Bo", "{good}"], "--description is required"),
        (["remember", "", "{good}", "-d", "x"], "give NAME"),
        (["forget", "Nobody"], "no concept named 'Nobody'"),
        (["import-rap", "{bad}"], "not valid JSON"),
        (["import", "{dir}"], "does not exist"),
    ],
)
def test_user_errors_are_one_line_without_traceback(
    rap, tmp_path: Path, args: list[str], message: str
) -> None:
    good = save(photo(1), tmp_path / "good.png")
    bad = tmp_path / "bad.txt"
    bad.write_text("hello")
    filled = [a.format(good=good, bad=bad, dir=tmp_path) for a in args]
    result = rap(*filled)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an exception


def test_bulk_from_dir_export_import(rap, tmp_path: Path) -> None:
    root = tmp_path / "concepts"
    save(photo(1), root / "Bo" / "a.png")
    save(photo(4), root / "Bo" / "b.jpg")
    (root / "Bo" / "concept.json").write_text(
        json.dumps({"description": "My dog.", "category": "dog", "aliases": ["Bobo"]})
    )
    save(photo(2), root / "Mam" / "mam.png")
    (root / "Mam" / "description.txt").write_text("My mother.\n")
    result = rap("remember", "--from-dir", str(root))
    assert result.exit_code == 0, result.output
    assert "remembered 2 concepts" in result.output
    again = rap("remember", "--from-dir", str(root))  # idempotent
    assert again.exit_code == 0, again.output
    data = {c["name"]: c for c in json.loads(rap("list", "--json").output)}
    assert len(data["Bo"]["images"]) == 2 and data["Mam"]["description"] == "My mother."
    assert rap("export", str(tmp_path / "out")).exit_code == 0
    imported = rap("import", str(tmp_path / "out"), user="carol")
    assert "imported 2 concepts" in imported.output
    (root / "Ghost").mkdir()
    missing = rap("remember", "--from-dir", str(root))
    assert missing.exit_code != 0 and "Ghost has no concept.json" in missing.output


def test_import_rap_command(rap, tmp_path: Path) -> None:
    from tests.test_store_transfer import write_rap_repo

    database = write_rap_repo(tmp_path / "RAP")
    result = rap("import-rap", str(database))
    assert result.exit_code == 0, result.output
    assert "imported 2 concepts" in result.output


def test_console_script_help_is_fast_and_imports_no_model_library() -> None:
    code = (
        "import sys; from llama_index_rap.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'open_clip', 'ultralytics', 'transformers', 'lancedb')"
        " if m in sys.modules]\nprint('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    assert "remember" in out.stdout and "import-rap" in out.stdout


def test_a_lock_file_that_is_a_directory_is_one_clear_line(rap, tmp_path: Path) -> None:
    image = save(photo(1), tmp_path / "bo.png")
    assert rap("remember", "Bo", str(image), "-d", "My dog.").exit_code == 0
    (tmp_path / "db" / ".rap-write.lock").unlink()
    (tmp_path / "db" / ".rap-write.lock").mkdir()
    result = rap("remember", "Mam", str(image), "-d", "My mother.", "--replace")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "lock file" in result.output and "is a directory" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert [c["name"] for c in json.loads(rap("list", "--json").stdout)] == ["Bo"]

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llama_index_rap.cli import main
from tests.imagegen import photo, save
from tests.mounts import tmpfs


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
    assert "remembered 2 new concepts" in result.output
    again = rap("remember", "--from-dir", str(root))  # idempotent
    assert again.exit_code == 0, again.output
    data = {c["name"]: c for c in json.loads(rap("list", "--json").output)}
    assert len(data["Bo"]["images"]) == 2 and data["Mam"]["description"] == "My mother."
    assert rap("export", str(tmp_path / "out")).exit_code == 0
    imported = rap("import", str(tmp_path / "out"), user="carol")
    assert "imported 2 new concepts" in imported.output
    (root / "Ghost").mkdir()
    missing = rap("remember", "--from-dir", str(root))
    assert missing.exit_code != 0 and "Ghost has no concept.json" in missing.output


def test_import_rap_command(rap, tmp_path: Path) -> None:
    from tests.test_store_transfer import write_rap_repo

    database = write_rap_repo(tmp_path / "RAP")
    result = rap("import-rap", str(database))
    assert result.exit_code == 0, result.output
    assert "imported 2 new concepts" in result.output


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


def one_line_error(result, *words: str) -> None:
    """A mistake is one line naming what is wrong, with a non-zero exit and no traceback."""
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert all(w in result.output for w in words), result.output


def test_store_paths_that_cannot_be_a_store_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    image = save(photo(1), tmp_path / "bo.png")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a store")
    for db, words in (
        (a_file, ("is (or is under) a file",)),
        (a_file / "db", ("is (or is under) a file",)),
        (Path("/proc/rap-db"), ("cannot create the store folder", "/proc/rap-db")),
    ):
        for args in (["list"], ["remember", "Bo", str(image), "-d", "My dog."]):
            result = runner.invoke(main, ["--db", str(db), "--models", "tiny", *args])
            one_line_error(result, str(db), *words)
    assert a_file.read_text() == "not a store"


def test_a_new_store_under_a_read_only_folder_is_one_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "frozen", "ro,size=1m") as frozen:
        image = save(photo(1), tmp_path / "bo.png")
        for args in (["list"], ["remember", "Bo", str(image), "-d", "My dog."]):
            db = ["--db", str(frozen / "db"), "--models", "tiny"]
            one_line_error(CliRunner().invoke(main, [*db, *args]), str(frozen / "db"))


def test_global_options_work_after_any_command(rap, tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "db")
    bo = save(photo(1), tmp_path / "bo.png")
    made = runner.invoke(main, ["remember", "Bo", str(bo), "-d", "My dog.", "--db", db,
                                "--user", "alice", "--models", "tiny"])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "for user alice" in made.output
    listed = runner.invoke(main, ["--db", db, "--user", "bob", "list", "--user", "alice"])
    assert listed.exit_code == 0 and "Bo: My dog." in listed.output  # the later one wins
    found = runner.invoke(
        main, ["retrieve", str(bo), "--json", "--db", db, "--user", "alice", "--models", "tiny"]
    )
    assert json.loads(found.stdout)["concepts"][0]["name"] == "Bo"
    bad = runner.invoke(main, ["list", "--models", "nonesuch"])
    assert bad.exit_code == 2 and "nonesuch" in bad.output


def test_update_versions_restore_and_optimize_commands(rap, tmp_path: Path) -> None:
    bo, more = save(photo(1), tmp_path / "bo.png"), save(photo(2), tmp_path / "bo2.png")
    assert rap("remember", "Bo", str(bo), "-d", "My dog.").exit_code == 0
    before = json.loads(rap("versions", "--json").stdout)[-1]["version"]
    result = rap("update", "Bo", "-d", "My Shiba Inu.", "--add", str(more), "-a", "Bobo")
    assert result.exit_code == 0 and result.output.startswith("updated Bo (2 images)")
    listed = rap("list").output
    assert "Bo (also Bobo): My Shiba Inu. (2 image(s))" in listed
    digest = json.loads(rap("list", "--json").stdout)[0]["images"][1]["sha256"]
    dropped = rap("update", "Bo", "--remove", digest[:12], "--rename", "Bobby", "--no-aliases")
    assert dropped.exit_code == 0 and "updated Bobby (1 image)" in dropped.output
    one_line_error(rap("update", "Bobby"), "nothing to change")  # a one-line mistake
    one_line_error(rap("update", "Nobody", "-d", "x"), "no concept named")
    restored = rap("restore", str(before))
    assert restored.exit_code == 0 and f"restored version {before}" in restored.output
    assert "Bo: My dog." in rap("list").output
    one_line_error(rap("restore", "9999"), "version 9999 does not exist")
    assert "optimized" in rap("optimize").output
    assert "Bo: My dog." in rap("list").output
    versions = rap("versions").output.strip().splitlines()
    assert len(versions) > 3 and versions[0].split()[0].isdigit()


def test_bulk_runs_say_what_was_added_and_what_was_there(rap, tmp_path: Path) -> None:
    root = tmp_path / "in"
    for i, name in enumerate(["Bo", "Mam", "Toy"]):
        save(photo(10 + i), root / name / "a.png")
        (root / name / "description.txt").write_text(f"{name}, mine.")
    first = rap("remember", "--from-dir", str(root))
    assert "remembered 3 new concepts from" in first.output, first.output
    again = rap("remember", "--from-dir", str(root))
    assert "remembered 0 new concepts, 3 already there" in again.output, again.output
    (root / "Toy" / "description.txt").write_text("Toy, changed.")
    save(photo(20), root / "Ted" / "a.png")
    (root / "Ted" / "description.txt").write_text("Ted.")
    changed = rap("remember", "--from-dir", str(root), "--replace")
    assert "remembered 1 new concept, replaced 1, 2 already there" in changed.output
    assert rap("export", str(tmp_path / "out")).exit_code == 0
    imported = rap("import", str(tmp_path / "out"))
    assert "imported 0 new concepts, 4 already there" in imported.output, imported.output


def test_bulk_progress_moves_concept_by_concept(tmp_path: Path, tiny_embedding) -> None:
    from llama_index_rap.store import ConceptInput, ConceptStore

    store = ConceptStore(tmp_path / "db", embedding=tiny_embedding)
    items = [
        ConceptInput(f"c{i}", [photo(100 + 20 * i + j) for j in range(12)], "x") for i in range(8)
    ]
    seen: list[int] = []
    store.remember_many(items[:2], progress=seen.append)
    assert seen == [2]
    seen.clear()
    store.remember_many(items, progress=seen.append)  # 12 images each: 3 concepts per encode
    assert seen == [2, 5, 8]  # the 2 already there, then as they are encoded: no one jump

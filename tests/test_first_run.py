"""A new machine's first run: stdout is only the JSON asked for, nothing lands outside the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.imagegen import photo, save


def test_a_first_run_prints_only_json_and_writes_only_into_the_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLO_", "RAP_", "XDG_"))}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1")
    image = save(photo(1), tmp_path / "bo.png")
    rap = [
        sys.executable,
        "-m",
        "llama_index_rap",
        "--db",
        str(tmp_path / "db"),
        "--models",
        "tiny",
    ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*rap, *args], env=env, cwd=work, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return done

    made = run("remember", "Bo", str(image), "-d", "My dog.", "-c", "dog")
    found = run("retrieve", str(image), "--json")  # the detector: ultralytics' first import
    assert "concepts" in json.loads(found.stdout)  # stdout is the JSON alone
    assert "No pretrained weights loaded" not in made.stderr + found.stderr
    assert not (home / ".config").exists() and list(work.iterdir()) == []
    folder = home / ".cache" / "llama-index-rap" / "ultralytics"
    settings = json.loads((folder / "Ultralytics" / "settings.json").read_text())
    assert settings["sync"] is False
    assert all(settings[k].startswith(str(folder)) for k in ("weights_dir", "runs_dir"))

"""The wheel: tests import the working tree, so this checks what a user installs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_package_its_model_configs_and_py_typed(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    command += ["--quiet", "--wheel-dir", str(tmp_path), str(ROOT)]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("llama_index_rap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "llama_index_rap").rglob("*.py")}
    assert shipped <= names  # every module, models/ and its __init__ included
    assert "llama_index_rap/py.typed" in names
    assert "llama_index_rap/models/configs/rap-tiny-ViT.json" in names
    assert not [n for n in names if n.split("/")[0] in {"tests", "benchmarks", "examples"}]
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "rap = llama_index_rap.cli:main" in text

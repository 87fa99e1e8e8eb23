"""Moving concepts in and out: our export folder, and the RAP reference's ``database.json``.

Export folder layout (version 1)::

    manifest.json     {"format": "llama-index-rap-export", "version": 1, "user": ...,
                       "encoder": ..., "dim": ..., "concepts": N, "exported_at": ...}
    concepts.jsonl    one concept a line: name, aliases, category, description,
                      created_at, updated_at, images: [{"file", "sha256", "vector"}],
                      negatives: [{"file", "sha256", "vector"}] ("not this one" photos)
    vectors.npy       float32 (images, dim); "vector" is the row of an image's vector
    images/           the image files as they were given, named by SHA-256

Import reuses the vectors when the store's encoder is the export's, else re-encodes.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from llama_index_rap.errors import ImageNotFoundError, ImportFormatError, RapError
from llama_index_rap.store.schema import Concept
from llama_index_rap.store.validate import (
    CheckedConcept,
    ConceptInput,
    KnownVectors,
    StoreLimits,
    check_concept,
)

EXPORT_FORMAT = "llama-index-rap-export"
EXPORT_VERSION = 1


@dataclass(frozen=True)
class ImportBatch:
    """Concepts read from a file, checked, with any vectors that can be reused.

    Args:
        concepts: The checked concepts.
        vectors: Per concept, per image, a vector or ``None`` (to be encoded).
        encoder: The encoder the vectors came from, if any.
    """

    concepts: list[CheckedConcept]
    vectors: Sequence[KnownVectors]
    encoder: str | None = None


def write_export(
    folder: Path, user: str, encoder: str | None, rows_by_concept: list[list[dict[str, Any]]]
) -> int:
    """Write concepts (their full rows, vectors and image bytes) to an export folder.

    Returns:
        The number of concepts written.
    """
    concepts = [Concept.from_rows(rows) for rows in rows_by_concept]  # damage found first
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    lines: list[str] = []
    vectors: list[np.ndarray] = []
    for concept, rows in zip(concepts, rows_by_concept, strict=True):
        entry = concept.to_dict()
        entry["images"], entry["negatives"] = [], []
        for row in sorted(rows, key=lambda r: (r["image_index"] < 0, abs(r["image_index"]))):
            name = f"images/{row['image_sha256']}.{row['image_format']}"
            _write_atomic(folder / name, row["image"])
            kind = "images" if row["image_index"] >= 0 else "negatives"
            entry[kind].append(
                {"file": name, "sha256": row["image_sha256"], "vector": len(vectors)}
            )
            vectors.append(np.asarray(row["vector"], dtype=np.float32))
        for key in ("concept_id", "user", "encoder"):
            entry.pop(key)
        lines.append(json.dumps(entry, ensure_ascii=False))
    dim = len(vectors[0]) if vectors else 0
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    buffer = io.BytesIO()
    np.save(buffer, matrix)
    _write_atomic(folder / "vectors.npy", buffer.getvalue())
    _write_atomic(folder / "concepts.jsonl", ("\n".join(lines) + "\n" if lines else "").encode())
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "user": user,
        "encoder": encoder,
        "dim": dim,
        "concepts": len(lines),
        "exported_at": datetime.now(timezone.utc).isoformat(),
    }
    _write_atomic(folder / "manifest.json", json.dumps(manifest, indent=2).encode())
    return len(lines)


def read_export(folder: Path, limits: StoreLimits) -> ImportBatch:
    """Read and check an export folder; nothing is written anywhere.

    Raises:
        ImportFormatError: Not an export folder, or a file in it is malformed.
        ImageError: An image in it fails the checks.
    """
    manifest = _read_json(folder / "manifest.json", "export manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise ImportFormatError(
            f"{folder} is not a llama-index-rap export (manifest.json has no "
            f"'format': '{EXPORT_FORMAT}'); for a RAP database.json use import_rap"
        )
    if manifest.get("version") != EXPORT_VERSION:
        raise ImportFormatError(
            f"{folder} is export version {manifest.get('version')}; this version reads "
            f"{EXPORT_VERSION}"
        )
    try:
        matrix = np.load(folder / "vectors.npy", allow_pickle=False)
        text = (folder / "concepts.jsonl").read_text(encoding="utf-8")
    except (OSError, ValueError) as e:
        raise ImportFormatError(f"export {folder} is incomplete or damaged: {e}") from e
    concepts: list[CheckedConcept] = []
    vectors: list[KnownVectors] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{folder / 'concepts.jsonl'} line {number}"
        try:
            entry = json.loads(line)
            negatives = entry.get("negatives") or ()
            files = [str(img["file"]) for img in entry["images"]]
            others = [str(img["file"]) for img in negatives]
            rows = [int(img["vector"]) for img in [*entry["images"], *negatives]]
            item = ConceptInput(
                name=entry["name"],
                images=[_read_export_file(folder, f, where, limits) for f in files],
                description=entry["description"],
                category=entry.get("category"),
                aliases=entry.get("aliases") or (),
                negatives=[_read_export_file(folder, f, where, limits) for f in others],
            )
        except (KeyError, TypeError, ValueError, RecursionError) as e:
            raise ImportFormatError(f"{where} is not a concept record ({e})") from e
        checked = _checked(item, limits, where)
        concepts.append(checked)
        if any(r >= len(matrix) for r in rows) or len(rows) != len(checked.every_image):
            vectors.append(None)
        else:
            vectors.append([matrix[r] for r in rows])
    return ImportBatch(concepts, vectors, manifest.get("encoder"))


def read_rap_database(path: Path, limits: StoreLimits, root: Path | None = None) -> ImportBatch:
    """Read the RAP reference's ``database.json`` and its image files.

    The reference writes image paths relative to its repository root, not to the JSON
    file, so each path is looked up, in order: as given (absolute), under ``root``, under
    the JSON file's folder and each of its parents, and under the working directory.

    Raises:
        ImportFormatError: The file is not a RAP database.
        ImageNotFoundError: An image is nowhere to be found (the places tried are named).
    """
    data = _read_json(path, "RAP database")
    concept_dict = data.get("concept_dict") if isinstance(data, dict) else None
    if not isinstance(concept_dict, dict):
        raise ImportFormatError(
            f"{path} is not a RAP database.json: it has no 'concept_dict' mapping "
            "(expected {'concept_dict': {'<bo>': {'name', 'image', 'info', 'category'}}})"
        )
    bases = _rap_bases(path, root)
    concepts = []
    for key, entry in concept_dict.items():
        where = f"{path} concept {key!r}"
        if not isinstance(entry, dict) or "image" not in entry:
            raise ImportFormatError(f"{where} has no 'image'")
        raw = entry["image"] if isinstance(entry["image"], list) else [entry["image"]]
        files = [_find_rap_image(str(p), bases, where) for p in raw]
        item = ConceptInput(
            name=str(entry.get("name") or key),
            images=files,
            description=str(entry.get("info") or ""),
            category=entry.get("category"),
        )
        concepts.append(_checked(item, limits, where))
    return ImportBatch(concepts, [None] * len(concepts))


def _checked(item: ConceptInput, limits: StoreLimits, where: str) -> CheckedConcept:
    try:
        return check_concept(item, limits)
    except RapError as e:
        raise type(e)(f"{where}: {e}") from e


def _rap_bases(path: Path, root: Path | None) -> list[Path]:
    bases = [root] if root is not None else []
    bases += [path.resolve().parent, *path.resolve().parent.parents, Path.cwd()]
    return list(dict.fromkeys(bases))


def _find_rap_image(raw: str, bases: list[Path], where: str) -> Path:
    candidate = Path(raw).expanduser()
    tried = [candidate] if candidate.is_absolute() else [base / candidate for base in bases]
    for option in tried:
        if option.is_file():
            return option
    shown = ", ".join(str(t) for t in tried[:4]) + (" ..." if len(tried) > 4 else "")
    raise ImageNotFoundError(
        f"{where}: image {raw!r} not found (tried {shown}); pass root= (rap import-rap "
        "--root) with the folder the paths are relative to"
    )


def _read_export_file(folder: Path, name: str, where: str, limits: StoreLimits) -> bytes:
    """An image file of an export: a regular file inside ``folder``, within the size limit.

    Absolute names, ``..``, symbolic links, devices and FIFOs are refused before anything
    is opened, so an export cannot make the store read another folder's photo, a secret
    file, ``/dev/zero`` or a pipe.
    """
    inside = folder.resolve()
    path = inside / name
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise ImportFormatError(f"{where}: image {name!r} is not a file inside the export folder")
    try:
        info = os.lstat(path)
        real = path.resolve()
    except OSError as e:
        raise ImageNotFoundError(f"{where}: image {name!r} cannot be read ({e})") from e
    if not stat.S_ISREG(info.st_mode) or not real.is_relative_to(inside):
        raise ImportFormatError(
            f"{where}: image {name!r} is not a regular file inside the export folder "
            "(links, devices and pipes are not read)"
        )
    if info.st_size > limits.images.max_bytes:
        raise ImportFormatError(
            f"{where}: image {name!r} is over {limits.images.max_bytes} bytes (ImageLimits)"
        )
    try:
        return path.read_bytes()
    except OSError as e:
        raise ImageNotFoundError(f"{where}: image {name!r} cannot be read ({e})") from e


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ImportFormatError(f"{what} {path} does not exist") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ImportFormatError(f"{what} {path} is not valid JSON ({e})") from e


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Reading evaluation sets: the RAP reference's formats and a JSONL of ours.

RAP reference formats (as shipped in its ``eval/``):

- captioning: a JSON object mapping each image path to the concepts in it
  (``{"test/bo/1.png": ["<bo>"], ...}``);
- recognition: a JSON list of ``{"image", "concept", "type", "correct_answer": true|false}``.
  ``correct_answer`` is the truth. ``type`` names the group a row belongs to: "positive"
  asks about the image's own concept; "negative" asks every concept of the set about the
  image, its own included, so each positive question appears a second time typed
  "negative" with ``correct_answer: true`` (333 rows in the shipped
  ``recognition_test.json``). Such repeats are read once (logged with their count); the
  same question with two different answers is refused.
- QA: ``{concept: {image_path: {"question", "options": {"A", "B"}, "correct_answer"}}}``
  (visual) or ``{concept: {"0": {"question", "option": {...}, "correct_answer"}}}``
  (text-only); ``sks`` in a question stands for the concept.

Our JSONL, one object a line, for every task: ``{"image": path, "concepts": [names],
"boxes": [[x0, y0, x1, y1], ...]}`` (captioning, retrieval; ``boxes`` optional),
``{"image", "concept", "answer": true|false}`` (recognition), ``{"image" (optional),
"concept", "question", "options": {"A": ..., "B": ...}, "answer": "A"}`` (QA).

A file ending in ``.jsonl`` is read as JSONL; any other is read as one JSON document, or as
JSONL when it is not one. Relative image paths are resolved against ``root`` when given,
else the file's folder.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index_rap.errors import ImportFormatError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageConcepts:
    """An image and the concepts truly in it (captioning and retrieval).

    Args:
        image: The image file.
        concepts: Names of the concepts in it.
        boxes: Regions to search, when the set gives them.
    """

    image: Path
    concepts: tuple[str, ...]
    boxes: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class RecognitionItem:
    """One "Is <concept> in this image?" question.

    Args:
        image: The image file.
        concept: The concept asked about.
        truth: Whether it is in the image.
    """

    image: Path
    concept: str
    truth: bool


@dataclass(frozen=True)
class QAItem:
    """One multiple-choice question.

    Args:
        concept: The concept it is about.
        question: The question, with the concept written as ``<name>``.
        options: Letter to option text.
        answer: The right letter.
        image: The image, for visual QA.
    """

    concept: str
    question: str
    options: dict[str, str]
    answer: str
    image: Path | None = None


def _load(path: Path) -> tuple[Any, bool]:
    """The parsed file and whether it is JSONL."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ImportFormatError(f"cannot read evaluation file {path}: {e}") from e
    except UnicodeDecodeError as e:
        raise ImportFormatError(
            f"{path} is not a UTF-8 text file (an image?): give the test set's JSON or JSONL "
            "file (README: Evaluation)"
        ) from e
    if path.suffix.lower() != ".jsonl":
        try:
            return json.loads(text), False
        except json.JSONDecodeError:
            pass
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ImportFormatError(f"{path} line {number} is not JSON ({e})") from e
    return rows, True


def _resolve(raw: str, path: Path, root: Path | None) -> Path:
    image = Path(raw).expanduser()
    if image.is_absolute():
        return image
    return (root or path.parent) / image


def read_image_concepts(path: Path, root: Path | None = None) -> list[ImageConcepts]:
    """A captioning / retrieval set (RAP's image-to-concepts JSON or our JSONL)."""
    data, jsonl = _load(path)
    items = []
    if not jsonl and isinstance(data, dict):
        for image, concepts in data.items():
            names = [concepts] if isinstance(concepts, str) else list(concepts)
            items.append(ImageConcepts(_resolve(image, path, root), tuple(map(str, names))))
        return items
    if not isinstance(data, list):
        raise ImportFormatError(f"{path}: expected an image-to-concepts object or JSONL rows")
    for row in data:
        try:
            boxes = tuple(tuple(float(v) for v in b) for b in row.get("boxes", ()))
            items.append(
                ImageConcepts(
                    _resolve(row["image"], path, root),
                    tuple(map(str, row.get("concepts", ()))),
                    boxes,  # type: ignore[arg-type]
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ImportFormatError(f"{path}: bad row {row!r} ({e})") from e
    return items


def read_recognition(path: Path, root: Path | None = None) -> list[RecognitionItem]:
    """A recognition set (RAP's JSON list or our JSONL); each question once.

    Raises:
        ImportFormatError: A row without an image, concept or answer; an answer that is not
            a yes or a no; one question given two different answers.
    """
    data, _ = _load(path)
    if not isinstance(data, list):
        raise ImportFormatError(f"{path}: expected a list of recognition questions")
    found: dict[tuple[Path, str], RecognitionItem] = {}
    repeats = 0
    for row in data:
        try:
            raw = row["correct_answer"] if "correct_answer" in row else row["answer"]
            item = RecognitionItem(
                _resolve(row["image"], path, root), str(row["concept"]).strip("<>"), _truth(raw)
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ImportFormatError(f"{path}: bad recognition row {row!r} ({e})") from e
        key = (item.image, item.concept)
        if key in found:
            if found[key].truth != item.truth:
                raise ImportFormatError(
                    f"{path}: 'is {item.concept} in {item.image}?' is answered both yes and no"
                )
            repeats += 1
            continue
        found[key] = item
    if repeats:
        logger.warning(
            "%s: %d rows repeat a question already read (in RAP's file, the positives again "
            "in the 'negative' group); each question is scored once",
            path,
            repeats,
        )
    return list(found.values())


def _truth(value: object) -> bool:
    """A yes/no answer: a JSON boolean, or "yes"/"no"/"true"/"false" in any case."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "true", "y"):
        return True
    if text in ("no", "false", "n"):
        return False
    raise ValueError(f"the answer {value!r} is not yes or no")


_SKS = re.compile(r"\bsks\b")


def read_qa(path: Path, root: Path | None = None) -> list[QAItem]:
    """A QA set: RAP's visual or text-only JSON, or our JSONL."""
    data, jsonl = _load(path)
    items = []
    if jsonl or isinstance(data, list):
        for row in data:
            try:
                image = row.get("image")
                items.append(
                    QAItem(
                        concept=str(row["concept"]).strip("<>"),
                        question=str(row["question"]),
                        options={str(k).upper(): str(v) for k, v in row["options"].items()},
                        answer=str(row["answer"]).upper(),
                        image=_resolve(image, path, root) if image else None,
                    )
                )
            except (KeyError, TypeError, AttributeError) as e:
                raise ImportFormatError(f"{path}: bad QA row {row!r} ({e})") from e
        return items
    if not isinstance(data, dict):
        raise ImportFormatError(f"{path}: expected a concept-to-questions object")
    for name, questions in data.items():
        concept = str(name).strip("<>")
        for key, q in questions.items():
            try:
                options = q.get("options") or q["option"]
                is_image = ("." in key and "/" in key) or key.lower().endswith((".png", ".jpg"))
                items.append(
                    QAItem(
                        concept=concept,
                        question=_SKS.sub(f"<{concept}>", str(q["question"])),
                        options={str(k).upper(): str(v) for k, v in options.items()},
                        answer=str(q["correct_answer"]).upper(),
                        image=_resolve(key, path, root) if is_image else None,
                    )
                )
            except (KeyError, TypeError, AttributeError) as e:
                raise ImportFormatError(f"{path}: bad QA entry {concept}/{key} ({e})") from e
    return items

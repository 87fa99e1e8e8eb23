"""Running the engine or the retriever over an evaluation set."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from llama_index_rap.evaluation.datasets import ImageConcepts, QAItem, RecognitionItem
from llama_index_rap.evaluation.scorers import (
    CaptionReport,
    QAReport,
    RecognitionReport,
    RetrievalReport,
    caption_report,
    concept,
    qa_report,
    recognition_report,
    retrieval_report,
    score_caption,
)
from llama_index_rap.retrieve.query import RAPQuery

T = TypeVar("T")
Progress = Callable[[Iterable[T]], Iterable[T]]

QA_INSTRUCTION = "Answer with the option's letter from the given choices directly."
RECOGNITION_QUESTION = "Is <{name}> in this image? Answer with a single word or phrase."


def _plain(items: Iterable[T]) -> Iterable[T]:
    return items


def run_caption(
    engine: Any, items: Sequence[ImageConcepts], progress: Progress[Any] = _plain
) -> tuple[CaptionReport, list[dict[str, Any]]]:
    """Caption every image with ``engine`` and score the names in the captions."""
    known = [concept(c.name, c.aliases) for c in engine.retriever.store.list()]
    rows, scores = [], []
    for item in progress(items):
        text = str(engine.caption(str(item.image), boxes=list(item.boxes)))
        score = score_caption(text, item.concepts, known)
        scores.append(score)
        rows.append(
            {
                "image": str(item.image),
                "concepts": list(item.concepts),
                "caption": text,
                "mentioned": sorted(score.mentioned),
                "recall": score.recall,
                "precision": score.precision,
            }
        )
    return caption_report(scores), rows


def run_recognition(
    engine: Any, items: Sequence[RecognitionItem], progress: Progress[Any] = _plain
) -> tuple[RecognitionReport, list[dict[str, Any]]]:
    """Ask "Is <concept> in this image?" for every item and score the yes/no answers."""
    rows, results = [], []
    for item in progress(items):
        question = RECOGNITION_QUESTION.format(name=item.concept)
        answer = str(engine.query(RAPQuery(question, image=str(item.image))))
        results.append((item.truth, answer))
        rows.append(
            {
                "image": str(item.image),
                "concept": item.concept,
                "truth": item.truth,
                "answer": answer,
            }
        )
    return recognition_report(results), rows


def run_qa(
    engine: Any, items: Sequence[QAItem], progress: Progress[Any] = _plain
) -> tuple[QAReport, list[dict[str, Any]]]:
    """Ask every multiple-choice question (with its image, if any) and score the letters."""
    rows, results = [], []
    for item in progress(items):
        choices = "\n".join(f"{k}. {v}" for k, v in sorted(item.options.items()))
        question = f"{item.question}\n{choices}\n{QA_INSTRUCTION}"
        image = str(item.image) if item.image else None
        answer = str(engine.query(RAPQuery(question, image=image)))
        results.append((item.answer, answer, item.options))
        rows.append(
            {
                "concept": item.concept,
                "question": item.question,
                "answer": answer,
                "correct": item.answer,
            }
        )
    return qa_report(results), rows


def run_retrieval(
    concepts: Sequence[Any],
    items: Sequence[ImageConcepts],
    sizes: Sequence[int],
    make_retriever: Callable[[Any], Any],
    make_store: Callable[[Path], Any],
    ks: Sequence[int] = (1, 2, 3, 4, 5),
    seed: int = 0,
    progress: Progress[Any] = _plain,
) -> list[RetrievalReport]:
    """Recall@K and precision@K of the retriever alone as the database grows.

    Each database holds every concept that appears in the test images plus distractors
    drawn (with ``seed``) from the rest, up to ``size`` concepts; sizes beyond the concepts
    available are capped.

    Args:
        concepts: :class:`~llama_index_rap.store.ConceptInput` s for every concept available.
        items: Test images with their concepts.
        sizes: Database sizes.
        make_retriever: Builds a retriever (top-K at least ``max(ks)``) over a store.
        make_store: Builds an empty store in a folder.
        ks: The K of recall@K / precision@K.
        seed: Seed of the distractor draw.
        progress: Wraps iterables to show progress.
    """
    needed = {concept(name).key for item in items for name in item.concepts}
    present = [c for c in concepts if concept(c.name).key in needed]
    others = [c for c in concepts if concept(c.name).key not in needed]
    random.Random(seed).shuffle(others)
    reports = []
    for size in sorted(set(sizes)):
        chosen = present + others[: max(0, size - len(present))]
        with tempfile.TemporaryDirectory(prefix="rap-eval-") as folder:
            store = make_store(Path(folder))
            store.remember_many(chosen)
            retriever = make_retriever(store)
            results = []
            for item in progress(items):
                from llama_index_rap.retrieve.query import RAPQuery

                nodes = retriever.retrieve(
                    RAPQuery("", image=str(item.image), boxes=list(item.boxes))
                )
                results.append((item.concepts, [n.node.metadata["name"] for n in nodes]))
        reports.append(retrieval_report(results, database_size=len(chosen), ks=ks))
    return reports

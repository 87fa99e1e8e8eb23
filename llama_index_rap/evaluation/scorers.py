"""The paper's metrics, with every matching rule written down.

Captioning (Table 3)
    A concept is *mentioned* in a caption when its name or one of its aliases appears by the
    rule of :func:`llama_index_rap.retrieve.find_mentions`: any case; with or without
    ``<brackets>``; on word boundaries, so "Bo" is not found in "Bobby" or "boat"; a
    possessive ("Bo's", "Bo'") counts; inner spaces match any white space; where two names
    overlap, the longer wins ("Bo Junior" is one mention, not two). Only concepts of the
    database are looked for. Per image: recall = concepts in the image that are mentioned /
    concepts in the image; precision = mentioned concepts that are in the image / mentioned
    concepts; F1 their harmonic mean. An image with no concept has no recall; a caption that
    mentions no concept has no precision (0 mentions, nothing to be wrong about): such values
    are left out of the macro averages and reported as counts. Macro = mean over images; micro
    = from the summed counts over all images.

Recognition
    An answer is read as yes, no, or a refusal ("I can't tell", "I'm sorry", "unable to", an
    empty answer...) or unclear (anything else). Accuracy on positives = yes answers /
    positive questions; on negatives = no answers / negative questions; refusals and unclear
    answers are wrong and are counted. "Weighted" = the mean of the two, as in the paper.

QA
    The answer's letter: "B", "(B)", "B.", "B) Dog", a lone "b" or "b.", "The answer is B",
    "option B", or else the text of exactly one option ("Dog", "It is a dog."); a lower-case
    letter followed by more words ("a dog") is not a letter. Accuracy = right letters /
    questions; unreadable answers are wrong and counted.

Retrieval
    For each image, the retriever's ranked concepts; recall@K = concepts in the image among
    the first K / concepts in the image; precision@K = concepts in the image among the first K
    / the number returned among the first K (a retriever may return fewer than K when its
    distance threshold cuts); an image for which nothing is returned counts precision 1.0 when
    it has no concept and 0.0 otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llama_index_rap.engine.tasks import parse_yes_no
from llama_index_rap.retrieve.mentions import find_mentions
from llama_index_rap.store.schema import normalise_name

# --- captioning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedConcept:
    """A concept as the scorers see it: a name and aliases.

    Args:
        name: The name (``bo`` or ``<bo>``).
        aliases: Other names.
    """

    name: str
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The name as compared (brackets dropped, case-folded)."""
        return normalise_name(self.name.strip().strip("<>"))


def concept(name: str, aliases: Iterable[str] = ()) -> NamedConcept:
    """A :class:`NamedConcept` with surrounding ``<>`` dropped from its name."""
    return NamedConcept(name.strip().strip("<>"), tuple(aliases))


def mentioned(caption: str, concepts: Sequence[NamedConcept]) -> set[str]:
    """Keys of the concepts a caption mentions (see the module's matching rule)."""
    return {c.key for c in find_mentions(caption, concepts)}


@dataclass(frozen=True)
class CaptionScore:
    """One caption's score.

    Args:
        present: Concepts in the image.
        mentioned: Concepts the caption mentions.
        hits: Concepts both present and mentioned.
    """

    present: frozenset[str]
    mentioned: frozenset[str]
    hits: frozenset[str]

    @property
    def recall(self) -> float | None:
        """Hits / present (``None`` for an image without concepts)."""
        return len(self.hits) / len(self.present) if self.present else None

    @property
    def precision(self) -> float | None:
        """Hits / mentioned (``None`` when nothing is mentioned)."""
        return len(self.hits) / len(self.mentioned) if self.mentioned else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of recall and precision (``None`` if either is undefined)."""
        return _f1(self.recall, self.precision)


def score_caption(
    caption: str, present: Iterable[str], concepts: Sequence[NamedConcept]
) -> CaptionScore:
    """Score one caption against the concepts truly in its image.

    Args:
        caption: The generated caption.
        present: Names of the concepts in the image (brackets and case ignored).
        concepts: Every concept of the database (only these are looked for).
    """
    keys = frozenset(concept(p).key for p in present)
    said = frozenset(mentioned(caption, concepts))
    return CaptionScore(keys, said, keys & said)


@dataclass(frozen=True)
class CaptionReport:
    """Captioning scores over a test set (fractions in [0, 1]).

    Args:
        images: Images scored.
        macro_recall: Mean per-image recall.
        macro_precision: Mean per-image precision.
        macro_f1: F1 of the two macro figures (the paper's layout).
        micro_recall: Summed hits / summed present.
        micro_precision: Summed hits / summed mentioned.
        micro_f1: F1 of the micro figures.
        no_mention: Captions that mention no concept (no precision).
        no_concept: Images without a concept (no recall).
    """

    images: int
    macro_recall: float
    macro_precision: float
    macro_f1: float
    micro_recall: float
    micro_precision: float
    micro_f1: float
    no_mention: int
    no_concept: int


def caption_report(scores: Sequence[CaptionScore]) -> CaptionReport:
    """Macro and micro recall, precision and F1 over per-image scores."""
    recalls = [s.recall for s in scores if s.recall is not None]
    precisions = [s.precision for s in scores if s.precision is not None]
    hits = sum(len(s.hits) for s in scores)
    present = sum(len(s.present) for s in scores)
    said = sum(len(s.mentioned) for s in scores)
    macro_r, macro_p = _mean(recalls), _mean(precisions)
    micro_r = hits / present if present else 0.0
    micro_p = hits / said if said else 0.0
    return CaptionReport(
        images=len(scores),
        macro_recall=macro_r,
        macro_precision=macro_p,
        macro_f1=_f1(macro_r, macro_p) or 0.0,
        micro_recall=micro_r,
        micro_precision=micro_p,
        micro_f1=_f1(micro_r, micro_p) or 0.0,
        no_mention=sum(1 for s in scores if not s.mentioned),
        no_concept=sum(1 for s in scores if not s.present),
    )


# --- recognition --------------------------------------------------------------------------

Verdict = Literal["yes", "no", "refusal", "unclear"]

_REFUSAL = re.compile(
    r"\b(sorry|cannot|can't|can not|unable|not able|i don't know|i do not know|"
    r"not sure|unsure|impossible to (tell|say|determine)|as an ai)\b",
    re.IGNORECASE,
)


def parse_answer(answer: str) -> Verdict:
    """Read a recognition answer: yes, no, a refusal, or unclear (see the module rule)."""
    text = answer.strip()
    if not text or _REFUSAL.search(text):
        return "refusal"
    said = parse_yes_no(text)
    return "unclear" if said is None else ("yes" if said else "no")


@dataclass(frozen=True)
class RecognitionReport:
    """Recognition accuracy as in the paper.

    Args:
        positives: Questions whose right answer is yes.
        negatives: Questions whose right answer is no.
        positive_accuracy: Yes answers / positives.
        negative_accuracy: No answers / negatives.
        weighted: Mean of the two.
        refusals: Answers read as refusals (counted wrong).
        unclear: Answers read as neither yes nor no (counted wrong).
    """

    positives: int
    negatives: int
    positive_accuracy: float
    negative_accuracy: float
    weighted: float
    refusals: int
    unclear: int


def recognition_report(results: Sequence[tuple[bool, str]]) -> RecognitionReport:
    """Score ``(truth, answer)`` pairs: truth is whether the concept is in the image."""
    verdicts = [(truth, parse_answer(answer)) for truth, answer in results]
    pos = [v for t, v in verdicts if t]
    neg = [v for t, v in verdicts if not t]
    pos_acc = sum(v == "yes" for v in pos) / len(pos) if pos else 0.0
    neg_acc = sum(v == "no" for v in neg) / len(neg) if neg else 0.0
    return RecognitionReport(
        positives=len(pos),
        negatives=len(neg),
        positive_accuracy=pos_acc,
        negative_accuracy=neg_acc,
        weighted=(pos_acc + neg_acc) / 2,
        refusals=sum(v == "refusal" for _, v in verdicts),
        unclear=sum(v == "unclear" for _, v in verdicts),
    )


# --- multiple-choice QA -------------------------------------------------------------------

_LETTER_PATTERNS = [
    re.compile(r"^\W*\(?([A-Z])\)?(?:[.):,]|\s*$|\s)"),  # "B", "B.", "(B) Dog"
    re.compile(r"^\W*\(?([a-z])(?:\)|\.?\s*$)"),  # "b", "b.", "b) dog" (not "a dog")
    re.compile(r"\banswer(?: is|:)?\s*\(?([A-Z])\)?\b", re.IGNORECASE),
    re.compile(r"\boption\s*\(?([A-Z])\)?\b", re.IGNORECASE),
]


def parse_choice(answer: str, options: Mapping[str, str]) -> str | None:
    """The option letter an answer picks, or ``None`` (see the module rule)."""
    text = answer.strip()
    letters = {k.upper() for k in options}
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(text)
        if match and match.group(1).upper() in letters:
            return match.group(1).upper()
    said = normalise_name(text).strip(" .!")
    by_text = [k.upper() for k, v in options.items() if normalise_name(v) == said]
    if len(by_text) == 1:
        return by_text[0]
    contained = [k.upper() for k, v in options.items() if _contains_word(said, normalise_name(v))]
    return contained[0] if len(contained) == 1 else None


def _contains_word(text: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


@dataclass(frozen=True)
class QAReport:
    """Multiple-choice accuracy.

    Args:
        questions: Questions scored.
        accuracy: Right letters / questions.
        unparsed: Answers with no readable letter (counted wrong).
    """

    questions: int
    accuracy: float
    unparsed: int


def qa_report(results: Sequence[tuple[str, str, Mapping[str, str]]]) -> QAReport:
    """Score ``(correct_letter, answer, options)`` triples."""
    picks = [(correct.upper(), parse_choice(answer, opts)) for correct, answer, opts in results]
    right = sum(1 for correct, pick in picks if pick == correct)
    return QAReport(
        questions=len(picks),
        accuracy=right / len(picks) if picks else 0.0,
        unparsed=sum(1 for _, pick in picks if pick is None),
    )


# --- retrieval ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrievalReport:
    """Recall@K and precision@K of a retriever alone, for one database size.

    Args:
        database_size: Concepts in the database.
        images: Images scored.
        recall: K -> mean recall@K.
        precision: K -> mean precision@K.
    """

    database_size: int
    images: int
    recall: dict[int, float] = field(default_factory=dict)
    precision: dict[int, float] = field(default_factory=dict)


def retrieval_report(
    results: Sequence[tuple[Iterable[str], Sequence[str]]],
    database_size: int,
    ks: Sequence[int] = (1, 2, 3, 4, 5),
) -> RetrievalReport:
    """Score ``(concepts in the image, ranked retrieved concepts)`` pairs."""
    recall: dict[int, list[float]] = {k: [] for k in ks}
    precision: dict[int, list[float]] = {k: [] for k in ks}
    for truth_names, ranked_names in results:
        truth = {concept(t).key for t in truth_names}
        ranked = list(dict.fromkeys(concept(r).key for r in ranked_names))
        for k in ks:
            top = ranked[:k]
            hits = len(truth & set(top))
            if truth:
                recall[k].append(hits / len(truth))
            precision[k].append(hits / len(top) if top else (1.0 if not truth else 0.0))
    return RetrievalReport(
        database_size=database_size,
        images=len(results),
        recall={k: _mean(v) for k, v in recall.items()},
        precision={k: _mean(v) for k, v in precision.items()},
    )


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _f1(recall: float | None, precision: float | None) -> float | None:
    if recall is None or precision is None:
        return None
    return 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)


def as_dict(report: Any) -> dict[str, Any]:
    """A report as plain JSON-ready data."""
    from dataclasses import asdict

    return asdict(report)

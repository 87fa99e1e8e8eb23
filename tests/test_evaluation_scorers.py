from __future__ import annotations

import pytest

from llama_index_rap.evaluation.scorers import (
    caption_report,
    concept,
    mentioned,
    parse_answer,
    parse_choice,
    qa_report,
    recognition_report,
    retrieval_report,
    score_caption,
)

DB = [
    concept("<bo>", ["Bobo"]),
    concept("bobby"),
    concept("mam"),
    concept("Bo Junior"),
    concept("Zoë"),
]


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("<bo> sleeps on the sofa.", {"bo"}),
        ("BO and bo again", {"bo"}),
        ("Bo's collar is red", {"bo"}),
        ("the dogs' bowls and Bo' toy", {"bo"}),
        ("Bobby plays", {"bobby"}),  # "Bo" inside "Bobby" is not a hit
        ("a boat near the bowl", set()),
        ("Bobo waits", {"bo"}),  # an alias
        ("Bo   Junior sits", {"bo junior"}),  # the longer name wins, spaces folded
        ("zo\u00eb\u2019s hat and MAM", {"zo\u00eb", "mam"}),
        ("", set()),
    ],
)
def test_caption_matching_rule(caption: str, expected: set[str]) -> None:
    assert mentioned(caption, DB) == expected


def test_caption_scores_by_hand() -> None:
    a = score_caption("<bo> and mam in the park", ["<bo>", "mam"], DB)  # both found
    b = score_caption("bo with bobby", ["bo"], DB)  # one right, one wrong
    c = score_caption("a dog in the park", ["bo"], DB)  # no mention: no precision
    d = score_caption("mam smiles", [], DB)  # no concept in the image: no recall
    assert (a.recall, a.precision, a.f1) == (1.0, 1.0, 1.0)
    assert (b.recall, b.precision) == (1.0, 0.5) and b.f1 == pytest.approx(2 / 3)
    assert (c.recall, c.precision, c.f1) == (0.0, None, None)
    assert (d.recall, d.precision) == (None, 0.0)
    report = caption_report([a, b, c, d])
    assert report.images == 4 and report.no_mention == 1 and report.no_concept == 1
    assert report.macro_recall == pytest.approx((1 + 1 + 0) / 3)
    assert report.macro_precision == pytest.approx((1 + 0.5 + 0) / 3)
    r, p = report.macro_recall, report.macro_precision
    assert report.macro_f1 == pytest.approx(2 * r * p / (r + p))
    # micro: hits 2+1+0+0 = 3, present 2+1+1+0 = 4, mentioned 2+2+0+1 = 5
    assert (report.micro_recall, report.micro_precision) == (0.75, 0.6)
    assert report.micro_f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("Yes.", "yes"),
        ("yes, <bo> is on the left", "yes"),
        ("YES", "yes"),
        ("No,", "no"),
        ("no. There is a cat.", "no"),
        ("Not in this image.", "no"),
        ("I'm sorry, I can't tell who that is.", "refusal"),
        ("I am unable to determine that", "refusal"),
        ("", "refusal"),
        ("There is a dog.", "unclear"),
        ("Yesterday it was", "unclear"),  # "yes" only as a word
    ],
)
def test_recognition_answer_parsing(answer: str, verdict: str) -> None:
    assert parse_answer(answer) == verdict


def test_recognition_report_by_hand() -> None:
    results = [
        (True, "Yes."),
        (True, "No"),
        (True, "Sorry, I cannot say"),
        (False, "No, it is not."),
        (False, "no"),
        (False, "yes"),
        (False, "A cat"),
    ]
    report = recognition_report(results)
    assert (report.positives, report.negatives) == (3, 4)
    assert report.positive_accuracy == pytest.approx(1 / 3)
    assert report.negative_accuracy == pytest.approx(2 / 4)
    assert report.weighted == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert (report.refusals, report.unclear) == (1, 1)


@pytest.mark.parametrize(
    ("answer", "letter"),
    [
        ("B", "B"),
        ("(B)", "B"),
        ("b.", "B"),
        ("B) Dog", "B"),
        ("The answer is A", "A"),
        ("Answer: (A)", "A"),
        ("Dog", "B"),
        ("It is a dog.", "B"),
        ("a dog", "B"),  # "a" here is an article, not option A
        ("cat or dog", None),
        ("C", None),
        ("", None),
    ],
)
def test_choice_parsing(answer: str, letter: str | None) -> None:
    assert parse_choice(answer, {"A": "Cat", "B": "Dog"}) == letter


def test_qa_report() -> None:
    options = {"A": "Cat", "B": "Dog"}
    report = qa_report([("B", "B", options), ("A", "(B)", options), ("A", "hmm", options)])
    assert report.questions == 3 and report.accuracy == pytest.approx(1 / 3)
    assert report.unparsed == 1


def test_retrieval_report_by_hand() -> None:
    results = [
        (["bo"], ["bo", "mam", "toy"]),  # right first
        (["bo", "mam"], ["toy", "<MAM>"]),  # one of two, second place; only 2 returned
        ([], []),  # a stranger and nothing returned: perfect
        (["toy"], []),  # nothing returned for a concept: precision 0
    ]
    report = retrieval_report(results, database_size=10, ks=(1, 2, 3))
    assert report.recall[1] == pytest.approx((1 + 0 + 0) / 3)
    assert report.recall[2] == pytest.approx((1 + 0.5 + 0) / 3)
    assert report.precision[1] == pytest.approx((1 + 0 + 1 + 0) / 4)
    assert report.precision[2] == pytest.approx((0.5 + 0.5 + 1 + 0) / 4)
    assert report.precision[3] == pytest.approx((1 / 3 + 0.5 + 1 + 0) / 4)

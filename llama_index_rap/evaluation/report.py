"""Writing an evaluation: a JSON report, a Markdown table laid out like the paper's, a plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index_rap.evaluation.scorers import (
    CaptionReport,
    QAReport,
    RecognitionReport,
    RetrievalReport,
    as_dict,
)

PAPER_CAPTION = [
    ("RAP-LLaVA (paper)", 93.51, 96.47, 94.97),
    ("RAP-Phi3-V (paper)", 88.14, 95.10, 91.49),
    ("MyVLM-LLaVA (paper)", 84.65, 86.37, 85.50),
    ("LLaVA-LoRA (paper)", 82.97, 93.28, 87.82),
    ("LLaVA + retriever (paper)", 1.26, 48.76, 2.45),
]
PAPER_RECOGNITION = [("RAP-LLaVA (paper)", 0.979, 0.982, 0.980)]
PAPER_QA = [("RAP-LLaVA (paper, visual / text)", "0.935 / 0.938")]


def write_json(
    out: Path, task: str, report: Any, rows: Sequence[Any], meta: dict[str, Any]
) -> Path:
    """``out/<task>.json``: the report, every item's outcome, and how it was run."""
    out.mkdir(parents=True, exist_ok=True)
    payload = {"task": task, "meta": meta, "report": _plain(report), "items": list(rows)}
    path = out / f"{task}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    return path


def _plain(report: Any) -> Any:
    if isinstance(report, list):
        return [as_dict(r) for r in report]
    return as_dict(report)


def caption_table(report: CaptionReport, label: str) -> str:
    """Table 3's layout: recall, precision, F1 in percent; ours and the paper's."""
    lines = [
        "| Method | Recall | Precision | F1 |",
        "| --- | --- | --- | --- |",
        f"| {label} (macro) | {report.macro_recall * 100:.2f} | "
        f"{report.macro_precision * 100:.2f} | {report.macro_f1 * 100:.2f} |",
        f"| {label} (micro) | {report.micro_recall * 100:.2f} | "
        f"{report.micro_precision * 100:.2f} | {report.micro_f1 * 100:.2f} |",
    ]
    lines += [f"| {m} | {r:.2f} | {p:.2f} | {f:.2f} |" for m, r, p, f in PAPER_CAPTION]
    lines.append(
        f"\n{report.images} images; {report.no_mention} captions name no concept (no "
        f"precision), {report.no_concept} images hold none (no recall)."
    )
    return "\n".join(lines)


def recognition_table(report: RecognitionReport, label: str) -> str:
    """Positive, negative and weighted accuracy; ours and the paper's."""
    lines = [
        "| Method | Positive | Negative | Weighted |",
        "| --- | --- | --- | --- |",
        f"| {label} | {report.positive_accuracy:.3f} | {report.negative_accuracy:.3f} | "
        f"{report.weighted:.3f} |",
    ]
    lines += [f"| {m} | {p:.3f} | {n:.3f} | {w:.3f} |" for m, p, n, w in PAPER_RECOGNITION]
    lines.append(
        f"\n{report.positives} positive and {report.negatives} negative questions; "
        f"{report.refusals} refusals and {report.unclear} unclear answers (counted wrong)."
    )
    return "\n".join(lines)


def qa_table(report: QAReport, label: str) -> str:
    """Multiple-choice accuracy; ours and the paper's."""
    lines = ["| Method | Accuracy |", "| --- | --- |", f"| {label} | {report.accuracy:.3f} |"]
    lines += [f"| {m} | {a} |" for m, a in PAPER_QA]
    lines.append(f"\n{report.questions} questions; {report.unparsed} answers had no letter.")
    return "\n".join(lines)


def retrieval_table(reports: Sequence[RetrievalReport]) -> str:
    """Recall@K and precision@K (percent) for each database size."""
    ks = sorted(reports[0].recall) if reports else []
    head = ["Concepts"] + [f"R@{k}" for k in ks] + [f"P@{k}" for k in ks]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in reports:
        cells = [str(r.database_size)]
        cells += [f"{r.recall[k] * 100:.1f}" for k in ks]
        cells += [f"{r.precision[k] * 100:.1f}" for k in ks]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def retrieval_plot(reports: Sequence[RetrievalReport], path: Path) -> Path:
    """A PNG of recall@K against K, one line per database size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for r in reports:
        ks = sorted(r.recall)
        ax.plot(
            ks, [r.recall[k] * 100 for k in ks], marker="o", label=f"{r.database_size} concepts"
        )
    ax.set_xticks(sorted({k for r in reports for k in r.recall}))  # whole K only
    ax.set_xlabel("K")
    ax.set_ylabel("recall@K (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Retriever recall as the database grows")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path

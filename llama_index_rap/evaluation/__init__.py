"""Evaluate: the paper's metrics (captioning, recognition, QA, retrieval) and their runner."""

from llama_index_rap.evaluation.scorers import (
    CaptionReport,
    CaptionScore,
    QAReport,
    RecognitionReport,
    RetrievalReport,
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

__all__ = [
    "CaptionReport",
    "CaptionScore",
    "QAReport",
    "RecognitionReport",
    "RetrievalReport",
    "caption_report",
    "concept",
    "mentioned",
    "parse_answer",
    "parse_choice",
    "qa_report",
    "recognition_report",
    "retrieval_report",
    "score_caption",
]

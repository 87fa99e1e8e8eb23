"""Turning a found concept into a LlamaIndex ``NodeWithScore(ImageNode)``."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

from llama_index.core.schema import ImageNode, NodeWithScore

from llama_index_rap.detect.boxes import Box
from llama_index_rap.store.schema import Concept

Reason = Literal["name", "box", "detection", "whole-image", "text"]
"""Why a concept was retrieved: named in the question, matched a box the caller gave, matched
a detected box, matched the whole image, or matched a text query through the text tower."""

NAME_SCORE = 1.0
HIDDEN = (
    "concept_id",
    "image_sha256",
    "box",
    "crop_index",
    "max_distance",
    "negative_distance",
    "evidence",
)
"""Metadata kept from the LLM's prompt and the embeddings: retrieval's own bookkeeping."""


def distance_to_score(distance: float) -> float:
    """Score in [0, 1], higher is better: ``1 - d / 4``, i.e. ``(1 + cosine) / 2``."""
    return min(1.0, max(0.0, 1.0 - distance / 4.0))


@dataclass(frozen=True)
class Match:
    """Why and where a concept was found.

    Args:
        concept_id: The concept.
        reason: Why it was found.
        distance: Squared L2 distance of the best match (0 for a name).
        row_id: The concept image that matched (``None``: the first one).
        crop_index: Which crop matched (``None`` for a name).
        box: The matched region (``None`` for the whole image or a name).
        max_distance: The match distance it was kept within (``None``: no cut-off).
        negative_distance: Its nearest "not this one" photo's distance (``None``: none).
    """

    concept_id: str
    reason: Reason
    distance: float
    row_id: str | None = None
    crop_index: int | None = None
    box: Box | None = None
    max_distance: float | None = None
    negative_distance: float | None = None

    @property
    def evidence(self) -> str:
        """Why it was kept, in words: its distance, the threshold, the nearest negative."""
        if self.reason == "name":
            return "named in the question"
        if self.reason == "text":
            return f"text match at distance {self.distance:.3f}"
        within = (
            f" <= {self.max_distance:.3f} (the match distance)"
            if self.max_distance is not None
            else " (no match distance set)"
        )
        text = f"distance {self.distance:.3f}{within}"
        if self.negative_distance is not None:
            text += f"; nearest 'not this one' photo {self.negative_distance:.3f}"
        return text

    @property
    def score(self) -> float:
        """Score in [0, 1]; a name mention scores 1."""
        return NAME_SCORE if self.reason == "name" else distance_to_score(self.distance)


def concept_node(concept: Concept, match: Match) -> NodeWithScore:
    """A node holding the concept's (matched) image, its description and why it was found."""
    image = next((i for i in concept.images if i.row_id == match.row_id), concept.images[0])
    data = image.data or b""
    node = ImageNode(
        id_=concept.concept_id,
        text=concept.description,
        image=base64.b64encode(data).decode("ascii"),
        image_mimetype=f"image/{image.format}",
        metadata={
            "name": concept.name,
            "aliases": list(concept.aliases),
            "category": concept.category,
            "concept_id": concept.concept_id,
            "distance": match.distance,
            "box": list(match.box.as_tuple()) if match.box else None,
            "box_label": match.box.label if match.box else None,
            "crop_index": match.crop_index,
            "reason": match.reason,
            "max_distance": match.max_distance,
            "negative_distance": match.negative_distance,
            "evidence": match.evidence,
            "image_sha256": image.sha256,
        },
        excluded_embed_metadata_keys=[*HIDDEN],
        excluded_llm_metadata_keys=[*HIDDEN],
    )
    return NodeWithScore(node=node, score=match.score)

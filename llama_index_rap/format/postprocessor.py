"""ConceptContextPostprocessor: which retrieved concepts reach the prompt, and in what order."""

from __future__ import annotations

from llama_index.core.bridge.pydantic import Field
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

_REASON_ORDER = {"name": 0, "box": 1, "detection": 1, "whole-image": 1, "text": 2}


class ConceptContextPostprocessor(BaseNodePostprocessor):
    """Deduplicate, filter, order and cap retrieved concept nodes.

    Concepts named in the question come first, then the rest by score. The nodes are
    numbered and formatted as RAP pairs where the prompt is built
    (:func:`~llama_index_rap.format.messages.user_blocks`), so a chat's numbering carries on
    without touching this postprocessor.

    Args:
        score_floor: Drop nodes scoring below this.
        max_concepts: Keep at most this many.
    """

    score_floor: float = Field(default=0.0, ge=0.0, le=1.0, description="Minimum score kept.")
    max_concepts: int = Field(default=5, ge=0, description="Most concepts kept.")

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex class name."""
        return "ConceptContextPostprocessor"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        best: dict[str, NodeWithScore] = {}
        for n in nodes:
            if n.get_score() < self.score_floor:
                continue
            key = str(n.node.metadata.get("concept_id") or n.node.node_id)
            if key not in best or n.get_score() > best[key].get_score():
                best[key] = n
        return sorted(
            best.values(),
            key=lambda n: (_REASON_ORDER.get(n.node.metadata.get("reason", ""), 3), -n.get_score()),
        )[: self.max_concepts]

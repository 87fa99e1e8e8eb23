"""ConceptContextPostprocessor: the retrieved concepts as RAP's numbered image-text pairs."""

from __future__ import annotations

from llama_index.core.bridge.pydantic import Field
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import NodeWithScore, QueryBundle

IMAGE_SLOT = "<image>"
"""Where a pair's concept image goes in the formatted text."""

RAP_PAIR_TEMPLATE = PromptTemplate("{index}." + IMAGE_SLOT + "\n Name: <{name}>, Info: {info}\n")
"""One concept as the RAP checkpoints were trained to read it."""

PAIR_TEXT_KEY = "rap_pair"
INDEX_KEY = "rap_index"

_REASON_ORDER = {"name": 0, "detection": 1, "whole-image": 1, "text": 2}


class ConceptContextPostprocessor(BaseNodePostprocessor):
    """Turn retrieved concept nodes into RAP pairs: deduplicated, filtered, ordered, capped.

    Concepts named in the question come first, then the rest by score. Each node that is
    kept gets ``metadata["rap_index"]`` (1, 2, ...) and ``metadata["rap_pair"]``, its pair
    formatted by ``template`` with ``<image>`` where the concept image goes.

    Args:
        score_floor: Drop nodes scoring below this.
        max_concepts: Keep at most this many.
        template: A ``PromptTemplate`` with ``index``, ``name`` and ``info``; the default is
            the RAP training layout (``1.<image>``, a new line, `` Name: <bo>, Info: ...``).
        start_index: The number of the first pair (a chat continues its numbering).
    """

    score_floor: float = Field(default=0.0, ge=0.0, le=1.0, description="Minimum score kept.")
    max_concepts: int = Field(default=5, ge=0, description="Most concepts kept.")
    template: PromptTemplate = Field(
        default=RAP_PAIR_TEMPLATE, description="Format of one pair (index, name, info)."
    )
    start_index: int = Field(default=1, ge=0, description="Number of the first pair.")

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
        ordered = sorted(
            best.values(),
            key=lambda n: (_REASON_ORDER.get(n.node.metadata.get("reason", ""), 3), -n.get_score()),
        )[: self.max_concepts]
        out = []
        for index, n in enumerate(ordered, start=self.start_index):
            node = n.node.model_copy(deep=True)
            meta = node.metadata
            meta[INDEX_KEY] = index
            meta[PAIR_TEXT_KEY] = self.template.format(
                index=index, name=meta.get("name", ""), info=node.get_content()
            )
            node.excluded_llm_metadata_keys = [*node.excluded_llm_metadata_keys, PAIR_TEXT_KEY]
            out.append(NodeWithScore(node=node, score=n.score))
        return out

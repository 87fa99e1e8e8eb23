"""RAPPipeline: the one path from a query to the model's messages.

A query (image, question, boxes, user) goes through ``retriever.retrieve`` (or
``aretrieve``), so LlamaIndex's retrieval events fire and tracing tools see the retrieval;
what was searched comes back on the query (``RAPQuery.report``). The postprocessors then
choose and order the concepts, and :func:`~llama_index_rap.format.messages.user_blocks`
numbers and formats them into RAP's one user message. The query engine, the chat engine
and the workflow all go this way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core.llms import LLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import NodeWithScore, QueryBundle

from llama_index_rap.format.messages import (
    DEFAULT_SYSTEM_PROMPT,
    RAP_PAIR_TEMPLATE,
    RapPrompt,
    build_prompt,
)
from llama_index_rap.format.postprocessor import ConceptContextPostprocessor
from llama_index_rap.images import LoadedImage
from llama_index_rap.retrieve.query import RAPQuery, query_image
from llama_index_rap.retrieve.retriever import RAPRetriever, RetrievalReport

logger = logging.getLogger(__name__)


def default_llm(retriever: RAPRetriever, llm: LLM | None) -> LLM:
    """``llm``; else ``Settings.llm`` when one was set; else the store profile's VLM.

    An LLM that would lose the images (see :func:`warn_if_text_only`) is logged.
    """
    if llm is None:
        from llama_index.core import Settings

        llm = Settings._llm  # set by the user (reading Settings.llm would build OpenAI)
    if llm is None:
        from llama_index_rap.generate.hf_vlm import HuggingFaceVLM
        from llama_index_rap.models.specs import get_profile

        return HuggingFaceVLM.from_spec(get_profile(retriever.store.models).vlm)
    warn_if_text_only(llm)
    return llm


def warn_if_text_only(llm: LLM) -> bool:
    """Log a warning when ``llm``'s chat would drop the prompt's images; say whether it did.

    A ``CustomLLM`` that implements only ``complete`` answers ``chat`` through LlamaIndex's
    completion bridge, which flattens the messages to text: the query image and every
    concept image would silently vanish. Other LLMs do not say whether they take images.
    """
    from llama_index.core.llms.custom import CustomLLM

    owner = next(k for k in type(llm).__mro__ if "chat" in vars(k))
    text_only = isinstance(llm, CustomLLM) and owner is CustomLLM
    if text_only:
        logger.warning(
            "%s implements only complete(): its chat() turns the RAP prompt into text and "
            "drops every image; implement chat() with ImageBlocks or use an LLM that takes "
            "images (HuggingFaceVLM, an API vision model)",
            type(llm).__name__,
        )
    return text_only


@dataclass
class Retrieval:
    """What one retrieval gave the prompt.

    Args:
        query: The query as retrieved (its image decoded once).
        nodes: The concepts after the postprocessors, in prompt order.
        report: Every region searched, its hits and the stage timings.
    """

    query: RAPQuery
    nodes: list[NodeWithScore]
    report: RetrievalReport

    @property
    def image(self) -> LoadedImage | None:
        """The decoded query image."""
        image: LoadedImage | None = self.query.image
        return image


class RAPPipeline:
    """Retrieve (with LlamaIndex's events), postprocess, build the RAP prompt.

    Args:
        retriever: Finds the user's concepts.
        postprocessors: Applied to the retrieved nodes in order; by default one
            :class:`ConceptContextPostprocessor`.
        system_prompt: The line saying the listed people and objects are the user's own.
        pair_template: How one concept pair reads (``index``, ``name``, ``info``,
            ``<image>``).
    """

    def __init__(
        self,
        retriever: RAPRetriever,
        postprocessors: Sequence[BaseNodePostprocessor] | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        pair_template: PromptTemplate = RAP_PAIR_TEMPLATE,
    ) -> None:
        self.retriever = retriever
        self.postprocessors: list[BaseNodePostprocessor] = (
            list(postprocessors) if postprocessors is not None else [ConceptContextPostprocessor()]
        )
        self.system_prompt = system_prompt
        self.pair_template = pair_template

    def query(self, bundle: QueryBundle, question: str | None = None) -> RAPQuery:
        """The query to retrieve for: its image decoded once, ``question`` if given.

        Raises:
            ImageError: The image cannot be read.
        """
        return RAPQuery(
            bundle.query_str if question is None else question,
            image=query_image(bundle, self.retriever.store.limits.images),
            boxes=getattr(bundle, "boxes", ()),
            user=getattr(bundle, "user", None),
        )

    def retrieve(self, query: RAPQuery) -> Retrieval:
        """Retrieve through ``retriever.retrieve`` and postprocess."""
        return self._chosen(query, self.retriever.retrieve(query))

    async def aretrieve(self, query: RAPQuery) -> Retrieval:
        """Async :meth:`retrieve` (``retriever.aretrieve``: the models run in a thread)."""
        return self._chosen(query, await self.retriever.aretrieve(query))

    def prompt(self, retrieval: Retrieval, question: str) -> RapPrompt:
        """The system line and the RAP user message for ``question``."""
        image = retrieval.image
        return build_prompt(
            image.data if image else None,
            retrieval.nodes,
            question,
            self.system_prompt,
            self.pair_template,
        )

    def _chosen(self, query: RAPQuery, nodes: list[NodeWithScore]) -> Retrieval:
        for post in self.postprocessors:
            nodes = post.postprocess_nodes(nodes, query_bundle=query)
        report = query.report or RetrievalReport(nodes=[], crops=[])
        return Retrieval(query, nodes, report)

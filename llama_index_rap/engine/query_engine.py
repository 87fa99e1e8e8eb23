"""RAPQueryEngine: an image and a question in, a personalized answer out.

The query image and question go through the retriever and the postprocessors into one user
message (query image, numbered concept pairs, question) with a system line saying the listed
people and objects are the user's own. ``_query`` / ``_aquery`` are implemented (not a
``CustomQueryEngine``) so the query's image survives and LlamaIndex's query events fire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.response.schema import RESPONSE_TYPE, Response, StreamingResponse
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms import LLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import PromptTemplate
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.schema import NodeWithScore, QueryBundle

from llama_index_rap.engine.pipeline import RAPPipeline, default_llm
from llama_index_rap.engine.tasks import (
    CAPTION_INSTRUCTION,
    RECOGNIZE_QUESTION,
    parse_yes_no,
)
from llama_index_rap.errors import InvalidInputError
from llama_index_rap.format.messages import DEFAULT_SYSTEM_PROMPT, RAP_PAIR_TEMPLATE, RapPrompt
from llama_index_rap.images import ImageInput
from llama_index_rap.retrieve.query import RAPQuery
from llama_index_rap.retrieve.retriever import RAPRetriever, RetrievalReport

TASKS = ("ask", "caption", "recognize")


@dataclass
class _Prepared:
    prompt: RapPrompt
    nodes: list[NodeWithScore]
    metadata: dict[str, Any]


class RAPQueryEngine(BaseQueryEngine):
    """Personalized captions, answers and recognition for an image.

    The response metadata holds ``task``, ``question``, ``prompt`` (text with ``<image>``
    placeholders), ``concepts``, ``boxes``, ``timings`` and ``retrieval`` (the
    :class:`~llama_index_rap.retrieve.retriever.RetrievalReport`, for pictures).

    Args:
        retriever: Finds the user's concepts.
        llm: Any LlamaIndex LLM that accepts image blocks; else ``Settings.llm`` when set;
            else the store profile's :class:`~llama_index_rap.generate.HuggingFaceVLM`.
        postprocessors: Applied to the retrieved nodes in order; by default one
            :class:`ConceptContextPostprocessor`.
        system_prompt: The line saying the listed people and objects are the user's own.
        pair_template: How one concept pair reads (see ``RAP_PAIR_TEMPLATE``). It and the
            system prompt are also reached through ``get_prompts()`` / ``update_prompts()``
            (keys ``pair_template`` and ``system_prompt``).
        caption_instruction: The question of the ``caption`` task.
        trust_vlm: For ``recognize``: take the model's yes even when retrieval did not
            match the concept in the image (by default retrieval's "not there" is a no).
        streaming: Return a ``StreamingResponse`` whose tokens arrive as generated.
        callback_manager: LlamaIndex callbacks.
    """

    def __init__(
        self,
        retriever: RAPRetriever,
        llm: LLM | None = None,
        *,
        postprocessors: Sequence[BaseNodePostprocessor] | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        pair_template: PromptTemplate = RAP_PAIR_TEMPLATE,
        caption_instruction: str = CAPTION_INSTRUCTION,
        trust_vlm: bool = False,
        streaming: bool = False,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.retriever = retriever
        self.pipeline = RAPPipeline(retriever, postprocessors, system_prompt, pair_template)
        self.llm = default_llm(retriever, llm)
        self.caption_instruction = caption_instruction
        self.trust_vlm = trust_vlm
        self.streaming = streaming

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}

    def _get_prompts(self) -> PromptDictType:
        return pipeline_prompts(self.pipeline)

    def _update_prompts(self, prompts_dict: PromptDictType) -> None:
        update_pipeline_prompts(self.pipeline, prompts_dict)

    # tasks --------------------------------------------------------------------------------

    def ask(self, image: ImageInput | None, question: str, **kwargs: Any) -> RESPONSE_TYPE:
        """Answer ``question`` about ``image`` (a path, bytes or PIL image)."""
        return self.query(RAPQuery(question, image=image, task="ask", **kwargs))

    def caption(self, image: ImageInput, **kwargs: Any) -> RESPONSE_TYPE:
        """A personalized caption of ``image``."""
        return self.query(RAPQuery("", image=image, task="caption", **kwargs))

    def recognize(self, image: ImageInput, name: str, **kwargs: Any) -> RESPONSE_TYPE:
        """Whether the concept ``name`` is in ``image``: yes or no, with the evidence.

        ``metadata["recognized"]`` is ``True`` (yes), ``False`` (no) or ``None`` (unclear):
        no when retrieval did not match the concept in the image, whatever the model says
        (unless the engine was built with ``trust_vlm=True``), else the model's answer;
        ``metadata["vlm_said"]`` is the model's own, and ``metadata["evidence"]`` says whether
        retrieval matched the concept in the image, at what distance and where.
        """
        return self.query(RAPQuery("", image=image, task="recognize", name=name, **kwargs))

    # LlamaIndex hooks ---------------------------------------------------------------------

    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        prepared = self._prepare(query_bundle)
        if self.streaming:
            return self._stream(prepared)
        start = time.perf_counter()
        answer = self.llm.chat(prepared.prompt.messages).message.content or ""
        prepared.metadata["timings"]["generate"] = time.perf_counter() - start
        self._finish(prepared, answer)
        return Response(response=answer, source_nodes=prepared.nodes, metadata=prepared.metadata)

    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        prepared = await asyncio.to_thread(self._prepare, query_bundle)
        if self.streaming:
            return await asyncio.to_thread(self._stream, prepared)
        start = time.perf_counter()
        answer = (await self.llm.achat(prepared.prompt.messages)).message.content or ""
        prepared.metadata["timings"]["generate"] = time.perf_counter() - start
        self._finish(prepared, answer)
        return Response(response=answer, source_nodes=prepared.nodes, metadata=prepared.metadata)

    # the work -----------------------------------------------------------------------------

    def _prepare(self, bundle: QueryBundle) -> _Prepared:
        task = getattr(bundle, "task", "ask")
        if task not in TASKS:
            raise InvalidInputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
        question = bundle.query_str
        name = self._concept_name(bundle) if task == "recognize" else None
        if task == "caption":
            question = self.caption_instruction
        elif name is not None:
            question = RECOGNIZE_QUESTION.format(name=name)
        retrieval = self.pipeline.retrieve(self.pipeline.query(bundle, question))
        prompt = self.pipeline.prompt(retrieval, question)
        nodes, report = retrieval.nodes, retrieval.report
        metadata: dict[str, Any] = {
            "task": task,
            "question": question,
            "prompt": prompt.text,
            "concepts": [n.node.metadata.get("name") for n in nodes],
            "boxes": [
                {"name": n.node.metadata.get("name"), "box": n.node.metadata.get("box")}
                for n in nodes
            ],
            "timings": dict(report.timings),
            "retrieval": report,
        }
        if name is not None:
            metadata["evidence"] = _evidence(report, name)
        return _Prepared(prompt, nodes, metadata)

    def _concept_name(self, bundle: QueryBundle) -> str:
        name = getattr(bundle, "name", None) or ""
        if not name.strip():
            raise InvalidInputError("recognize needs the name of a concept (name=...)")
        user = getattr(bundle, "user", None) or self.retriever.user
        return self.retriever.store.get(name, user=user).name  # ConceptNotFoundError if unknown

    def _finish(self, prepared: _Prepared, answer: str) -> None:
        meta = prepared.metadata
        if meta["task"] == "recognize":
            said = parse_yes_no(answer)
            seen = meta["evidence"]["found_in_image"]
            meta["vlm_said"] = said
            meta["recognized"] = said if (seen or self.trust_vlm) else False

    def _stream(self, prepared: _Prepared) -> StreamingResponse:
        start = time.perf_counter()
        stream = self.llm.stream_chat(prepared.prompt.messages)

        def tokens() -> Generator[str, None, None]:
            text = ""
            for chunk in stream:
                text += chunk.delta or ""
                yield chunk.delta or ""
            prepared.metadata["timings"]["generate"] = time.perf_counter() - start
            self._finish(prepared, text)

        return StreamingResponse(
            response_gen=tokens(), source_nodes=prepared.nodes, metadata=prepared.metadata
        )


def _evidence(report: RetrievalReport, name: str) -> dict[str, Any]:
    """Whether retrieval matched ``name`` in the image itself (not only by name)."""
    best: dict[str, Any] = {"found_in_image": False, "distance": None, "box": None}
    for crop in report.crops:
        for hit in crop.hits:
            if hit.name == name and (best["distance"] is None or hit.distance < best["distance"]):
                best = {
                    "found_in_image": True,
                    "distance": hit.distance,
                    "box": list(crop.box.as_tuple()) if crop.box else None,
                }
    return best


def pipeline_prompts(pipeline: RAPPipeline) -> PromptDictType:
    """The prompts an engine exposes through ``get_prompts()``."""
    return {
        "system_prompt": PromptTemplate(pipeline.system_prompt),
        "pair_template": pipeline.pair_template,
    }


def update_pipeline_prompts(pipeline: RAPPipeline, prompts: PromptDictType) -> None:
    """Apply ``update_prompts()``: ``system_prompt`` (its text) and ``pair_template``."""
    if "system_prompt" in prompts:
        pipeline.system_prompt = prompts["system_prompt"].get_template()
    if "pair_template" in prompts:
        template = prompts["pair_template"]
        if not isinstance(template, PromptTemplate):
            template = PromptTemplate(template.get_template())
        pipeline.pair_template = template

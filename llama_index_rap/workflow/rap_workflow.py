"""RAPWorkflow: retrieve, format and generate as LlamaIndex workflow steps.

Each step hands the next a typed event; ``retrieve`` goes through the same pipeline as the
engines (``retriever.retrieve``: LlamaIndex's retrieval events fire) and, like ``format``,
is a plain function the workflow runs in its executor, off the event loop. ``generate``
streams the answer's tokens through the workflow's event stream as :class:`TokenEvent` s.
Run it on its own::

    handler = RAPWorkflow(retriever, llm).run(image="park.png", question="Who is here?")
    async for event in handler.stream_events():
        if isinstance(event, TokenEvent):
            print(event.delta, end="")
    result = await handler

or hand :meth:`RAPWorkflow.as_tool` to an ``AgentWorkflow`` / ``FunctionAgent``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.llms import LLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import NodeWithScore
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import Context, Event, StartEvent, StopEvent, Workflow, step

from llama_index_rap.engine.pipeline import RAPPipeline, Retrieval, default_llm
from llama_index_rap.format.messages import DEFAULT_SYSTEM_PROMPT, RAP_PAIR_TEMPLATE
from llama_index_rap.retrieve.query import RAPQuery
from llama_index_rap.retrieve.retriever import RAPRetriever


class RetrievedEvent(Event):
    """The concepts found (after the postprocessors) and what was searched."""

    question: str
    retrieval: Retrieval

    @property
    def nodes(self) -> list[NodeWithScore]:
        """The concepts, in prompt order."""
        return self.retrieval.nodes


class PromptEvent(Event):
    """The messages for the model and their readable text."""

    messages: list[Any]
    prompt: str
    nodes: list[NodeWithScore]


class TokenEvent(Event):
    """A piece of the answer, as generated."""

    delta: str


class RAPWorkflow(Workflow):
    """RAP as a workflow: retrieve -> format -> generate.

    Args:
        retriever: Finds regions and concepts.
        llm: Any LlamaIndex LLM that accepts image blocks; else ``Settings.llm`` when set;
            else the profile's VLM.
        postprocessors: Applied to the retrieved nodes.
        system_prompt: The line saying the listed people and objects are the user's own.
        pair_template: How one concept pair reads (see ``RAP_PAIR_TEMPLATE``).
        timeout: Seconds before a run is abandoned (``None``: no limit).
    """

    def __init__(
        self,
        retriever: RAPRetriever,
        llm: LLM | None = None,
        *,
        postprocessors: Sequence[BaseNodePostprocessor] | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        pair_template: PromptTemplate = RAP_PAIR_TEMPLATE,
        timeout: float | None = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.retriever = retriever
        self.pipeline = RAPPipeline(retriever, postprocessors, system_prompt, pair_template)
        self.llm = default_llm(retriever, llm)

    @step
    def retrieve(self, ev: StartEvent) -> RetrievedEvent:
        """Decode the image; find the concepts (names, given boxes, detections, whole image)."""
        question = str(ev.get("question") or "")
        query = RAPQuery(
            question, image=ev.get("image"), boxes=ev.get("boxes") or (), user=ev.get("user")
        )
        retrieval = self.pipeline.retrieve(self.pipeline.query(query))
        return RetrievedEvent(question=question, retrieval=retrieval)

    @step
    def format(self, ev: RetrievedEvent) -> PromptEvent:
        """Number the concepts as RAP pairs and build the one user message."""
        prompt = self.pipeline.prompt(ev.retrieval, ev.question)
        return PromptEvent(messages=prompt.messages, prompt=prompt.text, nodes=ev.nodes)

    @step
    async def generate(self, ctx: Context, ev: PromptEvent) -> StopEvent:
        """Stream the answer; each piece also goes to the event stream as a TokenEvent."""
        text = ""
        stream = await self.llm.astream_chat(ev.messages)
        async for chunk in stream:
            delta = chunk.delta or ""
            if delta:
                text += delta
                ctx.write_event_to_stream(TokenEvent(delta=delta))
        return StopEvent(
            result={
                "answer": text,
                "concepts": [n.node.metadata.get("name") for n in ev.nodes],
                "prompt": ev.prompt,
            }
        )

    def as_tool(
        self,
        name: str = "personal_photo_question",
        description: str = (
            "Answer a question about a photo, knowing the user's own people, pets and "
            "objects. Arguments: image_path (path of the photo) and question."
        ),
    ) -> FunctionTool:
        """This workflow as an agent tool taking ``image_path`` and ``question``."""

        async def run(image_path: str, question: str) -> str:
            result: dict[str, Any] = await self.run(image=image_path, question=question)
            return str(result["answer"])

        return FunctionTool.from_defaults(async_fn=run, name=name, description=description)

"""RAPWorkflow: detect, retrieve, format and generate as LlamaIndex workflow steps.

Each step hands the next a typed event; ``generate`` streams the answer's tokens through
the workflow's event stream as :class:`TokenEvent` s. Run it on its own::

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
from llama_index.core.schema import NodeWithScore
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import Context, Event, StartEvent, StopEvent, Workflow, step

from llama_index_rap.detect.boxes import Box
from llama_index_rap.engine.query_engine import default_parts
from llama_index_rap.format.messages import DEFAULT_SYSTEM_PROMPT, build_prompt
from llama_index_rap.images import decode, load_image
from llama_index_rap.retrieve.retriever import RAPRetriever, usable_boxes


class RegionsEvent(Event):
    """Where to look: the query image and the boxes found (``None`` is the whole image)."""

    image: bytes
    question: str
    user: str
    boxes: list[tuple[float, float, float, float] | None]
    labels: list[str | None]
    given: int = 0


class RetrievedEvent(Event):
    """The concepts found, as retriever nodes."""

    image: bytes
    question: str
    nodes: list[NodeWithScore]


class PromptEvent(Event):
    """The messages for the model and their readable text."""

    messages: list[Any]
    prompt: str
    nodes: list[NodeWithScore]


class TokenEvent(Event):
    """A piece of the answer, as generated."""

    delta: str


class RAPWorkflow(Workflow):
    """RAP as a workflow: detect -> retrieve -> format -> generate.

    Args:
        retriever: Finds regions and concepts.
        llm: Any LlamaIndex LLM that accepts image blocks; the profile's VLM by default.
        postprocessors: Applied to the retrieved nodes.
        system_prompt: The line saying the listed people and objects are the user's own.
        timeout: Seconds before a run is abandoned (``None``: no limit).
    """

    def __init__(
        self,
        retriever: RAPRetriever,
        llm: LLM | None = None,
        *,
        postprocessors: Sequence[BaseNodePostprocessor] | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        timeout: float | None = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.retriever = retriever
        self.llm, self.postprocessors = default_parts(retriever, llm, postprocessors)
        self.system_prompt = system_prompt

    @step
    async def detect(self, ev: StartEvent) -> RegionsEvent:
        """Decode the image and find the regions to search (given boxes, detections, whole)."""
        image = load_image(ev.get("image"), self.retriever.store.limits.images)
        user = ev.get("user") or self.retriever.user
        given = [Box.of(b) for b in ev.get("boxes") or ()]
        categories = [c.category for c in self.retriever.store.list(user=user) if c.category]
        crops = self.retriever.crops(image.image, given, categories)
        return RegionsEvent(
            image=image.data,
            question=str(ev.get("question") or ""),
            user=user,
            boxes=[None if b is None else (b.x0, b.y0, b.x1, b.y1) for b, _ in crops],
            labels=[None if b is None else b.label for b, _ in crops],
            given=len(usable_boxes(image.image, given)),
        )

    @step
    async def retrieve(self, ev: RegionsEvent) -> RetrievedEvent:
        """Names in the question, then one batched encode and search of every region."""
        picture = decode(ev.image, "<query image>").image
        crops: list[tuple[Box | None, Any]] = []
        for box, label in zip(ev.boxes, ev.labels, strict=True):
            if box is None:
                crops.append((None, picture))
            else:
                region = Box(*box, label=label or "")
                crops.append((region, picture.crop(region.as_tuple())))
        report = self.retriever.match(ev.question, crops, ev.user, given=ev.given)
        return RetrievedEvent(image=ev.image, question=ev.question, nodes=report.nodes)

    @step
    async def format(self, ev: RetrievedEvent) -> PromptEvent:
        """Number the concepts as RAP pairs and build the one user message."""
        nodes = ev.nodes
        for post in self.postprocessors:
            nodes = post.postprocess_nodes(nodes)
        prompt = build_prompt(ev.image, nodes, ev.question, self.system_prompt)
        return PromptEvent(messages=prompt.messages, prompt=prompt.text, nodes=nodes)

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

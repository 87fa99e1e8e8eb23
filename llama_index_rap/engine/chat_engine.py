"""RAPChatEngine: a personalized conversation about an image, over many turns.

The reference retrieved on the first turn only. Here the engine keeps the concepts found so
far and retrieves again when a turn brings a new image or names a concept it has not shown
yet; the new concepts' pairs go into that turn's message, numbered after the earlier ones.
The conversation (images included) lives in a LlamaIndex chat memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from threading import Thread

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.callbacks import CallbackManager, trace_method
from llama_index.core.chat_engine.types import (
    AgentChatResponse,
    BaseChatEngine,
    StreamingAgentChatResponse,
)
from llama_index.core.llms import LLM
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import NodeWithScore

from llama_index_rap.engine.pipeline import RAPPipeline, default_llm
from llama_index_rap.format.messages import DEFAULT_SYSTEM_PROMPT, RAP_PAIR_TEMPLATE, user_blocks
from llama_index_rap.images import ImageInput, load_image
from llama_index_rap.retrieve.query import RAPQuery
from llama_index_rap.retrieve.retriever import RAPRetriever


class RAPChatEngine(BaseChatEngine):
    """Chat about an image with the user's concepts in mind.

    Args:
        retriever: Finds the user's concepts.
        llm: Any LlamaIndex LLM that accepts image blocks; else ``Settings.llm`` when set;
            else the profile's VLM.
        image: The image the conversation starts about (a later turn may bring another).
        postprocessors: Applied to the retrieved nodes; by default a
            :class:`ConceptContextPostprocessor`.
        system_prompt: The line saying the listed people and objects are the user's own.
        pair_template: How one concept pair reads (see ``RAP_PAIR_TEMPLATE``).
        memory: The chat memory; a ``ChatMemoryBuffer`` by default.
        callback_manager: LlamaIndex callbacks (each turn is traced as ``chat``).
    """

    def __init__(
        self,
        retriever: RAPRetriever,
        llm: LLM | None = None,
        *,
        image: ImageInput | None = None,
        postprocessors: Sequence[BaseNodePostprocessor] | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        pair_template: PromptTemplate = RAP_PAIR_TEMPLATE,
        memory: ChatMemoryBuffer | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        self.retriever = retriever
        self.pipeline = RAPPipeline(retriever, postprocessors, system_prompt, pair_template)
        self.llm = default_llm(retriever, llm)
        self.callback_manager = callback_manager or CallbackManager([])
        self.memory = memory or ChatMemoryBuffer.from_defaults(token_limit=8192)
        self.concepts: dict[str, NodeWithScore] = {}
        self._pending_image: bytes | None = None
        if image is not None:
            self.set_image(image)

    def set_image(self, image: ImageInput) -> None:
        """The image the next turn is about (it is sent with that turn)."""
        self._pending_image = load_image(image, self.retriever.store.limits.images).data

    @property
    def chat_history(self) -> list[ChatMessage]:
        """The conversation so far."""
        return list(self.memory.get_all())

    def reset(self) -> None:
        """Forget the conversation, the concepts shown and the pending image."""
        self.memory.reset()
        self.concepts.clear()
        self._pending_image = None

    # one turn -----------------------------------------------------------------------------

    def _turn(
        self,
        message: str,
        image: ImageInput | None,
        chat_history: list[ChatMessage] | None = None,
    ) -> list[ChatMessage]:
        """Retrieve what is new, add the user's message to memory, return the model input."""
        if chat_history is not None:
            self.memory.set(chat_history)
        if image is not None:
            self.set_image(image)
        picture, self._pending_image = self._pending_image, None
        retrieval = self.pipeline.retrieve(RAPQuery(message, image=picture))
        fresh = [n for n in retrieval.nodes if n.node.node_id not in self.concepts]
        start = len(self.concepts)  # the new pairs are numbered after those shown before
        for n in fresh:
            self.concepts[n.node.node_id] = n
        template = self.pipeline.pair_template
        blocks = user_blocks(picture, fresh, message, start + 1, template)
        self.memory.put(ChatMessage(role=MessageRole.USER, blocks=blocks))
        prefix = [ChatMessage(role=MessageRole.SYSTEM, content=self.pipeline.system_prompt)]
        return prefix + list(self.memory.get())

    def _response(self, text: str) -> AgentChatResponse:
        self.memory.put(ChatMessage(role=MessageRole.ASSISTANT, content=text))
        return AgentChatResponse(response=text, source_nodes=list(self.concepts.values()))

    @trace_method("chat")
    def chat(
        self,
        message: str,
        chat_history: list[ChatMessage] | None = None,
        image: ImageInput | None = None,
    ) -> AgentChatResponse:
        """Answer ``message``; ``image`` starts talking about a new picture."""
        messages = self._turn(message, image, chat_history)
        return self._response(self.llm.chat(messages).message.content or "")

    @trace_method("chat")
    def stream_chat(
        self,
        message: str,
        chat_history: list[ChatMessage] | None = None,
        image: ImageInput | None = None,
    ) -> StreamingAgentChatResponse:
        """Answer ``message`` token by token (``response.response_gen``)."""
        messages = self._turn(message, image, chat_history)
        response = StreamingAgentChatResponse(
            chat_stream=self.llm.stream_chat(messages),
            source_nodes=list(self.concepts.values()),
        )
        thread = Thread(target=response.write_response_to_history, args=(self.memory,))
        response.write_response_to_history_thread = thread
        thread.start()
        return response

    @trace_method("chat")
    async def achat(
        self,
        message: str,
        chat_history: list[ChatMessage] | None = None,
        image: ImageInput | None = None,
    ) -> AgentChatResponse:
        """Async :meth:`chat` (retrieval in a worker thread)."""
        messages = await asyncio.to_thread(self._turn, message, image, chat_history)
        answer = await self.llm.achat(messages)
        return self._response(answer.message.content or "")

    @trace_method("chat")
    async def astream_chat(
        self,
        message: str,
        chat_history: list[ChatMessage] | None = None,
        image: ImageInput | None = None,
    ) -> StreamingAgentChatResponse:
        """Async :meth:`stream_chat` (``response.async_response_gen()``)."""
        messages = await asyncio.to_thread(self._turn, message, image, chat_history)
        response = StreamingAgentChatResponse(
            achat_stream=await self.llm.astream_chat(messages),
            source_nodes=list(self.concepts.values()),
        )
        response.awrite_response_to_history_task = asyncio.create_task(
            response.awrite_response_to_history(self.memory)
        )
        return response

    def shown(self) -> list[tuple[int, str]]:
        """The concepts shown so far: (number, name)."""
        return [
            (index, str(n.node.metadata.get("name")))
            for index, n in enumerate(self.concepts.values(), start=1)
        ]

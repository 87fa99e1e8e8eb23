"""HuggingFaceVLM: a LlamaIndex chat LLM on transformers' image-text-to-text models.

Messages are LlamaIndex ``ChatMessage`` s whose ``TextBlock`` and ``ImageBlock`` s may come
in any order; they reach the model in that order through the processor's chat template.
Tested here: Qwen2-VL (the tiny random model, on CPU). Written for the same path and not
tested here (no weights offline): Qwen2.5-VL, LLaVA-1.5, LLaVA-NeXT and RAP-LLaVA, whose
processors take ``{"type": "image"}`` parts the same way. Phi-3-V and RAP-Phi3-mini use
``<|image_1|>`` placeholders with ``trust_remote_code`` processors instead: not supported
by this class.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import threading
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    ImageBlock,
    LLMMetadata,
    MessageRole,
    TextBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from llama_index_rap.generate.image_features import CachedImageProcessor
from llama_index_rap.images import load_image
from llama_index_rap.models.loaders import LoadedVLM, load_vlm
from llama_index_rap.models.specs import VLMSpec, get_profile

_generate_lock = threading.Lock()  # one generate at a time per process: models are shared


class HuggingFaceVLM(CustomLLM):
    """A transformers vision-language model as a LlamaIndex chat LLM.

    Args:
        model_name: A HuggingFace hub name, a local folder, or ``tiny:qwen2-vl`` (random
            weights, offline). Default: the default profile's Qwen2-VL-2B-Instruct.
        max_new_tokens: Most tokens generated per answer.
        generate_kwargs: Passed to ``model.generate`` (``do_sample``, ``temperature``...).
        device: Torch device; cuda when present, else cpu.
        dtype: ``"bfloat16"``, ``"float32"``...; bf16 on cuda, fp32 on cpu by default.
        context_window: Tokens the model reads.
        seed: Seed of the tiny model.
    """

    model_name: str = Field(
        default=get_profile("default").vlm.name_or_path, description="Hub name or folder."
    )
    max_new_tokens: int = Field(default=256, gt=0, description="Most tokens per answer.")
    generate_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra keyword arguments of model.generate."
    )
    device: str | None = Field(default=None, description="Torch device; automatic if None.")
    dtype: str | None = Field(default=None, description="Torch dtype name; automatic if None.")
    context_window: int = Field(default=32768, gt=0, description="Tokens the model reads.")
    seed: int = Field(default=0, description="Seed of the tiny random model.")

    _loaded: LoadedVLM | None = PrivateAttr(default=None)

    @classmethod
    def from_spec(cls, spec: VLMSpec, **kwargs: Any) -> HuggingFaceVLM:
        """Build from a :class:`~llama_index_rap.models.specs.VLMSpec`."""
        return cls(model_name=spec.name_or_path, seed=spec.seed, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex class name."""
        return "HuggingFaceVLM"

    @property
    def metadata(self) -> LLMMetadata:
        """What LlamaIndex needs to know about the model."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_new_tokens,
            is_chat_model=True,
            model_name=self.model_name,
        )

    @property
    def random_weights(self) -> bool:
        """Whether the model has random weights (its answers mean nothing)."""
        return VLMSpec(self.model_name, self.seed).is_random

    @property
    def loaded(self) -> LoadedVLM:
        """The model and processor (loaded on first use, once per process)."""
        if self._loaded is None:
            import torch

            dtype = getattr(torch, self.dtype) if self.dtype else None
            loaded = load_vlm(VLMSpec(self.model_name, self.seed), self.device, dtype)
            inner = getattr(loaded.processor, "image_processor", None)
            if inner is not None:
                # this model's own shallow copy: the loader's shared processor stays as it is
                processor = copy.copy(loaded.processor)
                processor.image_processor = CachedImageProcessor(inner)
                loaded = dataclasses.replace(loaded, processor=processor)
            self._loaded = loaded
        return self._loaded

    # turning messages into model inputs --------------------------------------------------

    def model_inputs(self, messages: Sequence[ChatMessage]) -> Any:
        """The tensors the model is given for ``messages`` (chat template, images processed).

        Args:
            messages: The chat, images as image blocks.
        """
        conversation, images = to_conversation(messages)
        loaded = self.loaded
        text = loaded.processor.apply_chat_template(
            conversation, add_generation_prompt=True, tokenize=False
        )
        inputs = loaded.processor(text=[text], images=images or None, return_tensors="pt")
        dtype = next(loaded.model.parameters()).dtype
        return {
            k: (v.to(loaded.device, dtype) if v.is_floating_point() else v.to(loaded.device))
            for k, v in inputs.items()
        }

    def _kwargs(self, **kwargs: Any) -> dict[str, Any]:
        options: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": False}
        options.update(self.generate_kwargs)
        options.update(kwargs)
        return options

    def generate_text(self, messages: Sequence[ChatMessage], **kwargs: Any) -> str:
        """Generate a whole answer to ``messages``."""
        import torch

        inputs = self.model_inputs(messages)
        with _generate_lock, torch.inference_mode():
            out = self.loaded.model.generate(**inputs, **self._kwargs(**kwargs))
        new = out[:, inputs["input_ids"].shape[1] :]
        return str(self.loaded.processor.batch_decode(new, skip_special_tokens=True)[0])

    def generate_stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[str]:
        """Generate an answer to ``messages`` piece by piece (a ``TextIteratorStreamer``)."""
        import torch
        from transformers import TextIteratorStreamer

        inputs = self.model_inputs(messages)
        streamer = TextIteratorStreamer(
            self.loaded.processor.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with _generate_lock, torch.inference_mode():
                    self.loaded.model.generate(
                        **inputs, streamer=streamer, **self._kwargs(**kwargs)
                    )
            except BaseException as e:  # noqa: BLE001 - re-raised in the consuming thread
                errors.append(e)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if errors:
            raise errors[0]

    # LlamaIndex LLM interface ---------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Answer the conversation (images interleaved with text, in order)."""
        text = self.generate_text(messages, **kwargs)
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Answer the conversation token by token."""

        def gen() -> ChatResponseGen:
            text = ""
            for piece in self.generate_stream(messages, **kwargs):
                text += piece
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=piece
                )

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat` (generation runs in a worker thread)."""
        text = await asyncio.to_thread(self.generate_text, messages, **kwargs)
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat` (tokens are pulled from a worker thread)."""

        async def gen() -> ChatResponseAsyncGen:
            text = ""
            async for piece in _async_iter(self.generate_stream(messages, **kwargs)):
                text += piece
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=piece
                )

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Answer a text prompt (no image), through :meth:`chat`."""
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Answer a text prompt token by token, through :meth:`stream_chat`."""
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async :meth:`complete`."""
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`."""
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)


def to_conversation(messages: Sequence[ChatMessage]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Messages for the processor's chat template, and the images in order of appearance.

    Each block becomes a ``{"type": "text"}`` or ``{"type": "image"}`` part, in order.
    """
    conversation: list[dict[str, Any]] = []
    images: list[Any] = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                if block.text:
                    parts.append({"type": "text", "text": block.text})
            elif isinstance(block, ImageBlock):
                images.append(load_image(block.resolve_image().read()).image)
                parts.append({"type": "image"})
        conversation.append({"role": message.role.value, "content": parts})
    return conversation, images


async def _async_iter(items: Iterator[str]) -> AsyncGenerator[str, None]:
    done = object()
    while True:
        item = await asyncio.to_thread(next, items, done)
        if item is done:
            return
        yield str(item)

"""Using a legacy LlamaIndex ``MultiModalLLM`` (e.g. ``HuggingFaceMultiModal``) in the engines.

llama-index-multi-modal-llms-huggingface is deprecated upstream, and it shows:

- ``complete(prompt, image_documents)`` takes one text and a list of images, and its Qwen2-VL
  class puts every image before the text: RAP's interleaving (query image, then each concept
  image beside its name) is approximated by images first, then the text with ``<image>``
  placeholders where each image stood;
- chat reads only the first message: the conversation is flattened into one prompt;
- no streaming (a stream yields the whole answer once) and no async (run in a thread);
- it cannot load a local Qwen2-VL folder by itself (``from_model_name`` picks
  ``AutoModelForCausalLM``), loads the model twice when constructed, and hands image paths to
  ``qwen_vl_utils`` as ``Path`` objects, which fails. :class:`LoadedQwen2VisionMultiModal`
  fixes those three by taking an already loaded model.

:class:`LegacyMultiModalAdapter` makes any such model a chat LLM for the engines.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    ImageBlock,
    LLMMetadata,
    MessageRole,
    TextBlock,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.multi_modal_llms.huggingface.base import Qwen2VisionMultiModal

from llama_index_rap.format.messages import IMAGE_SLOT
from llama_index_rap.images import load_image
from llama_index_rap.models.loaders import LoadedVLM


class LoadedQwen2VisionMultiModal(Qwen2VisionMultiModal):
    """The legacy ``Qwen2VisionMultiModal`` on a model that is already loaded.

    Args:
        loaded: A model and processor from :func:`llama_index_rap.models.loaders.load_vlm`.
        max_new_tokens: Most tokens per answer.
    """

    def __init__(self, loaded: LoadedVLM, max_new_tokens: int = 256) -> None:
        # Skip the parents' __init__, which would load the weights (twice) by name.
        CustomLLM.__init__(
            self,
            model_name=str(loaded.path),
            tokenizer_name=str(loaded.path),
            device=loaded.device,
            max_new_tokens=max_new_tokens,
        )
        self._model = loaded.model
        self._processor = loaded.processor
        self._config = loaded.model.config

    def _prepare_messages(
        self, messages: Sequence[ChatMessage], image_documents: Sequence[Any]
    ) -> dict[str, Any]:
        # qwen_vl_utils needs str paths; ImageBlock keeps them as Path
        as_str = [_PathAsStr(str(doc.path)) for doc in image_documents]
        return super()._prepare_messages(messages, as_str)  # type: ignore[no-any-return]


class _PathAsStr:
    def __init__(self, path: str) -> None:
        self.path = path


class LegacyMultiModalAdapter(CustomLLM):
    """A legacy ``MultiModalLLM`` (``complete(prompt, image_documents)``) as a chat LLM.

    Args:
        legacy: The legacy model, e.g. ``HuggingFaceMultiModal`` or
            :class:`LoadedQwen2VisionMultiModal`.
    """

    legacy: Any = Field(description="A MultiModalLLM with complete(prompt, image_documents).")

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex class name."""
        return "LegacyMultiModalAdapter"

    @property
    def metadata(self) -> LLMMetadata:
        """The legacy model's metadata, as a chat model."""
        meta = self.legacy.metadata
        return LLMMetadata(
            context_window=meta.context_window,
            num_output=meta.num_output,
            is_chat_model=True,
            model_name=meta.model_name,
        )

    def _answer(self, messages: Sequence[ChatMessage]) -> str:
        prompt, images = flatten(messages)
        with tempfile.TemporaryDirectory(prefix="rap-legacy-") as folder:
            blocks = []
            for i, image in enumerate(images):
                path = Path(folder) / f"{i}.png"
                load_image(image).image.save(path, format="PNG")
                blocks.append(ImageBlock(path=path))
            return str(self.legacy.complete(prompt, image_documents=blocks).text)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Answer, with all images first and the flattened conversation as text."""
        text = self._answer(messages)
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """No token streaming upstream: yields the whole answer once."""
        text = self._answer(messages)

        def gen() -> ChatResponseGen:
            yield ChatResponse(
                message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=text
            )

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat` (in a worker thread)."""
        text = await asyncio.to_thread(self._answer, messages)
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`: the whole answer once."""
        text = await asyncio.to_thread(self._answer, messages)

        async def gen() -> ChatResponseAsyncGen:
            yield ChatResponse(
                message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=text
            )

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Answer a text prompt."""
        return CompletionResponse(text=self._answer([ChatMessage(content=prompt)]))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """The whole answer once."""
        text = self._answer([ChatMessage(content=prompt)])

        def gen() -> CompletionResponseGen:
            yield CompletionResponse(text=text, delta=text)

        return gen()


def flatten(messages: Sequence[ChatMessage]) -> tuple[str, list[bytes]]:
    """One prompt text (``<image>`` where each image stood) and the images in order."""
    lines, images = [], []
    for message in messages:
        parts = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                parts.append(block.text)
            elif isinstance(block, ImageBlock):
                images.append(block.resolve_image().read())
                parts.append(IMAGE_SLOT)
        text = "".join(parts)
        lines.append(text if len(messages) == 1 else f"{message.role.value}: {text}")
    return "\n".join(lines), images

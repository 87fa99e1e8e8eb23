from __future__ import annotations

import asyncio
import io

import pytest
import torch
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole, TextBlock
from llama_index.core.llms import LLM

from llama_index_rap.generate import (
    HuggingFaceVLM,
    LegacyMultiModalAdapter,
    LoadedQwen2VisionMultiModal,
)
from llama_index_rap.generate.hf_vlm import to_conversation
from llama_index_rap.generate.legacy import flatten
from tests.imagegen import photo


def png(seed: int, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    photo(seed, size).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def vlm() -> HuggingFaceVLM:
    return HuggingFaceVLM(model_name="tiny:qwen2-vl", max_new_tokens=6)


def interleaved() -> list[ChatMessage]:
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="The listed people are the user's own."),
        ChatMessage(
            role=MessageRole.USER,
            blocks=[
                ImageBlock(image=png(1, (120, 90))),
                TextBlock(text="\n[1."),
                ImageBlock(image=png(2, (64, 64))),
                TextBlock(text="\n Name: <bo>, Info: a dog.\n] What is <bo> doing?"),
            ],
        ),
    ]


def test_is_a_chat_llm(vlm: HuggingFaceVLM) -> None:
    assert isinstance(vlm, LLM)
    assert vlm.metadata.is_chat_model and vlm.random_weights
    assert HuggingFaceVLM().model_name == "Qwen/Qwen2-VL-2B-Instruct"


def test_blocks_reach_the_model_in_order(vlm: HuggingFaceVLM) -> None:
    conversation, images = to_conversation(interleaved())
    parts = [p["type"] for p in conversation[1]["content"]]
    assert parts == ["image", "text", "image", "text"]
    assert [im.size for im in images] == [(120, 90), (64, 64)]
    text = vlm.loaded.processor.apply_chat_template(conversation, add_generation_prompt=True)
    vision = "<|vision_start|><|image_pad|><|vision_end|>"
    assert f"{vision}\n[1.{vision}\n Name: <bo>" in text
    assert text.index("user's own") < text.index(vision)


def test_chat_stream_and_history(vlm: HuggingFaceVLM) -> None:
    answer = vlm.chat(interleaved()).message.content
    assert answer  # a real generate on CPU (random weights: the words mean nothing)
    pieces = [r.delta for r in vlm.stream_chat(interleaved())]
    assert len(pieces) >= 2 and "".join(p or "" for p in pieces) == answer
    history = [
        *interleaved(),
        ChatMessage(role=MessageRole.ASSISTANT, content="It sleeps."),
        ChatMessage(role=MessageRole.USER, content="And then?"),
    ]
    conversation, images = to_conversation(history)
    assert [m["role"] for m in conversation] == ["system", "user", "assistant", "user"]
    assert len(images) == 2
    assert vlm.chat(history).message.content is not None
    short = [r.delta for r in vlm.stream_chat(interleaved(), max_new_tokens=2)]
    assert 1 <= len(short) <= 2  # generation kwargs pass through


def test_async_variants(vlm: HuggingFaceVLM) -> None:
    async def run() -> tuple[str, list[str], str, str]:
        chat = await vlm.achat(interleaved())
        stream = await vlm.astream_chat(interleaved())
        pieces = [r.delta or "" async for r in stream]
        done = await vlm.acomplete("Hello")
        streamed = "".join([r.delta or "" async for r in await vlm.astream_complete("Hello")])
        return chat.message.content or "", pieces, done.text, streamed

    chat, pieces, done, streamed = asyncio.run(run())
    assert chat == "".join(pieces) and isinstance(done, str) and done and streamed == done
    assert vlm.complete("Hello").text == done
    assert "".join(r.delta or "" for r in vlm.stream_complete("Hello")) == done


def test_device_and_dtype_are_chosen(vlm: HuggingFaceVLM) -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert vlm.loaded.device == expected
    assert vlm.loaded.model.dtype == (torch.bfloat16 if expected == "cuda" else torch.float32)
    assert not vlm.loaded.model.training


def test_legacy_multimodal_llm_through_the_adapter(vlm: HuggingFaceVLM) -> None:
    legacy = LoadedQwen2VisionMultiModal(vlm.loaded, max_new_tokens=4)
    llm = LegacyMultiModalAdapter(legacy=legacy)
    assert isinstance(llm, LLM) and llm.metadata.is_chat_model
    prompt, images = flatten(interleaved())
    assert len(images) == 2
    assert "user: <image>\n[1.<image>\n Name: <bo>" in prompt  # images stand as placeholders
    answer = llm.chat(interleaved()).message.content
    assert isinstance(answer, str)
    streamed = list(llm.stream_chat(interleaved()))
    assert len(streamed) == 1 and streamed[0].delta == answer  # no token streaming upstream
    assert asyncio.run(llm.achat(interleaved())).message.content == answer

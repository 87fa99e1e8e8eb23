from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.llms.types import CompletionResponse, ImageBlock, LLMMetadata, TextBlock
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.chat_engine.types import BaseChatEngine
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import QueryEngineTool

from llama_index_rap.engine import RAPChatEngine, RAPQueryEngine
from llama_index_rap.engine.tasks import parse_yes_no
from llama_index_rap.errors import ConceptNotFoundError
from llama_index_rap.generate import HuggingFaceVLM
from llama_index_rap.retrieve import RAPQuery, RAPRetriever
from llama_index_rap.store import ConceptStore
from tests.events import recorded
from tests.imagegen import photo
from tests.llms import RecordingLLM
from tests.scenes import scene

BO_BOX = (20, 30, 170, 140)


@pytest.fixture
def retriever(store: ConceptStore) -> RAPRetriever:
    store.remember("Bo", photo(1), "Bo is my dog.", category="dog")
    store.remember("Mam", photo(2), "Mam is my mother.", category="person")
    store.remember("Toy", photo(3), "A plush bear.", category="toy")
    return RAPRetriever(store, detector=None, max_distance=0.02)


@pytest.fixture(scope="module")
def tiny_vlm() -> HuggingFaceVLM:
    return HuggingFaceVLM(model_name="tiny:qwen2-vl", max_new_tokens=5)


def bo_scene():
    return scene([(photo(1), BO_BOX)])


def test_engine_types(retriever: RAPRetriever, tiny_vlm: HuggingFaceVLM) -> None:
    assert isinstance(RAPQueryEngine(retriever, tiny_vlm), BaseQueryEngine)
    assert isinstance(RAPChatEngine(retriever, tiny_vlm), BaseChatEngine)


@pytest.mark.parametrize("task", ["ask", "caption", "recognize"])
def test_each_task_end_to_end_with_the_tiny_vlm(
    retriever: RAPRetriever, tiny_vlm: HuggingFaceVLM, task: str
) -> None:
    engine = RAPQueryEngine(retriever, tiny_vlm)
    image = bo_scene()
    if task == "ask":
        response = engine.ask(image, "What is <bo> doing?", boxes=[BO_BOX])
    elif task == "caption":
        response = engine.caption(image, boxes=[BO_BOX])
    else:
        response = engine.recognize(image, "bo", boxes=[BO_BOX])
    assert isinstance(response, Response)
    assert isinstance(response.response, str) and response.response  # a real generate
    assert [n.node.metadata["name"] for n in response.source_nodes] == ["Bo"]
    meta = response.metadata or {}
    assert meta["task"] == task
    assert meta["prompt"].startswith("[system] ")
    assert "[user] <image>\n[1.<image>\n Name: <Bo>, Info: Bo is my dog.\n] " in meta["prompt"]
    assert meta["boxes"][0]["name"] == "Bo"
    assert set(meta["timings"]) >= {"encode", "search", "generate", "total"}
    if task == "recognize":
        assert meta["question"] == "Is <Bo> in this image? Answer yes or no."
        assert meta["evidence"]["found_in_image"] is True
        assert meta["evidence"]["box"] == list(BO_BOX)
        assert meta["recognized"] is parse_yes_no(response.response)


def test_the_message_any_llm_receives(retriever: RAPRetriever) -> None:
    llm = RecordingLLM()
    engine = RAPQueryEngine(retriever, llm)
    response = engine.recognize(bo_scene(), "<BO>", boxes=[BO_BOX])
    assert response.metadata and response.metadata["recognized"] is True
    system, user = llm.calls[-1]
    assert "user's own" in str(system.content)
    kinds = ["img" if isinstance(b, ImageBlock) else "text" for b in user.blocks]
    assert kinds == ["img", "text", "text", "img", "text", "text"]
    texts = [b.text for b in user.blocks if isinstance(b, TextBlock)]
    assert texts == [
        "\n[",
        "1.",
        "\n Name: <Bo>, Info: Bo is my dog.\n",
        "] Is <Bo> in this image? Answer yes or no.",
    ]
    stranger = engine.recognize(scene([(photo(77), BO_BOX)]), "Bo", boxes=[BO_BOX])
    assert stranger.metadata and stranger.metadata["evidence"]["found_in_image"] is False
    with pytest.raises(ConceptNotFoundError):
        engine.recognize(bo_scene(), "Nobody")


def test_no_concept_gives_a_plain_question(retriever: RAPRetriever) -> None:
    llm = RecordingLLM(answer="A landscape.")
    response = RAPQueryEngine(retriever, llm).ask(photo(77), "What is this?")
    assert response.source_nodes == []
    (user,) = llm.calls[-1]  # no system line, no concept list
    assert [type(b).__name__ for b in user.blocks] == ["ImageBlock", "TextBlock"]
    assert response.metadata and response.metadata["prompt"] == "[user] <image>\nWhat is this?"


def test_streaming_and_async(retriever: RAPRetriever, tiny_vlm: HuggingFaceVLM) -> None:
    engine = RAPQueryEngine(retriever, tiny_vlm, streaming=True)
    response = engine.ask(bo_scene(), "Who is here?", boxes=[BO_BOX])
    assert isinstance(response, StreamingResponse)
    tokens = list(response.response_gen)
    assert len(tokens) >= 2
    assert response.metadata and "generate" in response.metadata["timings"]
    plain = RAPQueryEngine(retriever, tiny_vlm)
    sync = plain.ask(bo_scene(), "Who is here?", boxes=[BO_BOX])
    assert "".join(tokens) == str(sync)
    result = asyncio.run(plain.aquery(RAPQuery("Who is here?", image=bo_scene(), boxes=[BO_BOX])))
    assert str(result) == str(sync)


def test_query_events_fire_and_the_image_survives(retriever: RAPRetriever) -> None:
    with recorded() as events:
        response = RAPQueryEngine(retriever, RecordingLLM()).query(
            RAPQuery("What is <toy>?", image=bo_scene(), boxes=[BO_BOX])
        )
    assert "QueryStartEvent" in events and "QueryEndEvent" in events
    assert [n.node.metadata["name"] for n in response.source_nodes] == ["Toy", "Bo"]


def _ask(retriever: RAPRetriever) -> None:
    RAPQueryEngine(retriever, RecordingLLM()).ask(bo_scene(), "Who?", boxes=[BO_BOX])


def _query_stream(retriever: RAPRetriever) -> None:
    engine = RAPQueryEngine(retriever, RecordingLLM(), streaming=True)
    response = engine.query(RAPQuery("Who?", image=bo_scene(), boxes=[BO_BOX]))
    assert isinstance(response, StreamingResponse)
    list(response.response_gen)


def _aquery(retriever: RAPRetriever) -> None:
    engine = RAPQueryEngine(retriever, RecordingLLM())
    asyncio.run(engine.aquery(RAPQuery("Who?", image=bo_scene(), boxes=[BO_BOX])))


def _chat(retriever: RAPRetriever) -> None:
    RAPChatEngine(retriever, RecordingLLM(), image=bo_scene()).chat("Is Bo here?")


def _stream_chat(retriever: RAPRetriever) -> None:
    chat = RAPChatEngine(retriever, RecordingLLM(), image=bo_scene())
    list(chat.stream_chat("Is Bo here?").response_gen)


def _achat(retriever: RAPRetriever) -> None:
    chat = RAPChatEngine(retriever, RecordingLLM(), image=bo_scene())
    asyncio.run(chat.achat("Is Bo here?"))


def _astream_chat(retriever: RAPRetriever) -> None:
    async def run() -> None:
        chat = RAPChatEngine(retriever, RecordingLLM(), image=bo_scene())
        response = await chat.astream_chat("Is Bo here?")
        async for _ in response.async_response_gen():
            pass

    asyncio.run(run())


def _workflow(retriever: RAPRetriever) -> None:
    from llama_index_rap.workflow import RAPWorkflow

    flow = RAPWorkflow(retriever, RecordingLLM())
    result = asyncio.run(_run_workflow(flow))
    assert result["concepts"] == ["Bo"]


async def _run_workflow(flow: Any) -> Any:
    return await flow.run(image=bo_scene(), question="Is <Bo> here?", boxes=[BO_BOX])


@pytest.mark.parametrize(
    "run",
    [_ask, _query_stream, _aquery, _chat, _stream_chat, _achat, _astream_chat, _workflow],
    ids=lambda f: f.__name__.strip("_"),
)
def test_retrieval_events_fire_inside_every_engine_form(retriever: RAPRetriever, run: Any) -> None:
    with recorded() as events:
        run(retriever)
    assert "RetrievalStartEvent" in events and "RetrievalEndEvent" in events, events
    start = events.index("RetrievalStartEvent")
    assert events.index("RetrievalEndEvent") > start


def test_prompts_are_reached_through_get_and_update_prompts(retriever: RAPRetriever) -> None:
    engine = RAPQueryEngine(retriever, RecordingLLM())
    prompts = engine.get_prompts()
    assert set(prompts) == {"system_prompt", "pair_template"}
    engine.update_prompts(
        {
            "pair_template": PromptTemplate("#{index} {name} ({info}) <image>"),
            "system_prompt": PromptTemplate("These are mine."),
        }
    )
    text = (engine.ask(bo_scene(), "Who?", boxes=[BO_BOX]).metadata or {})["prompt"]
    assert text.startswith("[system] These are mine.") and "#1 Bo (Bo is my dog.) <image>" in text


def test_query_engine_tool(retriever: RAPRetriever) -> None:
    tool = QueryEngineTool.from_defaults(
        RAPQueryEngine(retriever, RecordingLLM(answer="Mam is the user's mother.")),
        name="personal_photos",
        description="Answers questions about the user's people and pets.",
    )
    output = tool.call("Who is <mam>?")
    assert "Mam is the user's mother." in str(output)
    assert tool.metadata.name == "personal_photos"


def test_chat_retrieves_again_when_a_new_concept_is_named(
    retriever: RAPRetriever, tiny_vlm: HuggingFaceVLM
) -> None:
    llm = RecordingLLM(answer="Noted.")
    chat = RAPChatEngine(retriever, llm, image=bo_scene())
    retriever.whole_image = True
    first = chat.chat("Who is this?")
    assert first.response == "Noted."
    assert chat.shown() == []  # Bo is too small for the whole-image search at 0.02
    second = chat.chat("Is Bo a good dog?")
    assert chat.shown() == [(1, "Bo")]
    third = chat.chat("And what about <mam> and Bo?")
    assert chat.shown() == [(1, "Bo"), (2, "Mam")]
    last_user = llm.calls[-1][-1]
    texts = "".join(b.text for b in last_user.blocks if isinstance(b, TextBlock))
    assert texts == "[2.\n Name: <Mam>, Info: Mam is my mother.\n] And what about <mam> and Bo?"
    assert [m.role.value for m in chat.chat_history] == ["user", "assistant"] * 3
    assert len(second.source_nodes) == 1 and len(third.source_nodes) == 2
    chat.chat("And here?", image=scene([(photo(3), (10, 10, 470, 350))]))
    assert chat.shown()[-1] == (3, "Toy")  # a new image is searched too
    chat.reset()
    assert chat.chat_history == [] and chat.shown() == []


def test_chat_streams_and_runs_async(retriever: RAPRetriever, tiny_vlm: HuggingFaceVLM) -> None:
    chat = RAPChatEngine(retriever, tiny_vlm, image=bo_scene())
    streamed = chat.stream_chat("Tell me about Bo.")
    tokens = list(streamed.response_gen)
    assert len(tokens) >= 2
    # response_gen joins LlamaIndex's history-writing thread before it ends: no wait needed
    assert chat.chat_history[-1].content == "".join(tokens)

    async def run() -> tuple[str, str]:
        a = await chat.achat("And Mam?")
        s = await chat.astream_chat("More?")
        pieces = [t async for t in s.async_response_gen()]
        return a.response, "".join(pieces)

    answer, streamed_text = asyncio.run(run())
    assert answer and streamed_text
    assert chat.shown() == [(1, "Bo"), (2, "Mam")]


class CompletionOnly(CustomLLM):
    """A text-only LLM: LlamaIndex answers its chat() through complete()."""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="completion-only")

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="text only")

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_an_llm_that_would_drop_the_images_is_warned_about(
    retriever: RAPRetriever, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="llama_index_rap.engine.pipeline"):
        RAPQueryEngine(retriever, CompletionOnly())
    assert "drops every image" in caplog.text and "CompletionOnly" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="llama_index_rap.engine.pipeline"):
        RAPChatEngine(retriever, RecordingLLM())  # implements chat() with image blocks
    assert caplog.text == ""


def test_settings_llm_is_used_when_no_llm_is_given(retriever: RAPRetriever) -> None:
    from llama_index.core import Settings

    Settings.llm = RecordingLLM(answer="from Settings")
    try:
        engine = RAPQueryEngine(retriever)
    finally:
        Settings.llm = None
    assert str(engine.ask(bo_scene(), "Who?")) == "from Settings"


def test_recognize_says_no_when_retrieval_does_not_see_the_concept(
    retriever: RAPRetriever,
) -> None:
    stranger = scene([(photo(42), BO_BOX)])  # someone else's dog where Bo would be
    yes = RecordingLLM(answer="Yes.")
    said = RAPQueryEngine(retriever, yes).recognize(stranger, "Bo", boxes=[BO_BOX])
    meta = said.metadata or {}
    assert meta["evidence"]["found_in_image"] is False
    assert meta["vlm_said"] is True and meta["recognized"] is False  # the VLM is overruled
    trusted = RAPQueryEngine(retriever, yes, trust_vlm=True).recognize(stranger, "Bo")
    assert (trusted.metadata or {})["recognized"] is True
    seen = RAPQueryEngine(retriever, yes).recognize(bo_scene(), "Bo", boxes=[BO_BOX])
    assert (seen.metadata or {})["recognized"] is True

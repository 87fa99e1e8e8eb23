from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ToolCallResult
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from llama_index.core.workflow import Workflow

from llama_index_rap.generate import HuggingFaceVLM
from llama_index_rap.retrieve import RAPRetriever
from llama_index_rap.store import ConceptStore
from llama_index_rap.tools import RAPToolSpec
from llama_index_rap.workflow import RAPWorkflow, TokenEvent
from tests.imagegen import photo, save
from tests.llms import RecordingLLM
from tests.scenes import scene
from tests.scripted import ScriptedAgentLLM, call, say


@pytest.fixture(scope="module")
def tiny_vlm() -> HuggingFaceVLM:
    return HuggingFaceVLM(model_name="tiny:qwen2-vl", max_new_tokens=4)


@pytest.fixture
def spec(store: ConceptStore, tmp_path: Path, tiny_vlm: HuggingFaceVLM) -> RAPToolSpec:
    from llama_index_rap.engine import RAPQueryEngine

    retriever = RAPRetriever(store, detector=None, max_distance=0.05)
    engine = RAPQueryEngine(retriever, tiny_vlm)
    return RAPToolSpec(store, retriever=retriever, engine=engine, allowed_roots=[tmp_path])


def test_tool_spec_is_a_llama_index_tool_spec(spec: RAPToolSpec) -> None:
    assert isinstance(spec, BaseToolSpec)
    tools = {t.metadata.name: t for t in spec.to_tool_list()}
    assert set(tools) == {
        "remember_concept",
        "forget_concept",
        "not_this_concept",
        "list_concepts",
        "find_concepts_in_image",
        "caption_image",
        "ask_about_image",
    }
    schema = tools["remember_concept"].metadata.get_parameters_dict()
    assert set(schema["required"]) == {"image_path", "name", "description"}
    assert "Shiba Inu" in tools["remember_concept"].metadata.description


def test_tools_run_against_a_real_store(spec: RAPToolSpec, tmp_path: Path) -> None:
    bo = save(photo(1), tmp_path / "bo.png")
    assert spec.remember_concept(str(bo), "Bo", "The user's dog.", "dog") == (
        "Remembered Bo: The user's dog."
    )
    assert json.loads(spec.list_concepts()) == [
        {"name": "Bo", "category": "dog", "description": "The user's dog."}
    ]
    photo_path = save(scene([(photo(1), (10, 10, 470, 350))]), tmp_path / "new.png")
    found = json.loads(spec.find_concepts_in_image(str(photo_path)))
    assert [f["name"] for f in found] == ["Bo"] and "<= 0.050" in found[0]["why"]
    assert spec.caption_image(str(photo_path))  # a real (random) caption
    assert spec.ask_about_image(str(photo_path), "What is Bo doing?")
    stranger = save(photo(77), tmp_path / "stranger.png")
    assert spec.find_concepts_in_image(str(stranger)) == (
        "None of the user's concepts is in this photo."
    )
    lookalike = save(scene([(photo(1), (12, 12, 470, 350))]), tmp_path / "lookalike.png")
    assert spec.not_this_concept(str(lookalike), "Bo") == "Noted: that photo is not Bo."
    assert spec.find_concepts_in_image(str(lookalike)) == (
        "None of the user's concepts is in this photo."
    )
    assert spec.not_this_concept(str(lookalike), "Nobody").startswith("Error: ")
    assert spec.forget_concept("bo") == "Forgot Bo."
    assert json.loads(spec.list_concepts()) == []


def test_tools_return_errors_to_the_agent(spec: RAPToolSpec, tmp_path: Path) -> None:
    outside = save(photo(1), tmp_path.parent / f"{tmp_path.name}-outside.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    assert spec.remember_concept(str(tmp_path / "nope.png"), "Bo", "x").startswith(
        "Error: there is no file"
    )
    assert "outside the folders" in spec.remember_concept(str(outside), "Bo", "x")
    assert spec.remember_concept(str(notes), "Bo", "x").startswith("Error:")
    assert "not an image" in spec.find_concepts_in_image(str(notes))
    assert spec.forget_concept("Nobody").startswith("Error: user 'alice' has no concept")
    assert spec.remember_concept(str(save(photo(1), tmp_path / "b.png")), "", "x").startswith(
        "Error: name"
    )


def test_workflow_streams_token_events_through_its_steps(
    store: ConceptStore, tmp_path: Path, tiny_vlm: HuggingFaceVLM
) -> None:
    store.remember("Bo", photo(1), "My dog.", category="dog")
    workflow = RAPWorkflow(RAPRetriever(store, detector=None, max_distance=0.05), tiny_vlm)
    assert isinstance(workflow, Workflow)
    image = save(scene([(photo(1), (10, 10, 470, 350))]), tmp_path / "q.png")

    async def run() -> tuple[list[object], dict[str, object]]:
        handler = workflow.run(image=str(image), question="Who is it?")
        events: list[object] = [event async for event in handler.stream_events()]
        result: dict[str, object] = await handler
        return events, result

    events, result = asyncio.run(run())
    tokens = [e.delta for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) >= 2 and "".join(tokens) == result["answer"]
    assert result["concepts"] == ["Bo"]
    assert "Name: <Bo>, Info: My dog." in str(result["prompt"])


def test_workflow_inside_an_agent_workflow(store: ConceptStore, tmp_path: Path) -> None:
    store.remember("Bo", photo(1), "My dog.", category="dog")
    workflow = RAPWorkflow(
        RAPRetriever(store, detector=None, max_distance=0.05), RecordingLLM(answer="Bo naps.")
    )
    image = save(scene([(photo(1), (10, 10, 470, 350))]), tmp_path / "q.png")
    llm = ScriptedAgentLLM(
        script=[
            call("personal_photo_question", image_path=str(image), question="What is Bo doing?"),
            say(lambda last: f"The photo says: {last}"),
        ]
    )
    agent = FunctionAgent(tools=[workflow.as_tool()], llm=llm, system_prompt="Help the user.")
    flow = AgentWorkflow(agents=[agent])

    async def run() -> tuple[str, list[str]]:
        handler = flow.run(user_msg="What is Bo doing in my photo?")
        results = [
            e.tool_output.content
            async for e in handler.stream_events()
            if isinstance(e, ToolCallResult)
        ]
        return str(await handler), results

    answer, results = asyncio.run(run())
    assert results == ["Bo naps."]
    assert answer == "The photo says: Bo naps."

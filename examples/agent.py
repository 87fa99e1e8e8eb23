"""An agent that learns a new concept mid-conversation and uses it on the next photo.

A LlamaIndex FunctionAgent gets RAPToolSpec's tools. Offline (``--models tiny``) the agent's
own LLM is scripted (examples/scripted_llm.py), so its tool calls really run against a real
store; pass ``--llm package.module:factory`` to use a real function-calling LLM instead.

    .venv/bin/python examples/agent.py --models tiny
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import tempfile
from pathlib import Path
from typing import Any, Literal

from llama_index.core.agent.workflow import FunctionAgent, ToolCall
from llama_index.core.workflow import Context

from llama_index_rap.demo import pictures
from llama_index_rap.engine import RAPQueryEngine
from llama_index_rap.generate import HuggingFaceVLM
from llama_index_rap.models.specs import get_profile
from llama_index_rap.retrieve import RAPRetriever
from llama_index_rap.store import ConceptStore
from llama_index_rap.tools import RAPToolSpec
from scripted_llm import ScriptedAgentLLM, call, say


def scripted(photos: Path) -> ScriptedAgentLLM:
    bo, park = str(photos / "bo.png"), str(photos / "park.png")
    return ScriptedAgentLLM(
        script=[
            call(
                "remember_concept",
                image_path=bo,
                name="Bo",
                description="Bo is the user's Shiba Inu with a red collar.",
                category="dog",
            ),
            say(lambda result: f"Nice to meet Bo! ({result})"),
            call("find_concepts_in_image", image_path=park),
            say(
                lambda result: (
                    "In that photo I see: " + ", ".join(f["name"] for f in json.loads(result))
                    if result.startswith("[")
                    else result
                )
            ),
        ]
    )


def load_llm(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)()


async def run(args: argparse.Namespace) -> list[str]:
    profile = get_profile(args.models)
    photos = Path(tempfile.mkdtemp(prefix="rap-agent-"))
    pictures.bo().save(photos / "bo.png")
    pictures.park().save(photos / "park.png")
    store = ConceptStore(photos / "db", models=profile, user="me")
    # the tiny random encoder puts the park photo 0.06 from Bo's: 0.1 lets the whole-image
    # search find him (its profile's 0.02 keeps only near-copies); real encoders keep theirs
    distance: float | Literal["profile"] = 0.1 if profile.random_retrieval else "profile"
    retriever = RAPRetriever(store, detector=None, max_distance=distance)
    engine = RAPQueryEngine(retriever, HuggingFaceVLM.from_spec(profile.vlm, max_new_tokens=30))
    tools = RAPToolSpec(store, retriever=retriever, engine=engine, allowed_roots=[photos])
    llm = load_llm(args.llm) if args.llm else scripted(photos)
    agent = FunctionAgent(
        tools=list[Any](tools.to_tool_list()),
        llm=llm,
        system_prompt="You help the user with their photos. Remember the people, pets and "
        "objects they introduce, then recognise them in new photos.",
    )
    ctx = Context(agent)
    replies = []
    for message in (
        f"This is my dog Bo, a Shiba Inu with a red collar: {photos / 'bo.png'}",
        f"Who is in this photo? {photos / 'park.png'}",
    ):
        print(f"user: {message}")
        handler = agent.run(message, ctx=ctx)
        async for event in handler.stream_events():
            if isinstance(event, ToolCall):
                print(f"  tool call: {event.tool_name}({event.tool_kwargs})")
        reply = str(await handler)
        print(f"agent: {reply}")
        replies.append(reply)
    print("store now holds:", [c.name for c in store.list()])
    return replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", choices=["tiny", "default"], default="tiny")
    parser.add_argument(
        "--llm", default=None, help="module:factory returning a function-calling LlamaIndex LLM"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""A scripted function-calling LLM, so the agent example runs offline.

Its tool calls really run: each model call plays the next step of the script, a tool call
or a reply that may use the last tool result. Built on llama-index-core's
MockFunctionCallingLLM.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.llms.mock import MockFunctionCallingLLM


@dataclass(frozen=True)
class Step:
    """One scripted turn: a tool call, or a reply built from the last tool result."""

    tool: str | None = None
    kwargs: dict[str, Any] | None = None
    reply: Callable[[str], str] | None = None


def call(tool: str, **kwargs: Any) -> Step:
    """A step that calls ``tool`` with ``kwargs``."""
    return Step(tool=tool, kwargs=kwargs)


def say(reply: Callable[[str], str] | str) -> Step:
    """A step that answers (``reply`` may be a function of the last tool result)."""
    if callable(reply):
        return Step(reply=reply)
    text = reply
    return Step(reply=lambda _last: text)


class ScriptedAgentLLM(MockFunctionCallingLLM):
    """Plays ``script`` one step per model call."""

    def __init__(self, script: Sequence[Step], **kwargs: Any) -> None:
        steps = list(script)

        def respond(messages: Sequence[ChatMessage], **_: Any) -> ChatMessage:
            if not steps:
                return ChatMessage(role=MessageRole.ASSISTANT, content="(the script is over)")
            step = steps.pop(0)
            if step.tool is not None:
                block = ToolCallBlock(
                    tool_call_id=uuid.uuid4().hex,
                    tool_name=step.tool,
                    tool_kwargs=step.kwargs or {},
                )
                return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])
            last = next(
                (m.content or "" for m in reversed(messages) if m.role == MessageRole.TOOL), ""
            )
            assert step.reply is not None
            return ChatMessage(
                role=MessageRole.ASSISTANT, blocks=[TextBlock(text=step.reply(last))]
            )

        super().__init__(response_generator=respond, is_chat_model=True, **kwargs)

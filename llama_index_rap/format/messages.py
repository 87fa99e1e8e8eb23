"""Building the one user message RAP's models read: query image, numbered pairs, question.

    <query image>
    [1.<concept image>
     Name: <bo>, Info: <bo> is a Shiba Inu with a red collar.
    2.<concept image>
     Name: <mam>, Info: ...
    ] What is <bo> doing?

The message is a LlamaIndex ``ChatMessage`` whose ``TextBlock`` and ``ImageBlock`` s keep
that order, so any LLM that accepts image blocks reads the same layout. A text rendering
with ``<image>`` placeholders goes into the response metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core.base.llms.generic_utils import image_node_to_image_block
from llama_index.core.base.llms.types import (
    ChatMessage,
    ContentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
)
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import ImageNode, NodeWithScore

IMAGE_SLOT = "<image>"
"""Where a pair's concept image goes in the formatted text."""

RAP_PAIR_TEMPLATE = PromptTemplate("{index}." + IMAGE_SLOT + "\n Name: <{name}>, Info: {info}\n")
"""One concept as the RAP checkpoints were trained to read it (``index``, ``name``, ``info``;
``<image>`` where the concept image goes). The one place pairs are numbered and formatted."""

DEFAULT_SYSTEM_PROMPT = (
    "You are a personal assistant. The people, pets and objects listed with a name and "
    "info are the user's own; when one of them appears in the image, call it by its name."
)


@dataclass(frozen=True)
class RapPrompt:
    """The messages for the model and a readable rendering of them.

    Args:
        messages: System line (if any) and the user message, as LlamaIndex chat messages.
        text: The same with ``<image>`` where each image goes.
    """

    messages: list[ChatMessage]
    text: str


def image_block(data: bytes, mimetype: str | None = None) -> ImageBlock:
    """An ``ImageBlock`` holding encoded image bytes."""
    return ImageBlock(image=data, image_mimetype=mimetype)


def concept_blocks(
    nodes: Sequence[NodeWithScore],
    first_index: int = 1,
    template: PromptTemplate = RAP_PAIR_TEMPLATE,
) -> list[ContentBlock]:
    """The numbered pairs, each split at its ``<image>`` slot around the concept image.

    Args:
        nodes: Concept nodes, in the order they are listed.
        first_index: The number of the first pair (a chat continues the numbering).
        template: The pair's format (``index``, ``name``, ``info``, ``<image>``).
    """
    blocks: list[ContentBlock] = []
    for index, n in enumerate(nodes, start=first_index):
        node = n.node
        pair = template.format(
            index=index, name=node.metadata.get("name", ""), info=node.get_content()
        )
        before, _, after = pair.partition(IMAGE_SLOT)
        if before:
            blocks.append(TextBlock(text=before))
        if isinstance(node, ImageNode) and node.image:
            blocks.append(image_node_to_image_block(node))
        if after:
            blocks.append(TextBlock(text=after))
    return blocks


def user_blocks(
    query_image: bytes | None,
    nodes: Sequence[NodeWithScore],
    question: str,
    first_index: int = 1,
    template: PromptTemplate = RAP_PAIR_TEMPLATE,
) -> list[ContentBlock]:
    """Query image, then ``[`` pairs ``]`` (only when there are concepts), then the question.

    ``first_index`` numbers the first pair (a chat continues its numbering); ``template``
    formats each pair.
    """
    blocks: list[ContentBlock] = []
    if query_image is not None:
        blocks.append(image_block(query_image))
    if nodes:
        blocks.append(TextBlock(text="\n[" if query_image is not None else "["))
        blocks.extend(concept_blocks(nodes, first_index, template))
        blocks.append(TextBlock(text="] " + question))
    else:
        blocks.append(TextBlock(text=("\n" if query_image is not None else "") + question))
    return blocks


def render(blocks: Sequence[ContentBlock]) -> str:
    """Text of the blocks with ``<image>`` for each image."""
    return "".join(b.text if isinstance(b, TextBlock) else IMAGE_SLOT for b in blocks)


def build_prompt(
    query_image: bytes | None,
    nodes: Sequence[NodeWithScore],
    question: str,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    template: PromptTemplate = RAP_PAIR_TEMPLATE,
) -> RapPrompt:
    """The system line (only when concepts are listed) and the RAP user message."""
    blocks = user_blocks(query_image, nodes, question, template=template)
    messages = []
    text = ""
    if nodes and system_prompt:
        messages.append(ChatMessage(role=MessageRole.SYSTEM, content=system_prompt))
        text = f"[system] {system_prompt}\n"
    messages.append(ChatMessage(role=MessageRole.USER, blocks=blocks))
    return RapPrompt(messages, text + "[user] " + render(blocks))

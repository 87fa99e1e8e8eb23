from __future__ import annotations

import base64

import pytest
from llama_index.core.base.llms.types import ImageBlock, MessageRole, TextBlock
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import ImageNode, NodeWithScore

from llama_index_rap.format import (
    DEFAULT_SYSTEM_PROMPT,
    ConceptContextPostprocessor,
    build_prompt,
)
from llama_index_rap.format.messages import render, user_blocks

QUERY = b"query-image-bytes"


def node(name: str, score: float, reason: str = "detection", cid: str | None = None):
    image = base64.b64encode(f"img-{name}".encode()).decode()
    n = ImageNode(
        id_=cid or name,
        text=f"<{name.lower()}> is {name}.",
        image=image,
        image_mimetype="image/png",
        metadata={"name": name, "concept_id": cid or name, "reason": reason},
    )
    return NodeWithScore(node=n, score=score)


def layout(blocks) -> list[str]:
    out = []
    for b in blocks:
        if isinstance(b, ImageBlock):
            out.append("IMG:" + b.resolve_image().read().decode())
        else:
            assert isinstance(b, TextBlock)
            out.append(b.text)
    return out


def test_postprocessor_is_a_node_postprocessor() -> None:
    assert isinstance(ConceptContextPostprocessor(), BaseNodePostprocessor)


def test_dedupes_filters_orders_and_caps() -> None:
    post = ConceptContextPostprocessor(score_floor=0.5, max_concepts=3)
    nodes = [
        node("Toy", 0.6),
        node("Bo", 0.9),
        node("Bo", 0.95, cid="Bo"),  # duplicate concept: the better one stays
        node("Low", 0.2),
        node("Mam", 1.0, reason="name"),
        node("Cup", 0.7),
    ]
    out = post.postprocess_nodes(nodes)
    assert [n.node.metadata["name"] for n in out] == ["Mam", "Bo", "Cup"]
    assert out[1].score == 0.95
    assert out[1].node is nodes[2].node  # chosen, not copied or changed


def test_pair_template_and_first_number_live_where_the_prompt_is_built() -> None:
    nodes = [node("Bo", 0.9), node("Mam", 0.8)]
    default = build_prompt(QUERY, nodes, "Hi?")
    assert "[1.<image>\n Name: <Bo>, Info: <bo> is Bo.\n2.<image>" in default.text
    mine = PromptTemplate("({index}) {name}: {info} <image>")
    custom = build_prompt(QUERY, nodes, "Hi?", template=mine)
    assert "[(1) Bo: <bo> is Bo. <image>(2) Mam: <mam> is Mam. <image>] Hi?" in custom.text
    later = user_blocks(None, nodes[1:], "And now?", first_index=3)
    assert render(later) == "[3.<image>\n Name: <Mam>, Info: <mam> is Mam.\n] And now?"


@pytest.mark.parametrize("count", [0, 1, 3])
def test_exact_prompt_layout(count: int) -> None:
    names = ["Bo", "Mam", "Toy"][:count]
    nodes = ConceptContextPostprocessor().postprocess_nodes(
        [node(n, 0.9 - i / 10) for i, n in enumerate(names)]
    )
    prompt = build_prompt(QUERY, nodes, "What is <bo> doing?")
    user = prompt.messages[-1]
    assert user.role == MessageRole.USER
    expected = ["IMG:query-image-bytes"]
    if count:
        expected.append("\n[")
        for i, name in enumerate(names, start=1):
            expected += [
                f"{i}.",
                f"IMG:img-{name}",
                f"\n Name: <{name}>, Info: <{name.lower()}> is {name}.\n",
            ]
        expected.append("] What is <bo> doing?")
        assert prompt.messages[0].role == MessageRole.SYSTEM
        assert prompt.messages[0].content == DEFAULT_SYSTEM_PROMPT
        assert len(prompt.messages) == 2
    else:
        expected.append("\nWhat is <bo> doing?")
        assert len(prompt.messages) == 1  # a plain question: no system line, no list
    assert layout(user.blocks) == expected
    rendered = prompt.text.split("[user] ")[1]
    assert rendered.count("<image>") == 1 + count
    if count == 3:
        assert rendered.startswith("<image>\n[1.<image>\n Name: <Bo>, Info: <bo> is Bo.\n2.<image>")

"""``rap demo``: remember Bo and Mam, find them in two scenes, caption one, answer a question."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_index_rap.demo import pictures
from llama_index_rap.models.specs import ModelProfile

CONCEPTS = [
    ("Bo", pictures.bo, "Bo is my Shiba Inu; he wears a red collar with a yellow tag.", "dog"),
    ("Mam", pictures.mam, "Mam is my mother; she wears glasses and a green scarf.", "person"),
]
SCENES = [
    ("park", pictures.park, pictures.PARK_BOXES),
    ("family", pictures.family, pictures.FAMILY_BOXES),
]
QUESTION = "What is <Bo> wearing?"


def run_demo(
    profile: ModelProfile,
    db: str,
    out: Path,
    echo: Callable[[str], None],
    max_distance: float | None = None,
) -> dict[str, Any]:
    """Run the demo and return what it found and said.

    With random-weight models the detector finds nothing meaningful, so the demo also tells
    the retriever where the pasted concepts are (caller boxes) and says so.
    """
    from llama_index_rap.engine import RAPQueryEngine
    from llama_index_rap.generate import HuggingFaceVLM
    from llama_index_rap.retrieve import RAPQuery, RAPRetriever
    from llama_index_rap.retrieve.picture import annotate
    from llama_index_rap.retrieve.retriever import DEFAULT_MAX_DISTANCE
    from llama_index_rap.store import ConceptInput, ConceptStore

    random = profile.random_weights
    if max_distance is None:
        max_distance = 0.02 if random else DEFAULT_MAX_DISTANCE
    out.mkdir(parents=True, exist_ok=True)
    store = ConceptStore(db, models=profile, user="demo")
    store.remember_many(
        [ConceptInput(name, draw(), info, category) for name, draw, info, category in CONCEPTS],
        on_conflict="replace",
    )
    echo(f"remembered: {', '.join(c.name for c in store.list())} (store: {db})")
    retriever = RAPRetriever(store, max_distance=max_distance)
    engine = RAPQueryEngine(retriever, HuggingFaceVLM.from_spec(profile.vlm, max_new_tokens=40))
    note = "random weights (--models tiny): the answers are meaningless" if random else None
    if random:
        echo("note: the models have random weights; the demo gives the retriever the boxes")
    result: dict[str, Any] = {"scenes": {}, "random_weights": random}

    def hint(known: dict[str, pictures.Box]) -> list[pictures.Box]:
        return list(known.values()) if random else []

    for name, draw, known in SCENES:
        image = draw()
        report = retriever.report(RAPQuery("", image=image, boxes=hint(known)))
        found = [
            (
                n.node.metadata["name"],
                round(n.node.metadata["distance"], 4),
                n.node.metadata["reason"],
            )
            for n in report.nodes
        ]
        picture = out / f"{name}.png"
        annotate(image, report, note).save(picture)
        echo(f"{name}: found {found or 'nobody'}; picture: {picture}")
        result["scenes"][name] = {"found": found, "picture": str(picture)}
    family = pictures.family()
    boxes = list(pictures.FAMILY_BOXES.values()) if random else []
    caption = engine.caption(family, boxes=boxes)
    ask = engine.ask(
        pictures.park(), QUESTION, boxes=list(pictures.PARK_BOXES.values()) if random else []
    )
    for label, response in (("caption of family", caption), (f"answer to {QUESTION!r}", ask)):
        meta = response.metadata or {}
        echo(f"\nprompt ({label}):\n{meta.get('prompt')}")
        echo(f"{label}: {response}")
    result["caption"] = str(caption)
    result["answer"] = str(ask)
    if random:
        echo("\n(the caption and the answer come from random weights: use --models default)")
    return result

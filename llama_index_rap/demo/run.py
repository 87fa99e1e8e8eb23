"""``rap demo``: real photos, real retrieval.

Remembers Chelsea (scikit-image's cat) and Moto (its motorbike, ``motorcycle_left``), then
finds the motorbike in ``motorcycle_right`` (the same bike from another place), Chelsea in a
new scene made from her photo (her box given, as a user would draw it), and nothing in an
unrelated photo (the rocket). Then it captions the scene and answers a question about her.
With the ``offline`` profile the encoder is a trained MobileNetV2 and retrieval is real; the
VLM is tiny with random weights, so its words mean nothing (it says so).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index_rap.demo import photos
from llama_index_rap.models.specs import ModelProfile

if TYPE_CHECKING:
    from PIL import Image

    from llama_index_rap.retrieve.retriever import RAPRetriever, RetrievalReport

CONCEPTS = [
    ("Chelsea", "chelsea", "Chelsea is my tabby cat; she has green eyes.", "cat"),
    ("Moto", "motorcycle_left", "Moto is my red motorbike.", "motorcycle"),
]
QUESTION = "What is <Chelsea> doing?"


def scenes() -> list[tuple[str, Image.Image, list[tuple[int, int, int, int]]]]:
    """The demo's query photos: name, image and the boxes a user gives."""
    scene, box = photos.chelsea_scene()
    return [
        ("motorbike", photos.open_photo("motorcycle_right"), []),
        ("chelsea-at-coffee", scene, [box]),
        ("rocket", photos.open_photo("rocket"), []),
    ]


def run_demo(
    profile: ModelProfile,
    db: str,
    out: Path,
    echo: Callable[[str], None],
    max_distance: float | None = None,
) -> dict[str, Any]:
    """Run the demo and return what it found and said.

    Args:
        profile: The models (``offline``: trained encoder, tiny random VLM).
        db: The store's folder.
        out: Where the annotated pictures go.
        echo: Prints a line.
        max_distance: The match distance; the profile's by default.
    """
    from llama_index_rap.engine import RAPQueryEngine
    from llama_index_rap.generate import HuggingFaceVLM
    from llama_index_rap.retrieve import RAPQuery, RAPRetriever
    from llama_index_rap.retrieve.picture import annotate
    from llama_index_rap.store import ConceptInput, ConceptStore

    out.mkdir(parents=True, exist_ok=True)
    store = ConceptStore(db, models=profile, user="demo")
    store.remember_many(
        [
            ConceptInput(name, str(photos.skimage_photo(photo)), info, category)
            for name, photo, info, category in CONCEPTS
        ],
        on_conflict="replace",
    )
    echo(f"remembered: {', '.join(c.name for c in store.list())} (store: {db})")
    retriever = RAPRetriever(store, max_distance=max_distance or profile.max_distance)
    echo(f"encoder: {profile.encoder.label}; match distance <= {retriever.max_distance}")
    if profile.random_retrieval:
        echo("note: the encoder has random weights; what is found means nothing (--models offline)")
    note = (
        "random encoder weights: what is found means nothing" if profile.random_retrieval else None
    )
    result: dict[str, Any] = {
        "scenes": {},
        "random_retrieval": profile.random_retrieval,
        "random_vlm": profile.vlm.is_random,
        "max_distance": retriever.max_distance,
    }
    for name, image, boxes in scenes():
        report = retriever.report(RAPQuery("", image=image, boxes=boxes))
        found = [
            (n.node.metadata["name"], round(n.node.metadata["distance"], 4)) for n in report.nodes
        ]
        nearest = nearest_concepts(retriever, image, report)
        far = ", ".join(f"{n} {d:.3f}" for n, d in nearest)
        line = (
            f"found {found}"
            if found
            else f"found nothing (nearest: {far} > {retriever.max_distance})"
        )
        picture = out / f"{name}.png"
        notes = [
            n
            for n in (None if found else f"nothing within {retriever.max_distance}: {far}", note)
            if n
        ]
        annotate(image, report, "; ".join(notes) or None).save(picture)
        echo(f"{name}: {line}; picture: {picture}")
        result["scenes"][name] = {"found": found, "nearest": nearest, "picture": str(picture)}
    engine = RAPQueryEngine(retriever, HuggingFaceVLM.from_spec(profile.vlm, max_new_tokens=40))
    scene, box = photos.chelsea_scene()
    caption = engine.caption(scene, boxes=[box])
    ask = engine.ask(scene, QUESTION, boxes=[box])
    for label, response in (("caption of the scene", caption), (f"answer to {QUESTION!r}", ask)):
        meta = response.metadata or {}
        echo(f"\nprompt ({label}):\n{meta.get('prompt')}")
        echo(f"{label}: {response}")
    result["caption"] = str(caption)
    result["answer"] = str(ask)
    if profile.vlm.is_random:
        echo(
            f"\n(the VLM, {profile.vlm.name_or_path}, has random weights: its caption and answer"
            " mean nothing; --models default with a downloaded Qwen2-VL gives real ones)"
        )
    return result


def nearest_concepts(
    retriever: RAPRetriever, image: Image.Image, report: RetrievalReport
) -> list[tuple[str, float]]:
    """Each searched region's nearest concept, however far (to show why nothing was kept)."""
    regions = [image if c.box is None else image.crop(c.box.as_tuple()) for c in report.crops]
    hits = retriever.store.search(retriever.embedding.embed_images(regions), k=1)
    return [(h[0].name, round(h[0].distance, 4)) for h in hits if h]

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path

import pytest
from llama_index.core.base.base_multi_modal_retriever import MultiModalRetriever
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import ImageNode, QueryBundle

from llama_index_rap.detect import YOLODetector
from llama_index_rap.errors import UnreadableImageError
from llama_index_rap.models.specs import get_profile
from llama_index_rap.retrieve import RAPQuery, RAPRetriever
from llama_index_rap.store import ConceptStore
from tests.events import recorded
from tests.imagegen import photo, save
from tests.scenes import scene

TINY_MAX_DISTANCE = 0.02  # tiny random ViT: pasted copies < 0.02, other images > 0.04
BO_BOX, TOY_BOX = (20, 30, 170, 140), (250, 200, 430, 340)


@pytest.fixture
def filled(store: ConceptStore) -> ConceptStore:
    store.remember("Bo", photo(1), "Bo is my dog.", category="dog", aliases=["Bobo"])
    store.remember("Mam", photo(2), "Mam is my mother.", category="person")
    store.remember("Toy", photo(3), "A plush bear.", category="plush toy")
    store.remember("Cup", photo(4), "My blue mug.", category="mug")
    return store


def retriever(store: ConceptStore, **kwargs: object) -> RAPRetriever:
    options: dict[str, object] = {"detector": None, "max_distance": TINY_MAX_DISTANCE}
    options.update(kwargs)
    return RAPRetriever(store, **options)  # type: ignore[arg-type]


def names(nodes) -> list[str]:
    return [n.node.metadata["name"] for n in nodes]


def test_is_a_llama_index_retriever(filled: ConceptStore) -> None:
    r = retriever(filled)
    assert isinstance(r, BaseRetriever) and isinstance(r, MultiModalRetriever)


def test_caller_boxes_retrieve_exactly_the_pasted_concepts(filled: ConceptStore) -> None:
    image = scene([(photo(1), BO_BOX), (photo(3), TOY_BOX)])
    nodes = retriever(filled, whole_image=False).retrieve(
        RAPQuery("", image=image, boxes=[BO_BOX, TOY_BOX])
    )
    assert sorted(names(nodes)) == ["Bo", "Toy"]
    by_name = {n.node.metadata["name"]: n for n in nodes}
    bo = by_name["Bo"]
    assert isinstance(bo.node, ImageNode)
    assert bo.node.text == "Bo is my dog."
    assert bo.node.metadata["reason"] == "box"  # a box the caller gave, not a detection
    assert bo.node.metadata["box"] == list(BO_BOX) and bo.node.metadata["crop_index"] == 0
    assert by_name["Toy"].node.metadata["crop_index"] == 1
    assert bo.node.metadata["category"] == "dog" and bo.node.metadata["aliases"] == ["Bobo"]
    assert base64.b64decode(bo.node.image or "") == filled.get("Bo").images[0].data
    for n in nodes:
        assert 0.0 <= n.get_score() <= 1.0
        assert n.node.metadata["distance"] < TINY_MAX_DISTANCE
    ordered = sorted(nodes, key=lambda n: n.node.metadata["distance"])
    assert [n.get_score() for n in ordered] == sorted((n.get_score() for n in nodes), reverse=True)


def test_whole_image_path_finds_a_single_pasted_concept(filled: ConceptStore) -> None:
    image = scene([(photo(4), (10, 10, 470, 350))])
    nodes = retriever(filled).retrieve(RAPQuery("", image=image))
    assert names(nodes) == ["Cup"]
    assert nodes[0].node.metadata["reason"] == "whole-image"
    assert nodes[0].node.metadata["box"] is None


def test_a_stranger_retrieves_nothing(filled: ConceptStore) -> None:
    image = scene([(photo(77), BO_BOX)])
    assert retriever(filled).retrieve(RAPQuery("", image=image, boxes=[BO_BOX])) == []
    everything = retriever(filled, max_distance=None, margin=None)  # the reference's rule
    assert len(everything.retrieve(RAPQuery("", image=image))) == 2


@pytest.mark.parametrize(
    "question",
    ["What is <bo> doing?", "Is Bo's collar red?", "where is BO", "Bobo!", "<Bo>'s toy"],
)
def test_name_mentions_come_first_with_the_best_score(filled: ConceptStore, question: str) -> None:
    image = scene([(photo(3), TOY_BOX)])
    nodes = retriever(filled).retrieve(RAPQuery(question, image=image, boxes=[TOY_BOX]))
    assert names(nodes) == ["Bo", "Toy"]
    assert nodes[0].score == 1.0 and nodes[0].node.metadata["reason"] == "name"


def test_names_do_not_match_inside_words_and_are_capped(filled: ConceptStore) -> None:
    r = retriever(filled, max_mentions=2)
    assert r.retrieve("Is Bobby the cupboard's toymaker?") == []
    nodes = r.retrieve("Cup, Toy, Mam and Bo")
    assert names(nodes) == ["Cup", "Toy"]  # in the order named, capped at 2


def test_mentioned_concepts_are_not_repeated_from_the_image(filled: ConceptStore) -> None:
    image = scene([(photo(1), BO_BOX)])
    nodes = retriever(filled).retrieve(RAPQuery("Is Bo here?", image=image, boxes=[BO_BOX]))
    assert names(nodes) == ["Bo"]


def test_hits_are_merged_by_concept_and_capped_by_top_k(filled: ConceptStore) -> None:
    image = scene([(photo(1), BO_BOX), (photo(1), TOY_BOX), (photo(2), (200, 20, 300, 120))])
    boxes = [BO_BOX, TOY_BOX, (200, 20, 300, 120)]
    nodes = retriever(filled, top_k=5, whole_image=False).retrieve(
        RAPQuery("", image=image, boxes=boxes)
    )
    assert sorted(names(nodes)) == ["Bo", "Mam"]  # Bo once, though two crops matched it
    # each given box keeps its own nearest concept, whatever top_k is
    per_box = retriever(filled, top_k=1, whole_image=False).retrieve(
        RAPQuery("", image=image, boxes=boxes)
    )
    assert sorted(names(per_box)) == ["Bo", "Mam"]
    # without boxes, top_k caps what the whole image returns: the nearest one
    whole = retriever(filled, top_k=5, max_distance=None).retrieve(RAPQuery("", image=image))
    top1 = retriever(filled, top_k=1, max_distance=None).retrieve(RAPQuery("", image=image))
    assert len(whole) > 1 and len(top1) == 1
    assert top1[0].node.metadata["distance"] == min(n.node.metadata["distance"] for n in whole)


def test_a_whole_image_search_is_not_capped_by_per_crop_k(filled: ConceptStore) -> None:
    image = scene([(photo(1), BO_BOX)])
    nodes = retriever(filled, top_k=4, per_crop_k=2, max_distance=None, margin=None).retrieve(
        RAPQuery("", image=image)
    )
    assert len(nodes) == 4  # per_crop_k is raised to top_k


def test_user_isolation(filled: ConceptStore) -> None:
    filled.remember("Rex", photo(5), "Bob's dog.", user="bob")
    image = scene([(photo(5), BO_BOX)])
    alice = retriever(filled)
    assert alice.retrieve(RAPQuery("Is Rex here?", image=image, boxes=[BO_BOX])) == []
    as_bob = alice.retrieve(RAPQuery("Is Rex here?", image=image, boxes=[BO_BOX], user="bob"))
    assert names(as_bob) == ["Rex"]
    assert names(retriever(filled, user="bob").retrieve("Bo and Rex")) == ["Rex"]


def test_image_inputs_path_pil_bytes_base64(filled: ConceptStore, tmp_path: Path) -> None:
    image = scene([(photo(4), (10, 10, 470, 350))])
    path = save(image, tmp_path / "q.png")
    data = path.read_bytes()
    r = retriever(filled)
    queries = [
        QueryBundle("", image_path=str(path)),
        RAPQuery("", image=image),
        RAPQuery("", image=data),
        RAPQuery("", image=base64.b64encode(data).decode()),
        RAPQuery("", image="data:image/png;base64," + base64.b64encode(data).decode()),
    ]
    for q in queries:
        assert names(r.retrieve(q)) == ["Cup"]
    assert names(r.image_to_image_retrieve(str(path))) == ["Cup"]


def test_empty_store_and_bad_image(store: ConceptStore) -> None:
    r = retriever(store)
    assert r.retrieve(RAPQuery("Is Bo here?", image=photo(1))) == []
    with pytest.raises(UnreadableImageError):
        r.retrieve(RAPQuery("", image=b"not an image at all"))


def test_async_path(filled: ConceptStore) -> None:
    image = scene([(photo(4), (10, 10, 470, 350))])
    r = retriever(filled)
    nodes = asyncio.run(r.aretrieve(RAPQuery("and Mam?", image=image)))
    assert names(nodes) == ["Mam", "Cup"]
    text_nodes = asyncio.run(r.atext_to_image_retrieve("Bo"))
    assert names(text_nodes)[0] == "Bo"


def test_text_to_image_retrieval(filled: ConceptStore) -> None:
    r = retriever(filled, top_k=2)
    nodes = r.text_to_image_retrieve("a photo of <toy>")
    assert names(nodes)[0] == "Toy" and len(nodes) == 3
    assert {n.node.metadata["reason"] for n in nodes[1:]} == {"text"}
    assert len(r.text_retrieve("something else entirely")) == 2


def test_instrumentation_events_fire(filled: ConceptStore) -> None:
    with recorded() as events:
        retriever(filled).retrieve("Bo")
    assert "RetrievalStartEvent" in events and "RetrievalEndEvent" in events


def test_yolo_world_path_uses_the_store_categories(filled: ConceptStore) -> None:
    detector = YOLODetector(get_profile("tiny").detector, confidence=0.0, min_box_size=1)
    r = RAPRetriever(filled, detector=detector, max_distance=None, top_k=4)
    image = scene([(photo(1), BO_BOX)])
    nodes = r.retrieve(RAPQuery("", image=image))
    model = detector.model
    assert list(model.model.names) == ["dog", "mug", "person", "plush toy"]
    assert tuple(model.model.txt_feats.shape) == (1, 4, 512)
    assert model.model.model[-1].nc == 4
    assert 1 <= len(nodes) <= 4
    assert {n.node.metadata["reason"] for n in nodes} <= {"detection", "whole-image"}
    crops = r.crops(image, [], [c.category or "" for c in filled.list()])
    assert crops[-1][0] is None  # the whole image is searched too
    detected = [box for box, _ in crops if box is not None]
    assert detected and {b.label for b in detected} <= {"dog", "mug", "person", "plush toy"}
    features = detector.class_features(["dog", "mug", "person", "plush toy"])
    r.retrieve(RAPQuery("", image=image))
    assert detector.class_features(["dog", "mug", "person", "plush toy"]) is features  # cached
    filled.remember("Car", photo(6), "My car.", category="car")
    r.retrieve(RAPQuery("", image=image))
    assert list(model.model.names) == ["car", "dog", "mug", "person", "plush toy"]


def test_detector_options_and_no_side_effects(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    detector = YOLODetector(get_profile("tiny").detector, confidence=0.0, max_detections=3)
    boxes = detector.detect(photo(1, (320, 240)), ["dog"])
    assert 0 < len(boxes) <= 3
    assert all(b.label == "dog" and min(b.width, b.height) >= 16 for b in boxes)
    assert all(0 <= b.x0 < b.x1 <= 320 and 0 <= b.y0 < b.y1 <= 240 for b in boxes)
    assert [b.score for b in boxes] == sorted((b.score for b in boxes), reverse=True)
    assert detector.detect(photo(1), []) == []  # YOLO-World with no categories: nothing
    assert list(tmp_path.iterdir()) == []  # nothing written per call
    buf = io.BytesIO()
    photo(1).save(buf, format="PNG")

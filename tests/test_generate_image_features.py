"""The VLM's image processor runs once per picture, and its inputs are what they were."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from transformers import CLIPImageProcessor, LlavaNextImageProcessor

from llama_index_rap.generate import HuggingFaceVLM
from llama_index_rap.generate.image_features import CachedImageProcessor
from llama_index_rap.models.specs import VLMSpec
from tests.imagegen import photo
from tests.test_generate import interleaved


class Counting:
    """An image processor that counts the images it is given."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.images = inner, 0

    def __call__(self, images: list[Any], **kwargs: Any) -> Any:
        self.images += len(images)
        return self.inner(images, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def same(a: Any, b: Any) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def vlm() -> HuggingFaceVLM:
    return HuggingFaceVLM(model_name="tiny:qwen2-vl", max_new_tokens=4)


def test_the_vlm_processes_each_picture_once_with_the_same_inputs(vlm: HuggingFaceVLM) -> None:
    processor = vlm.loaded.processor
    cached = processor.image_processor
    assert isinstance(cached, CachedImageProcessor)
    assert cached.merge_size == cached.inner.merge_size  # everything else is the processor's
    inner = cached.inner
    cached.inner = counting = Counting(inner)
    try:
        photo_, bo, mam = photo(1, (160, 100)), photo(2, (64, 64)), photo(3, (90, 120))
        text = [f"<|vision_start|><|image_pad|><|vision_end|>{t}" for t in "abc"]
        prompt = "".join(text)
        want = processor(text=[prompt], images=[bo, mam, photo_], return_tensors="pt")
        assert cached.exact is True  # checked once against the batch call
        counting.images = 0
        new_photo = photo(4, (100, 160))
        got = processor(text=[prompt], images=[bo, mam, new_photo], return_tensors="pt")
        assert counting.images == 1  # only the new photo
        cached.inner = inner
        direct = inner([bo, mam, new_photo], return_tensors="pt")
        assert same({k: got[k] for k in direct}, direct)
        assert got["input_ids"].shape == want["input_ids"].shape
        # the model's inputs through HuggingFaceVLM equal an uncached processor's
        messages = interleaved()
        inputs = vlm.model_inputs(messages)
        processor.image_processor = inner
        try:
            plain = vlm.model_inputs(messages)
        finally:
            processor.image_processor = cached
        assert same(inputs, plain)
    finally:
        cached.inner = inner


def test_features_are_kept_within_a_byte_budget() -> None:
    inner = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    one = 3 * 32 * 32 * 4  # bytes of one image's pixel_values
    cached = CachedImageProcessor(inner, max_bytes=4 * one)
    images = [photo(s, (40, 40)) for s in range(6)]
    cached(images[:2], return_tensors="pt")  # the first call with 2 images is checked
    assert cached.exact is True
    for image in images:
        cached([image], return_tensors="pt")
    assert cached.cached_images == 4 and cached.cached_bytes == 4 * one  # the 2 oldest dropped
    cached.inner = counting = Counting(inner)
    out = cached(images[-4:], return_tensors="pt")
    assert counting.images == 0 and out["pixel_values"].shape == (4, 3, 32, 32)
    assert same(out, inner(images[-4:], return_tensors="pt"))
    cached([images[0]], return_tensors="np")  # other options than torch tensors: not cached
    assert counting.images == 1 and cached.cached_images == 4


def test_a_processor_that_pads_a_batch_is_run_as_one_batch() -> None:
    inner = LlavaNextImageProcessor(
        size={"shortest_edge": 28},
        crop_size={"height": 28, "width": 28},
        image_grid_pinpoints=[[28, 28], [28, 56], [56, 28], [56, 56]],
    )
    wide, square = photo(1, (120, 60)), photo(2, (60, 60))
    cached = CachedImageProcessor(inner)
    out = cached([wide, square], return_tensors="pt")  # patch counts differ: padded batch
    assert same(out, inner([wide, square], return_tensors="pt"))
    assert cached.exact is False  # so from now on it runs as the processor alone
    cached.inner = counting = Counting(inner)
    cached([square, square], return_tensors="pt")
    assert counting.images == 2


def test_the_cache_turns_itself_off_when_joined_features_differ() -> None:
    class Batchwise(CLIPImageProcessor):  # normalises by the batch: per-image differs
        def __call__(self, images: Any, **kwargs: Any) -> Any:
            out = super().__call__(images, **kwargs)
            out["pixel_values"] = out["pixel_values"] - out["pixel_values"].mean()
            return out

    inner = Batchwise(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    cached = CachedImageProcessor(inner)
    images = [photo(1, (40, 40)), photo(2, (40, 40))]
    out = cached(images, return_tensors="pt")
    assert cached.exact is False and same(out, inner(images, return_tensors="pt"))
    cached.inner = counting = Counting(inner)
    cached(images, return_tensors="pt")
    assert counting.images == 2  # straight through, as one batch


def test_pictures_are_recognised_by_content_and_the_shared_processor_is_left_alone(
    vlm: HuggingFaceVLM,
) -> None:
    import io

    from llama_index_rap.images import decode
    from llama_index_rap.models.loaders import load_vlm

    shared = load_vlm(VLMSpec("tiny:qwen2-vl")).processor
    assert not isinstance(shared.image_processor, CachedImageProcessor)
    assert isinstance(vlm.loaded.processor.image_processor, CachedImageProcessor)
    buf = io.BytesIO()
    photo(5, (64, 48)).save(buf, format="PNG")
    first, again = decode(buf.getvalue(), "a").image, decode(buf.getvalue(), "b").image
    assert first is not again  # two decodes of the same bytes
    inner = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    cached = CachedImageProcessor(inner)
    cached.inner = counting = Counting(inner)
    cached([first], return_tensors="pt")
    cached([again], return_tensors="pt")
    assert counting.images == 1  # same content, processed once
    cached([first.crop((0, 0, 32, 32))], return_tensors="pt")  # PIL copies info into a crop
    assert counting.images == 2

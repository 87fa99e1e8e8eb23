"""open_clip's eval transform on tensors gives what open_clip's own PIL transform gives."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch
from torchvision import transforms as T

from llama_index_rap.encode.base import transform_all
from llama_index_rap.encode.transforms import tensor_transform
from tests.imagegen import photo

STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)[:, None, None]


def grey_levels(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """The difference of two normalised images in 0-255 grey levels."""
    return np.abs((a - b).numpy() * STD * 255)


@pytest.mark.parametrize("size", [64, 224, 336])
@pytest.mark.parametrize("shape", [(640, 400), (190, 190), (50, 300), (60, 40)])
def test_tensor_pixels_are_within_two_grey_levels_of_pil(size: int, shape: tuple[int, int]) -> None:
    pil = open_clip.image_transform(size, is_train=False)
    fast = tensor_transform(pil)
    assert fast is not None
    img = photo(7, shape)
    want, got = pil(img), fast(img)
    assert got.shape == want.shape == (3, size, size)
    assert got.dtype == want.dtype == torch.float32
    diff = grey_levels(got, want)
    assert diff.max() <= (1.0001 if min(shape) >= size else 2.0001)  # upscaling rounds more
    assert (diff > 0.5).mean() < 0.01  # and almost every value is the same


def test_embeddings_match_the_pil_transform_s(tiny_embedding) -> None:
    loaded = tiny_embedding.loaded
    fast = tensor_transform(loaded.preprocess)
    assert fast is not None
    images = [photo(s, (220, 160)) for s in range(4)]
    with torch.inference_mode():
        pil = loaded.model.encode_image(torch.stack([loaded.preprocess(i) for i in images]))
        ten = loaded.model.encode_image(torch.stack([fast(i) for i in images]))
    pil = torch.nn.functional.normalize(pil, dim=-1).numpy()
    ten = torch.nn.functional.normalize(ten, dim=-1).numpy()
    same = ((pil - ten) ** 2).sum(-1)
    between = ((pil[:, None] - pil[None]) ** 2).sum(-1)[np.triu_indices(4, 1)]
    assert same.max() < 1e-4 < between.min()
    # and embed_images takes the tensor path: its vectors are the tensor path's
    np.testing.assert_allclose(tiny_embedding.embed_images(images), ten, atol=1e-5)


def test_other_transforms_run_as_open_clip_wrote_them(tiny_embedding) -> None:
    longest = open_clip.image_transform(64, is_train=False, resize_mode="longest")
    train = open_clip.image_transform(64, is_train=True)
    nearest = T.Compose([*open_clip.image_transform(64, is_train=False).transforms])
    nearest.transforms[0] = T.Resize(64, interpolation=T.InterpolationMode.NEAREST)
    for transform in (longest, train, nearest, lambda im: im):
        assert tensor_transform(transform) is None
    img = photo(3, (120, 80))
    out = transform_all(tensor_transform(longest) or longest, [img, img])
    assert len(out) == 2 and torch.equal(out[0], longest(img))

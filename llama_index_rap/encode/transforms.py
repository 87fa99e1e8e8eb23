"""open_clip's inference transform, run on uint8 tensors instead of PIL images.

open_clip's eval transform is ``Resize -> CenterCrop -> RGB -> ToTensor -> Normalize`` on
a PIL image. PIL's antialiased bicubic downscale of a whole photo is most of its cost (2-3 ms
for a 640x400 photo to 64 px here, 4 ms to 336 px). torchvision runs the same steps, with
the same settings, on a uint8 tensor in half the time or less; the pixels it gives differ
from PIL's in fewer than 1% of values, by one grey level in 255 (two when a small crop is
enlarged): rounding. That moves a unit embedding by ~1e-9 (squared distance), far less
than any match distance (tests/test_encode_transforms.py).

Only a transform made of exactly those steps is run this way; any other (a training
transform, ``resize_mode="longest"``'s pad, a custom one) runs as open_clip wrote it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np


@functools.lru_cache(maxsize=8)  # one per loaded model: worked out once, not per batch
def tensor_transform(preprocess: Any) -> Callable[[Any], Any] | None:
    """The tensor version of open_clip's eval transform ``preprocess``, if it is the usual one.

    Args:
        preprocess: The transform ``open_clip.create_model_and_transforms`` returned.

    Returns:
        A function from an RGB PIL image to the normalised ``(3, H, W)`` float tensor, or
        ``None`` when ``preprocess`` is not ``Resize, CenterCrop, RGB, ToTensor, Normalize``.
    """
    from torchvision import transforms as T

    steps = list(getattr(preprocess, "transforms", []))
    kinds = [_kind(step) for step in steps]
    if kinds != ["resize", "crop", "rgb", "tensor", "normalize"]:
        return None
    resize, crop, normalize = steps[0], steps[1], steps[4]
    if resize.interpolation not in (T.InterpolationMode.BICUBIC, T.InterpolationMode.BILINEAR):
        return None
    if resize.antialias is False:
        return None

    return resize_crop_normalize(
        resize.size, crop.size, normalize.mean, normalize.std, resize.interpolation, resize.max_size
    )


def resize_crop_normalize(
    size: Any,
    crop: Any,
    mean: Any,
    std: Any,
    interpolation: Any = None,
    max_size: int | None = None,
) -> Callable[[Any], Any]:
    """The usual eval transform (resize, centre crop, normalise) on a uint8 tensor.

    Args:
        size: Resize target (an int: the shorter side).
        crop: Centre crop size.
        mean: Per-channel mean after scaling to [0, 1].
        std: Per-channel standard deviation.
        interpolation: torchvision ``InterpolationMode`` (bilinear when ``None``).
        max_size: Longest side allowed after resizing.

    Returns:
        A function from an RGB PIL image to the normalised ``(3, H, W)`` float tensor.
    """
    from torchvision.transforms import InterpolationMode

    mode = interpolation or InterpolationMode.BILINEAR

    def run(image: Any) -> Any:
        import torch
        from torchvision.transforms.v2 import functional as F

        pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1)  # uint8, C x H x W
        # torchvision's v2 functional resizes uint8 in place of converting to float first
        small = F.resize(pixels, size, mode, max_size, True)
        square = F.center_crop(small, crop).float().div_(255)
        return F.normalize(square, mean, std)

    return run


def _kind(step: Any) -> str:
    from open_clip.transform import MaybeConvertMode, MaybeToTensor
    from torchvision import transforms as T

    if type(step) is T.Resize:
        return "resize"
    if type(step) is T.CenterCrop:
        return "crop"
    if isinstance(step, MaybeConvertMode) and step.mode == "RGB":
        return "rgb"
    if getattr(step, "__name__", "") == "_convert_to_rgb":  # older open_clip
        return "rgb"
    if type(step) in (MaybeToTensor, T.ToTensor):
        return "tensor"
    if type(step) is T.Normalize:
        return "normalize"
    return "other"

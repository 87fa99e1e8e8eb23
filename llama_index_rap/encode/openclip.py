"""OpenCLIPEmbedding: open_clip's image and text towers as a LlamaIndex MultiModalEmbedding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr

from llama_index_rap.encode.base import RAPEmbedding, in_batches, rgb_images, transform_all
from llama_index_rap.encode.transforms import tensor_transform
from llama_index_rap.images import ImageLimits
from llama_index_rap.models.loaders import LoadedClip, load_clip
from llama_index_rap.models.specs import DEFAULT_CLIP, ClipSpec


class OpenCLIPEmbedding(RAPEmbedding):
    """Image and text embeddings from an open_clip model, L2-normalised and batched.

    The model is named as open_clip names it: an architecture and a pretrained tag
    (``"ViT-L-14-336"``, ``"openai"``), a local checkpoint path, ``"random"`` for seeded
    random weights, or an ``hf-hub:org/repo`` architecture. It loads on first use, once per
    process, with open_clip's own preprocessing (its usual eval transform run on tensors,
    :mod:`llama_index_rap.encode.transforms`). Images go through
    :func:`llama_index_rap.images.load_image` (EXIF rotation, RGB conversion, size checks).

    Args:
        model_name: open_clip architecture (default: the ``default`` profile's, ViT-L-14-336).
        pretrained: Pretrained tag, checkpoint path or ``"random"``.
        seed: Seed for random weights.
        device: ``"cuda"``, ``"cpu"``...; chosen automatically when ``None``.
        embed_batch_size: Images or texts per forward pass.
    """

    model_name: str = Field(
        default=DEFAULT_CLIP.architecture, description="open_clip architecture."
    )
    pretrained: str = Field(
        default=DEFAULT_CLIP.pretrained,
        description="Pretrained tag, local checkpoint path, or 'random'.",
    )
    seed: int = Field(default=0, description="Seed for random weights.")
    device: str | None = Field(default=None, description="Torch device; automatic when None.")
    embed_batch_size: int = Field(default=16, gt=0, description="Items per forward pass.")

    _loaded: LoadedClip | None = PrivateAttr(default=None)

    @classmethod
    def from_spec(cls, spec: ClipSpec, **kwargs: Any) -> OpenCLIPEmbedding:
        """Build from a :class:`~llama_index_rap.models.specs.ClipSpec`."""
        return cls(
            model_name=spec.architecture, pretrained=spec.pretrained, seed=spec.seed, **kwargs
        )

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex class name."""
        return "OpenCLIPEmbedding"

    @property
    def spec(self) -> ClipSpec:
        """The model specification."""
        return ClipSpec(self.model_name, self.pretrained, self.seed)

    @property
    def loaded(self) -> LoadedClip:
        """The loaded model (loads it on first access)."""
        if self._loaded is None:
            self._loaded = load_clip(self.spec, self.device)
        return self._loaded

    def embed_images(
        self,
        images: Sequence[Any],
        limits: ImageLimits | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Embed images (PIL images, paths or bytes) in batches.

        Args:
            images: The images.
            limits: Size bounds for images that are not yet decoded.
            batch_size: Images per forward pass (``embed_batch_size`` by default).

        Returns:
            A ``(len(images), dim)`` float32 array of unit vectors.
        """
        import torch

        loaded = self.loaded
        run = tensor_transform(loaded.preprocess) or loaded.preprocess

        def forward(chunk: list[Any]) -> Any:
            batch = torch.stack(transform_all(run, chunk)).to(loaded.device)
            return loaded.model.encode_image(batch).float()

        pil = rgb_images(images, limits)
        return in_batches(pil, batch_size or self.embed_batch_size, loaded.dim, forward)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts through the text tower in batches; rows are unit vectors."""
        loaded = self.loaded

        def forward(chunk: list[str]) -> Any:
            return loaded.model.encode_text(loaded.tokenizer(chunk).to(loaded.device)).float()

        return in_batches(texts, self.embed_batch_size, loaded.dim, forward)

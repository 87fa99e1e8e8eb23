"""HFImageEmbedding: a HuggingFace image encoder (DINOv2, SigLIP, CLIP) through transformers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr

from llama_index_rap.encode.base import RAPEmbedding, in_batches, rgb_images
from llama_index_rap.errors import EncoderCapabilityError
from llama_index_rap.images import ImageLimits
from llama_index_rap.models.image_encoders import LoadedHFImage, hf_image_features, load_hf_image
from llama_index_rap.models.specs import HFImageSpec


class HFImageEmbedding(RAPEmbedding):
    """Image vectors from a transformers model and its own image processor.

    DINOv2 (``facebook/dinov2-small`` ...: its class token) is the usual choice for telling
    one object from a similar one; SigLIP and CLIP (``get_image_features``) also embed text
    when their tokenizer is saved with them.

    Args:
        model_name: A hub name or a local folder saved with ``save_pretrained``.
        device: Torch device; automatic when ``None``.
        embed_batch_size: Images or texts per forward pass.
    """

    model_name: str = Field(description="Hub name or local folder.")
    device: str | None = Field(default=None, description="Torch device; automatic when None.")
    embed_batch_size: int = Field(default=16, gt=0, description="Items per forward pass.")

    _loaded: LoadedHFImage | None = PrivateAttr(default=None)

    @classmethod
    def from_spec(cls, spec: HFImageSpec, **kwargs: Any) -> HFImageEmbedding:
        """Build from a :class:`~llama_index_rap.models.specs.HFImageSpec`."""
        return cls(model_name=spec.name_or_path, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        """The LlamaIndex class name."""
        return "HFImageEmbedding"

    @property
    def loaded(self) -> LoadedHFImage:
        """The loaded model (loads it on first access)."""
        if self._loaded is None:
            self._loaded = load_hf_image(HFImageSpec(self.model_name), self.device)
        return self._loaded

    def embed_images(
        self,
        images: Sequence[Any],
        limits: ImageLimits | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Embed images (PIL images, paths or bytes) in batches; rows are unit vectors."""
        loaded = self.loaded
        pil = rgb_images(images, limits)
        step = batch_size or self.embed_batch_size
        return in_batches(pil, step, loaded.dim, lambda c: hf_image_features(loaded, c).float())

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with the text tower (CLIP, SigLIP); rows are unit vectors.

        Raises:
            EncoderCapabilityError: The model has no text tower or no saved tokenizer.
        """
        loaded = self.loaded
        if loaded.tokenizer is None:
            raise EncoderCapabilityError(
                f"image encoder {self.model_name!r} has no text tower with a tokenizer; "
                "text-to-image retrieval needs one (a CLIP or SigLIP folder with its tokenizer)"
            )
        tokenizer = loaded.tokenizer

        def forward(chunk: list[str]) -> Any:
            tokens = tokenizer(chunk, padding="max_length", truncation=True, return_tensors="pt")
            feats = loaded.model.get_text_features(**tokens.to(loaded.device))
            return getattr(feats, "pooler_output", feats).float()

        return in_batches(texts, self.embed_batch_size, loaded.dim, forward)

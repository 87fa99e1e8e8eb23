"""OpenCLIPEmbedding: open_clip's image and text towers as a LlamaIndex MultiModalEmbedding."""

from __future__ import annotations

import asyncio
import functools
import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np
from llama_index.core.base.embeddings.base import Embedding
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding
from llama_index.core.schema import ImageType
from pydantic import Field, PrivateAttr

from llama_index_rap.encode.transforms import tensor_transform
from llama_index_rap.images import ImageInput, ImageLimits, load_image
from llama_index_rap.models.loaders import LoadedClip, load_clip
from llama_index_rap.models.specs import ClipSpec, get_profile


class OpenCLIPEmbedding(MultiModalEmbedding):
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
        default=get_profile("default").clip.architecture, description="open_clip architecture."
    )
    pretrained: str = Field(
        default=get_profile("default").clip.pretrained,
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

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self.loaded.dim

    @property
    def encoder_id(self) -> str:
        """Names the embedding space (architecture, weights, dimension)."""
        return self.loaded.encoder_id

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

        pil = [
            img if _is_rgb_pil(img) else load_image(img, limits or ImageLimits()).image
            for img in images
        ]
        loaded = self.loaded
        out = np.empty((len(pil), loaded.dim), dtype=np.float32)
        step = batch_size or self.embed_batch_size
        for start in range(0, len(pil), step):
            chunk = pil[start : start + step]
            batch = torch.stack(_preprocess(loaded.preprocess, chunk)).to(loaded.device)
            with torch.inference_mode():
                feats = loaded.model.encode_image(batch).float()
            out[start : start + len(chunk)] = _normalise(feats)
        return out

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts through the text tower in batches; rows are unit vectors."""
        import torch

        loaded = self.loaded
        out = np.empty((len(texts), loaded.dim), dtype=np.float32)
        for start in range(0, len(texts), self.embed_batch_size):
            chunk = list(texts[start : start + self.embed_batch_size])
            tokens = loaded.tokenizer(chunk).to(loaded.device)
            with torch.inference_mode():
                feats = loaded.model.encode_text(tokens).float()
            out[start : start + len(chunk)] = _normalise(feats)
        return out

    # LlamaIndex hooks -------------------------------------------------------------------

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return _rows(self.embed_texts([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return _rows(self.embed_texts(texts))

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return await asyncio.to_thread(self._get_image_embedding, img_file_path)

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return _rows(self.embed_images([_as_input(p) for p in img_file_paths]))

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_image_embeddings, img_file_paths)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads for the image transforms (PIL and torch release the GIL while resizing)."""
    return ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="rap-clip-prep")


def _preprocess(preprocess: Callable[[Any], Any], images: Sequence[Any]) -> list[Any]:
    """Run open_clip's transforms on each RGB image (on tensors when they are the usual ones)."""
    run = tensor_transform(preprocess) or preprocess
    if len(images) < 2:
        return [run(im) for im in images]
    return list(_pool().map(run, images))


def _as_input(item: ImageType) -> ImageInput:
    if isinstance(item, io.BytesIO):
        return item.getvalue()
    return item


def _is_rgb_pil(item: object) -> bool:
    from PIL import Image

    return isinstance(item, Image.Image) and item.mode == "RGB"


def _normalise(feats: Any) -> np.ndarray:
    arr: np.ndarray = feats.cpu().numpy().astype(np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    out: np.ndarray = arr / np.maximum(norms, 1e-12)
    return out


def _rows(matrix: np.ndarray) -> list[Embedding]:
    return cast("list[Embedding]", matrix.tolist())

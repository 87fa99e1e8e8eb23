"""What the store and the retriever need of an image encoder, and a base that provides it.

LlamaIndex's :class:`~llama_index.core.embeddings.multi_modal_base.MultiModalEmbedding`
embeds images one path at a time and does not say which embedding space its vectors live
in. A concept store needs both: a batch of decoded pictures (crops) at once, and a name for
the space so that vectors of two encoders never meet in one table. :class:`ImageEncoder`
is that small protocol:

- ``encoder_id``: a stable name of the space (model, weights, dimension), recorded in the
  table at the first write and checked at every later one;
- ``dim``: the vector dimension;
- ``embed_images(images, limits=None, batch_size=None)``: a ``(n, dim)`` float32 array of
  unit vectors for PIL images, paths or bytes.

``embed_texts(texts)`` is optional (text-to-image retrieval uses it when present).
:class:`RAPEmbedding` is a ``MultiModalEmbedding`` that implements LlamaIndex's hooks on
top of those methods; the built-in encoders (open_clip, torchvision, transformers) derive
from it. Any other ``MultiModalEmbedding`` goes through
:func:`llama_index_rap.encode.adapter.as_image_encoder`.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
from llama_index.core.base.embeddings.base import Embedding
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding
from llama_index.core.schema import ImageType

from llama_index_rap.errors import EncoderCapabilityError
from llama_index_rap.images import ImageInput, ImageLimits, load_image


@runtime_checkable
class ImageEncoder(Protocol):
    """An image encoder the store and the retriever can use (see the module docstring)."""

    @property
    def encoder_id(self) -> str:
        """A stable name of the embedding space (model, weights, dimension)."""
        ...

    @property
    def dim(self) -> int:
        """The vector dimension."""
        ...

    def embed_images(
        self,
        images: Sequence[Any],
        limits: ImageLimits | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Unit vectors, one row per image."""
        ...


class RAPEmbedding(MultiModalEmbedding):
    """A LlamaIndex ``MultiModalEmbedding`` built on :class:`ImageEncoder`'s methods.

    Subclasses implement ``loaded`` (the model, loaded on first use, with its ``dim`` and
    ``encoder_id``) and ``embed_images``, and ``embed_texts`` when they have a text tower;
    LlamaIndex's image and text hooks (sync and async) come from those.
    """

    @property
    def loaded(self) -> Any:
        """The loaded model, with ``dim`` and ``encoder_id`` (loads it on first access)."""
        raise NotImplementedError

    @property
    def encoder_id(self) -> str:
        """A stable name of the embedding space (model, weights, dimension)."""
        return str(self.loaded.encoder_id)

    @property
    def dim(self) -> int:
        """The vector dimension."""
        return int(self.loaded.dim)

    def embed_images(
        self,
        images: Sequence[Any],
        limits: ImageLimits | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Embed images (PIL images, paths or bytes); rows are unit vectors."""
        raise NotImplementedError

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; encoders without a text tower refuse.

        Raises:
            EncoderCapabilityError: The encoder embeds images only.
        """
        raise EncoderCapabilityError(
            f"{self.class_name()} embeds images only; text-to-image retrieval needs an "
            "encoder with a text tower (open_clip, or a CLIP/SigLIP model through transformers)"
        )

    # LlamaIndex hooks -------------------------------------------------------------------

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return rows(self.embed_texts([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return rows(self.embed_texts(texts))

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return await asyncio.to_thread(self._get_image_embedding, img_file_path)

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return rows(self.embed_images([_as_input(p) for p in img_file_paths]))

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_image_embeddings, img_file_paths)


def rgb_images(images: Sequence[Any], limits: ImageLimits | None = None) -> list[Any]:
    """Each input as an RGB PIL image (decoded and checked by ``load_image`` when needed)."""
    from PIL import Image

    return [
        img
        if isinstance(img, Image.Image) and img.mode == "RGB"
        else load_image(img, limits or ImageLimits()).image
        for img in images
    ]


def transform_all(run: Callable[[Any], Any], images: Sequence[Any]) -> list[Any]:
    """``run`` (a picture-to-tensor transform) on each image, on a few threads for a batch."""
    if len(images) < 2:
        return [run(im) for im in images]
    return list(_pool().map(run, images))


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads for image transforms (PIL and torch release the GIL while resizing)."""
    return ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="rap-prep")


def in_batches(
    items: Sequence[Any], step: int, dim: int, forward: Callable[[list[Any]], Any]
) -> np.ndarray:
    """``forward`` on ``step`` items at a time (no gradients), as one matrix of unit rows.

    Args:
        items: Pictures or texts.
        step: Items per forward pass.
        dim: Width of a row.
        forward: From a list of items to their ``(n, dim)`` features (torch or numpy).
    """
    import torch

    out = np.empty((len(items), dim), dtype=np.float32)
    for start in range(0, len(items), step):
        chunk = list(items[start : start + step])
        with torch.inference_mode():
            out[start : start + len(chunk)] = unit_rows(forward(chunk))
    return out


def unit_rows(feats: Any) -> np.ndarray:
    """A torch or numpy ``(n, d)`` matrix as float32 rows of length one."""
    arr = feats.detach().cpu().numpy() if hasattr(feats, "detach") else np.asarray(feats)
    arr = arr.astype(np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    out: np.ndarray = arr / np.maximum(norms, 1e-12)
    return out


def rows(matrix: np.ndarray) -> list[Embedding]:
    """A matrix as LlamaIndex embeddings (lists of floats)."""
    return cast("list[Embedding]", matrix.tolist())


def _as_input(item: ImageType) -> ImageInput:
    if isinstance(item, io.BytesIO):
        return item.getvalue()
    return item

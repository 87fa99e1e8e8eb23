"""Any LlamaIndex ``MultiModalEmbedding`` as an :class:`~.base.ImageEncoder`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding
from llama_index.core.schema import ImageType

from llama_index_rap.encode.base import ImageEncoder, RAPEmbedding, rgb_images, unit_rows
from llama_index_rap.errors import EncoderMismatchError, InvalidInputError
from llama_index_rap.images import ImageLimits

_UNNAMED = ("", "unknown", None)


class MultiModalEmbeddingAdapter:
    """Gives a plain ``MultiModalEmbedding`` what the store and the retriever need.

    Pictures (crops among them) are handed to the embedding as in-memory PNGs through its
    public ``get_image_embedding_batch`` (so its own callbacks fire); vectors are scaled to
    unit length; the dimension is learnt from the first call.

    Args:
        embedding: The LlamaIndex embedding.
        encoder_id: A stable name of its embedding space; by default its class name, model
            name and dimension. Required when the embedding has no ``model_name``.
    """

    def __init__(self, embedding: MultiModalEmbedding, encoder_id: str | None = None) -> None:
        if encoder_id is None and getattr(embedding, "model_name", None) in _UNNAMED:
            raise InvalidInputError(
                f"{type(embedding).__name__} has no model_name to name its embedding space; "
                "pass encoder_id= (e.g. as_image_encoder(embedding, encoder_id='my-model-v1'))"
            )
        self.embedding = embedding
        self._encoder_id = encoder_id
        self._dim: int | None = None

    def __repr__(self) -> str:
        return f"MultiModalEmbeddingAdapter({type(self.embedding).__name__})"

    @property
    def dim(self) -> int:
        """The vector dimension (one small probe image is embedded the first time)."""
        if self._dim is None:
            from PIL import Image

            self.embed_images([Image.new("RGB", (32, 32), (128, 128, 128))])
        assert self._dim is not None
        return self._dim

    @property
    def encoder_id(self) -> str:
        """The given id, or ``class name:model name/dimension``."""
        if self._encoder_id is not None:
            return self._encoder_id
        return f"{type(self.embedding).__name__}:{self.embedding.model_name}/{self.dim}"

    def embed_images(
        self,
        images: Sequence[Any],
        limits: ImageLimits | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Unit vectors for PIL images, paths or bytes (``batch_size`` is the embedding's)."""
        buffers: list[ImageType] = []
        for image in rgb_images(images, limits):
            buf = io.BytesIO()
            image.save(buf, format="PNG", compress_level=1)
            buf.seek(0)
            buffers.append(buf)
        return self._checked(self.embedding.get_image_embedding_batch(buffers))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for texts, through the embedding's text side."""
        return self._checked(self.embedding.get_text_embedding_batch(list(texts)))

    def _checked(self, vectors: list[Any]) -> np.ndarray:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or not np.isfinite(matrix).all():
            raise InvalidInputError(
                f"{type(self.embedding).__name__} returned vectors of shape {matrix.shape} "
                "with non-finite values or ragged rows; it must give one finite vector per input"
            )
        if self._dim is None:
            self._dim = int(matrix.shape[1])
        elif matrix.shape[1] != self._dim:
            raise EncoderMismatchError(
                f"{type(self.embedding).__name__} gave {matrix.shape[1]}-d vectors after "
                f"{self._dim}-d ones; an encoder must keep one dimension"
            )
        return unit_rows(matrix)


def as_image_encoder(embedding: Any, encoder_id: str | None = None) -> ImageEncoder:
    """The store's view of an encoder: built-in ones as they are, others adapted.

    Args:
        embedding: A :class:`~llama_index_rap.encode.base.RAPEmbedding`, any object with
            ``encoder_id``, ``dim`` and ``embed_images``, or a LlamaIndex
            ``MultiModalEmbedding``.
        encoder_id: For a plain ``MultiModalEmbedding``: the name of its space.

    Raises:
        InvalidInputError: Not an image encoder.
    """
    if isinstance(embedding, (RAPEmbedding, MultiModalEmbeddingAdapter)):
        return embedding
    kind = type(embedding)
    if all(hasattr(kind, a) for a in ("encoder_id", "dim", "embed_images")):
        return embedding  # type: ignore[no-any-return]
    if isinstance(embedding, MultiModalEmbedding):
        return MultiModalEmbeddingAdapter(embedding, encoder_id)
    raise InvalidInputError(
        f"embedding must be a LlamaIndex MultiModalEmbedding or have encoder_id, dim and "
        f"embed_images; got {kind.__name__}"
    )

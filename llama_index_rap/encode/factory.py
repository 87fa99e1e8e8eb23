"""Building the image encoder a specification names."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llama_index_rap.errors import InvalidInputError, ModelConfigError
from llama_index_rap.models.specs import (
    ClipSpec,
    EncoderSpec,
    HFImageSpec,
    PythonEncoderSpec,
    VisionSpec,
    parse_encoder,
)

if TYPE_CHECKING:
    from llama_index_rap.encode.base import ImageEncoder


def embedding_from_spec(spec: EncoderSpec | str, **kwargs: Any) -> ImageEncoder:
    """The encoder for a spec or a name (``--encoder``'s forms); loads on first use.

    Args:
        spec: A :class:`ClipSpec`, :class:`VisionSpec`, :class:`HFImageSpec`,
            :class:`PythonEncoderSpec`, or a name
            :func:`~llama_index_rap.models.specs.parse_encoder` reads.
        **kwargs: Passed to a built-in encoder (``device``, ``embed_batch_size``).

    Raises:
        ModelConfigError: A ``py:`` name that cannot be imported or is not an encoder.
    """
    if isinstance(spec, str):
        spec = parse_encoder(spec)
    if isinstance(spec, PythonEncoderSpec):
        return _user_encoder(spec)
    if isinstance(spec, VisionSpec):
        from llama_index_rap.encode.vision import TorchvisionEmbedding

        return TorchvisionEmbedding.from_spec(spec, **kwargs)
    if isinstance(spec, HFImageSpec):
        from llama_index_rap.encode.hf_image import HFImageEmbedding

        return HFImageEmbedding.from_spec(spec, **kwargs)
    assert isinstance(spec, ClipSpec)
    from llama_index_rap.encode.openclip import OpenCLIPEmbedding

    return OpenCLIPEmbedding.from_spec(spec, **kwargs)


def _user_encoder(spec: PythonEncoderSpec) -> ImageEncoder:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from llama_index_rap.encode.adapter import as_image_encoder

    module, _, name = spec.target.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ModelConfigError(
            f"cannot find encoder {spec.label} ({e}); name a module on the Python path and an "
            "embedding, class or function in it"
        ) from e
    try:
        made = found() if callable(found) and not isinstance(found, BaseEmbedding) else found
    except TypeError as e:  # a class or function that needs arguments
        raise ModelConfigError(f"{spec.label} cannot be called with no arguments: {e}") from e
    try:
        return as_image_encoder(made)
    except InvalidInputError as e:
        raise ModelConfigError(f"{spec.label} gave no image encoder: {e}") from e

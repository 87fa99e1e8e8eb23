"""Building the built-in image encoder a specification names."""

from __future__ import annotations

from typing import Any

from llama_index_rap.encode.base import RAPEmbedding
from llama_index_rap.models.specs import (
    ClipSpec,
    EncoderSpec,
    HFImageSpec,
    VisionSpec,
    parse_encoder,
)


def embedding_from_spec(spec: EncoderSpec | str, **kwargs: Any) -> RAPEmbedding:
    """The encoder for a spec or a name (``--encoder``'s forms); loads on first use.

    Args:
        spec: A :class:`ClipSpec`, :class:`VisionSpec`, :class:`HFImageSpec`, or a name
            :func:`~llama_index_rap.models.specs.parse_encoder` reads.
        **kwargs: Passed to the encoder (``device``, ``embed_batch_size``).
    """
    if isinstance(spec, str):
        spec = parse_encoder(spec)
    if isinstance(spec, VisionSpec):
        from llama_index_rap.encode.vision import TorchvisionEmbedding

        return TorchvisionEmbedding.from_spec(spec, **kwargs)
    if isinstance(spec, HFImageSpec):
        from llama_index_rap.encode.hf_image import HFImageEmbedding

        return HFImageEmbedding.from_spec(spec, **kwargs)
    assert isinstance(spec, ClipSpec)
    from llama_index_rap.encode.openclip import OpenCLIPEmbedding

    return OpenCLIPEmbedding.from_spec(spec, **kwargs)

"""llama-index-rap: retrieval-augmented personalization (RAP, CVPR 2025) for LlamaIndex.

Remember a user's concepts (a photo, a name, a line of description) in a LanceDB store,
retrieve them from new photos, and generate personalized answers. Public names are loaded
on first use, so ``import llama_index_rap`` stays fast and pulls in no model library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ConceptStore": "llama_index_rap.store",
    "Concept": "llama_index_rap.store",
    "ConceptInput": "llama_index_rap.store",
    "StoreLimits": "llama_index_rap.store",
    "SearchHit": "llama_index_rap.store",
    "OpenCLIPEmbedding": "llama_index_rap.encode",
    "TorchvisionEmbedding": "llama_index_rap.encode",
    "HFImageEmbedding": "llama_index_rap.encode",
    "ImageEncoder": "llama_index_rap.encode",
    "as_image_encoder": "llama_index_rap.encode",
    "embedding_from_spec": "llama_index_rap.encode",
    "VisionSpec": "llama_index_rap.models.specs",
    "HFImageSpec": "llama_index_rap.models.specs",
    "ModelProfile": "llama_index_rap.models.specs",
    "ClipSpec": "llama_index_rap.models.specs",
    "DetectorSpec": "llama_index_rap.models.specs",
    "VLMSpec": "llama_index_rap.models.specs",
    "get_profile": "llama_index_rap.models.specs",
    "ImageLimits": "llama_index_rap.images",
    "YOLODetector": "llama_index_rap.detect",
    "RAPRetriever": "llama_index_rap.retrieve",
    "RAPQuery": "llama_index_rap.retrieve",
    "ConceptContextPostprocessor": "llama_index_rap.format",
    "HuggingFaceVLM": "llama_index_rap.generate",
    "LegacyMultiModalAdapter": "llama_index_rap.generate",
    "RAPQueryEngine": "llama_index_rap.engine",
    "RAPChatEngine": "llama_index_rap.engine",
}

__all__ = [
    "Concept",
    "ConceptContextPostprocessor",
    "HFImageEmbedding",
    "HFImageSpec",
    "HuggingFaceVLM",
    "ImageEncoder",
    "TorchvisionEmbedding",
    "VisionSpec",
    "as_image_encoder",
    "embedding_from_spec",
    "LegacyMultiModalAdapter",
    "RAPChatEngine",
    "RAPQuery",
    "RAPQueryEngine",
    "RAPRetriever",
    "YOLODetector",
    "ConceptInput",
    "ConceptStore",
    "ClipSpec",
    "DetectorSpec",
    "ImageLimits",
    "ModelProfile",
    "OpenCLIPEmbedding",
    "SearchHit",
    "StoreLimits",
    "VLMSpec",
    "__version__",
    "get_profile",
]

if TYPE_CHECKING:
    from llama_index_rap.detect import YOLODetector
    from llama_index_rap.encode import (
        HFImageEmbedding,
        ImageEncoder,
        OpenCLIPEmbedding,
        TorchvisionEmbedding,
        as_image_encoder,
        embedding_from_spec,
    )
    from llama_index_rap.engine import RAPChatEngine, RAPQueryEngine
    from llama_index_rap.format import ConceptContextPostprocessor
    from llama_index_rap.generate import HuggingFaceVLM, LegacyMultiModalAdapter
    from llama_index_rap.images import ImageLimits
    from llama_index_rap.models.specs import (
        ClipSpec,
        DetectorSpec,
        HFImageSpec,
        ModelProfile,
        VisionSpec,
        VLMSpec,
        get_profile,
    )
    from llama_index_rap.retrieve import RAPQuery, RAPRetriever
    from llama_index_rap.store import Concept, ConceptInput, ConceptStore, SearchHit, StoreLimits


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'llama_index_rap' has no attribute {name!r}")

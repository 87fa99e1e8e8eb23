"""Encode: image (and text) embeddings from open_clip, torchvision or transformers."""

from llama_index_rap.encode.adapter import MultiModalEmbeddingAdapter, as_image_encoder
from llama_index_rap.encode.base import ImageEncoder, RAPEmbedding
from llama_index_rap.encode.factory import embedding_from_spec
from llama_index_rap.encode.hf_image import HFImageEmbedding
from llama_index_rap.encode.openclip import OpenCLIPEmbedding
from llama_index_rap.encode.vision import TorchvisionEmbedding

__all__ = [
    "HFImageEmbedding",
    "ImageEncoder",
    "MultiModalEmbeddingAdapter",
    "OpenCLIPEmbedding",
    "RAPEmbedding",
    "TorchvisionEmbedding",
    "as_image_encoder",
    "embedding_from_spec",
]

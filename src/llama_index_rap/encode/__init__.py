"""Encode: image and text embeddings (open_clip)."""

from llama_index_rap.encode.openclip import OpenCLIPEmbedding

__all__ = ["OpenCLIPEmbedding"]

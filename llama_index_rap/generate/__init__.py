"""Generate: vision-language models as LlamaIndex LLMs."""

from llama_index_rap.generate.hf_vlm import HuggingFaceVLM
from llama_index_rap.generate.legacy import LegacyMultiModalAdapter, LoadedQwen2VisionMultiModal

__all__ = ["HuggingFaceVLM", "LegacyMultiModalAdapter", "LoadedQwen2VisionMultiModal"]

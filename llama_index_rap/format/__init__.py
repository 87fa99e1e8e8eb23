"""Format: retrieved concepts as RAP's numbered image-text pairs, and the prompt around them."""

from llama_index_rap.format.messages import (
    DEFAULT_SYSTEM_PROMPT,
    RAP_PAIR_TEMPLATE,
    RapPrompt,
    build_prompt,
)
from llama_index_rap.format.postprocessor import ConceptContextPostprocessor

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "RAP_PAIR_TEMPLATE",
    "ConceptContextPostprocessor",
    "RapPrompt",
    "build_prompt",
]

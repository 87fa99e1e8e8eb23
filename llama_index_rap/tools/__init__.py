"""Tools: the concept store and engine for LlamaIndex agents."""

from llama_index_rap.tools.spec import RAPToolSpec

__all__ = ["RAPToolSpec"]

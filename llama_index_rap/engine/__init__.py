"""Engine: personalized query and chat engines around a retriever and an LLM."""

from llama_index_rap.engine.chat_engine import RAPChatEngine
from llama_index_rap.engine.query_engine import RAPQueryEngine
from llama_index_rap.engine.tasks import CAPTION_INSTRUCTION, parse_yes_no

__all__ = ["CAPTION_INSTRUCTION", "RAPChatEngine", "RAPQueryEngine", "parse_yes_no"]

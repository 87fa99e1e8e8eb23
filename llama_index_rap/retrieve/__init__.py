"""Retrieve: find a user's concepts in a query image and by name in a question."""

from llama_index_rap.retrieve.mentions import find_mentions
from llama_index_rap.retrieve.nodes import distance_to_score
from llama_index_rap.retrieve.query import RAPQuery
from llama_index_rap.retrieve.retriever import DEFAULT_MAX_DISTANCE, RAPRetriever

__all__ = ["DEFAULT_MAX_DISTANCE", "RAPQuery", "RAPRetriever", "distance_to_score", "find_mentions"]

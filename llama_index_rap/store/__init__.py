"""Remember: the concept store on LanceDB."""

from llama_index_rap.store.concepts import ConceptStore, default_uri
from llama_index_rap.store.schema import Concept, ConceptImage, SearchHit, StoreVersion
from llama_index_rap.store.validate import ConceptInput, StoreLimits

__all__ = [
    "Concept",
    "ConceptImage",
    "ConceptInput",
    "ConceptStore",
    "SearchHit",
    "StoreLimits",
    "StoreVersion",
    "default_uri",
]

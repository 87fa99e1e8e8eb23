"""The retriever inside a larger LlamaIndex pipeline, beside a text index of the user's notes.

A QueryFusionRetriever merges two retrievers: RAPRetriever (the user's concepts, found by
name in the question) and a VectorStoreIndex over the user's notes (embedded with the same
open_clip text tower, so nothing else is needed). A RetrieverQueryEngine answers from both.

    .venv/bin/python examples/rag_pipeline.py --models tiny
"""

from __future__ import annotations

import argparse
import tempfile

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES

from llama_index_rap.demo import pictures
from llama_index_rap.generate import HuggingFaceVLM
from llama_index_rap.models.specs import get_profile
from llama_index_rap.retrieve import RAPRetriever
from llama_index_rap.store import ConceptStore

NOTES = [
    "Bo loves carrots and hates baths.",
    "Mam's birthday is on the 3rd of May; she likes tulips.",
    "The vet appointment for Bo is next Tuesday at 10.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", choices=["tiny", "default"], default="tiny")
    args = parser.parse_args()
    profile = get_profile(args.models)

    store = ConceptStore(tempfile.mkdtemp(prefix="rap-rag-"), models=profile, user="me")
    store.remember("Bo", pictures.bo(), "Bo is my Shiba Inu with a red collar.", category="dog")
    store.remember("Mam", pictures.mam(), "Mam is my mother.", category="person")

    notes = VectorStoreIndex.from_documents(
        [Document(text=t) for t in NOTES], embed_model=store.embedding
    )
    llm = HuggingFaceVLM.from_spec(profile.vlm, max_new_tokens=30)
    retriever = QueryFusionRetriever(
        [RAPRetriever(store, detector=None), notes.as_retriever(similarity_top_k=2)],
        llm=llm,
        num_queries=1,  # no query rewriting: both retrievers see the question as asked
        mode=FUSION_MODES.RECIPROCAL_RANK,
        similarity_top_k=4,
    )
    engine = RetrieverQueryEngine.from_args(retriever, llm=llm)
    response = engine.query("What does <Bo> like to eat?")
    for n in response.source_nodes:
        kind = "concept" if "concept_id" in n.node.metadata else "note"
        print(f"{kind}: {n.node.get_content()}")
    print("answer:", response)
    if profile.random_weights:
        print("(random weights: the answer is meaningless; the retrieval above is real)")


if __name__ == "__main__":
    main()

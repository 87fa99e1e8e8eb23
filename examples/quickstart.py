"""Quickstart: remember two concepts, caption a scene that holds both, ask a question.

Run offline with random weights:   .venv/bin/python examples/quickstart.py --models tiny
Run with real weights:             .venv/bin/python examples/quickstart.py --models default
"""

from __future__ import annotations

import argparse
import tempfile

from llama_index_rap.demo import pictures
from llama_index_rap.engine import RAPQueryEngine
from llama_index_rap.generate import HuggingFaceVLM
from llama_index_rap.models.specs import get_profile
from llama_index_rap.retrieve import RAPRetriever
from llama_index_rap.store import ConceptStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", choices=["tiny", "default"], default="tiny")
    parser.add_argument("--db", default=None, help="Store folder (default: a temporary one).")
    args = parser.parse_args()
    profile = get_profile(args.models)
    random = profile.random_weights

    store = ConceptStore(args.db or tempfile.mkdtemp(prefix="rap-quickstart-"), models=profile)
    store.remember("Bo", pictures.bo(), "Bo is my Shiba Inu with a red collar.", category="dog")
    store.remember("Mam", pictures.mam(), "Mam is my mother; she wears glasses.", "person")
    print("remembered:", [c.name for c in store.list()])

    # Tiny models have random weights: the retriever is told where the pasted concepts are.
    boxes = list(pictures.FAMILY_BOXES.values()) if random else []
    retriever = RAPRetriever(store)  # the profile's match distance
    engine = RAPQueryEngine(retriever, HuggingFaceVLM.from_spec(profile.vlm, max_new_tokens=40))

    caption = engine.caption(pictures.family(), boxes=boxes)
    print("concepts used:", [n.node.metadata["name"] for n in caption.source_nodes])
    print("caption:", caption)
    answer = engine.ask(pictures.family(), "What is <Bo> wearing?", boxes=boxes)
    print("answer:", answer)
    if random:
        print("(random weights: the caption and the answer are meaningless)")


if __name__ == "__main__":
    main()

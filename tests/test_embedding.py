from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding

from llama_index_rap.encode import OpenCLIPEmbedding
from tests.imagegen import photo, save


def test_class_is_a_llama_index_multimodal_embedding(tiny_embedding) -> None:
    assert isinstance(tiny_embedding, MultiModalEmbedding)
    assert OpenCLIPEmbedding.class_name() == "OpenCLIPEmbedding"
    assert OpenCLIPEmbedding().model_name == "ViT-L-14-336"  # the paper's retriever


def test_image_and_text_embeddings_are_unit_vectors_and_batched(
    tiny_embedding, tmp_path: Path
) -> None:
    paths = [str(save(photo(i), tmp_path / f"{i}.png")) for i in range(5)]
    single = np.array([tiny_embedding.get_image_embedding(p) for p in paths])
    batch = np.array(tiny_embedding.get_image_embedding_batch(paths))
    assert batch.shape == (5, tiny_embedding.dim)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(single, batch, atol=1e-4)
    from_bytes = tiny_embedding.get_image_embedding(io.BytesIO(Path(paths[0]).read_bytes()))
    assert np.allclose(from_bytes, batch[0], atol=1e-5)
    texts = tiny_embedding.get_text_embedding_batch(["a dog", "a cat", "a mug"])
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert np.allclose(tiny_embedding.get_query_embedding("a dog"), texts[0], atol=1e-5)


async def _async_calls(embedding: OpenCLIPEmbedding, path: str) -> tuple[list[float], list[float]]:
    return (
        await embedding.aget_image_embedding(path),
        await embedding.aget_query_embedding("a dog"),
    )


def test_async_matches_sync(tiny_embedding, tmp_path: Path) -> None:
    import asyncio

    path = str(save(photo(1), tmp_path / "a.png"))
    image, text = asyncio.run(_async_calls(tiny_embedding, path))
    assert np.allclose(image, tiny_embedding.get_image_embedding(path), atol=1e-5)
    assert np.allclose(text, tiny_embedding.get_query_embedding("a dog"), atol=1e-5)


def test_works_inside_multimodal_vector_store_index(tiny_embedding, tmp_path: Path) -> None:
    from llama_index.core.indices import MultiModalVectorStoreIndex
    from llama_index.core.schema import ImageDocument

    docs = [
        ImageDocument(image_path=str(save(photo(i), tmp_path / f"{i}.png")), text=f"photo {i}")
        for i in range(4)
    ]
    index = MultiModalVectorStoreIndex.from_documents(
        docs, embed_model=tiny_embedding, image_embed_model=tiny_embedding
    )
    retriever = index.as_retriever(image_similarity_top_k=1)
    found = retriever.image_to_image_retrieve(str(tmp_path / "2.png"))
    assert found and Path(found[0].node.image_path).name == "2.png"  # type: ignore[attr-defined]

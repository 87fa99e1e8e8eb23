from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llama_index_rap.store import ConceptInput, ConceptStore
from llama_index_rap.store.ann import AnnSettings, has_index
from llama_index_rap.store.exact import COLUMNS, UserVectors
from llama_index_rap.store.schema import eq, user_key

pytestmark = pytest.mark.slow


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int) -> np.ndarray:
    centres = rng.normal(size=(clusters, dim))
    points = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim))
    out: np.ndarray = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    return out


def test_large_users_are_searched_through_an_index_with_high_recall(
    tmp_path: Path, tiny_embedding
) -> None:
    rng = np.random.default_rng(0)
    dim, n = tiny_embedding.dim, 3600
    vectors = clustered(rng, n, dim, clusters=40)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    items = [ConceptInput(f"c{i}", buf.getvalue(), f"Concept {i}.") for i in range(n)]
    store = ConceptStore(
        tmp_path / "db", embedding=tiny_embedding, user="big", ann=AnnSettings(threshold=3000)
    )
    store.remember_many(items[:2000], vectors=[[v] for v in vectors[:2000]])
    table = store.table.open()
    assert table is not None and not has_index(table)  # below the threshold: exact search
    store.remember_many(items[2000:], vectors=[[v] for v in vectors[2000:]])
    assert has_index(table)  # crossing the threshold built the index
    store.remember("small", buf.getvalue(), "Another user's.", user="other")

    planted = vectors[rng.choice(n, 50, replace=False)] + 0.02 * rng.normal(size=(50, dim))
    queries = np.vstack([planted, clustered(rng, 50, dim, clusters=40)]).astype(np.float32)
    approx = store.search(queries, k=5)
    ukey = user_key("big")
    exact = UserVectors.from_arrow(
        store.table.arrow(eq("user_key", ukey), COLUMNS), dim, ukey
    ).search(queries / np.linalg.norm(queries, axis=1, keepdims=True), 5, None)

    pairs = list(zip(approx, exact, strict=True))
    recall1 = np.mean([a[0].concept_id == e[0].concept_id for a, e in pairs[:50]])
    recall5 = np.mean(
        [len({h.concept_id for h in a} & {h.concept_id for h in e}) / 5 for a, e in pairs]
    )
    print(f"ANN recall@1 (planted) {recall1:.3f}, recall@5 vs exact {recall5:.3f}")
    assert recall1 >= 0.98 and recall5 >= 0.9
    for a, e in zip(approx, exact, strict=True):
        assert abs(a[0].distance - e[0].distance) < 1e-3 or a[0].distance >= e[0].distance
    assert all(h.name != "small" for hits in approx for h in hits)  # the user filter holds
    with store.snapshot():  # the plan is the pinned version's; the index sees a newer row
        store.remember_many(
            [ConceptInput("twin", buf.getvalue(), "Another user's twin.")],
            vectors=[[queries[0]]],
            user="other",
        )
        assert all(h.name != "twin" for h in store.search(queries[:1], k=5)[0])
    store.optimize()  # compacts and rebuilds the index
    assert has_index(table)
    assert store.search(queries[:1], k=1)[0][0].concept_id == approx[0][0].concept_id

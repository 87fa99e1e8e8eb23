from __future__ import annotations

import numpy as np
import pyarrow as pa

from llama_index_rap.store.reading import VersionCache
from llama_index_rap.store.search import UserVectors


def table(concepts: list[str], vectors: np.ndarray, users: list[str]) -> pa.Table:
    return pa.table(
        {
            "row_id": [f"r{i}" for i in range(len(concepts))],
            "concept_id": concepts,
            "name": [c.upper() for c in concepts],
            "user_key": users,
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.ravel(), pa.float32()), vectors.shape[1]
            ),
        }
    )


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    out: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def test_matches_brute_force_with_concepts_of_several_images() -> None:
    rng = np.random.default_rng(0)
    concepts = [f"c{rng.integers(0, 40)}" for _ in range(200)]
    vectors = unit(rng, 200, 16)
    found = UserVectors.from_arrow(table(concepts, vectors, ["u"] * 200), 16)
    queries = unit(rng, 7, 16)
    hits = found.search(queries, k=5, max_distance=None)
    dist = ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    for qi in range(7):
        best: dict[str, tuple[float, str]] = {}
        for ri, cid in enumerate(concepts):
            if cid not in best or dist[qi, ri] < best[cid][0]:
                best[cid] = (float(dist[qi, ri]), f"r{ri}")
        expected = sorted(best.items(), key=lambda kv: kv[1][0])[:5]
        assert [h.concept_id for h in hits[qi]] == [cid for cid, _ in expected]
        assert [h.row_id for h in hits[qi]] == [row for _, (_, row) in expected]
        assert np.allclose([h.distance for h in hits[qi]], [d for _, (d, _) in expected], atol=1e-4)
        assert all(h.query_index == qi for h in hits[qi])


def test_the_threshold_applies() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 4, 8)
    found = UserVectors.from_arrow(table(["a", "b", "c", "d"], vectors, ["u"] * 4), 8)
    assert sorted(found.concept_ids) == ["a", "b", "c", "d"]
    hits = found.search(vectors[[1]], k=4, max_distance=None)[0]
    assert hits[0].concept_id == "b" and len(hits) == 4
    assert found.search(vectors[[0]], k=4, max_distance=1e-6)[0][0].concept_id == "a"
    assert len(found.search(vectors[[0]], k=4, max_distance=1e-6)[0]) == 1


def test_empty_and_cache() -> None:
    empty = UserVectors.from_arrow(table([], np.zeros((0, 4), np.float32), []), 4)
    assert empty.search(np.ones((2, 4), np.float32) / 2, 2, None) == [[], []]
    cache = VersionCache(capacity=2)  # how the store keeps users' vectors
    for key in ("a", "b", "c"):
        cache.put(3, key, empty)
    assert cache.peek(3, "a") is None  # evicted
    assert cache.peek(3, "c") is empty
    assert cache.peek(4, "c") is None  # another version
    cache.put(5, "a", empty)
    cache.put(5, "b", empty)
    assert cache.peek(5, "a") is empty  # used: "b" is now the least recently used
    cache.put(5, "c", empty)
    assert cache.peek(5, "b") is None and cache.peek(5, "a") is empty


def test_the_cache_is_shared_safely_between_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    cache = VersionCache(capacity=8)
    wrong: list[tuple[int, int, int]] = []

    def work(i: int) -> None:
        for step in range(300):
            version, key = step // 50, (i + step) % 12
            value = cache.get(version, key, lambda v=version, k=key: (v, k))  # type: ignore[misc]
            if value != (version, key):  # never another key's or another version's value
                wrong.append((i, step, key))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert wrong == []

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llama_index_rap.store import ConceptInput, ConceptStore
from llama_index_rap.store.ann import AnnSettings, RowDirectory, has_index
from llama_index_rap.store.reading import owned_rows
from llama_index_rap.store.schema import SearchHit, eq, name_key, user_key
from llama_index_rap.store.search import COLUMNS, UserVectors

pytestmark = pytest.mark.slow


def png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


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
    image = png((200, 30, 30))
    items = [ConceptInput(f"c{i}", image, f"Concept {i}.") for i in range(n)]
    store = ConceptStore(
        tmp_path / "db", embedding=tiny_embedding, user="big", ann=AnnSettings(threshold=3000)
    )
    store.remember_many(items[:2000], vectors=[[v] for v in vectors[:2000]])
    table = store.table.open()
    assert table is not None and not has_index(table)  # below the threshold: exact search
    store.remember_many(items[2000:], vectors=[[v] for v in vectors[2000:]])
    assert has_index(table)  # crossing the threshold built the index
    store.remember("small", image, "Another user's.", user="other")

    planted = vectors[rng.choice(n, 50, replace=False)] + 0.02 * rng.normal(size=(50, dim))
    queries = np.vstack([planted, clustered(rng, 50, dim, clusters=40)]).astype(np.float32)
    approx = store.search(queries, k=5)
    ukey = user_key("big")
    exact = UserVectors.from_arrow(owned_rows(store.table, ukey, COLUMNS), dim).search(
        queries / np.linalg.norm(queries, axis=1, keepdims=True), 5, None
    )

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
            [ConceptInput("twin", image, "Another user's twin.")],
            vectors=[[queries[0]]],
            user="other",
        )
        assert all(h.name != "twin" for h in store.search(queries[:1], k=5)[0])
    store.optimize()  # compacts and rebuilds the index
    assert has_index(table)
    assert store.search(queries[:1], k=1)[0][0].concept_id == approx[0][0].concept_id


def big_store(path: Path, embedding, vectors: np.ndarray, ann: AnnSettings) -> ConceptStore:
    """A store whose user ``big`` owns one concept per vector, indexed (threshold 3000)."""
    image = png((200, 30, 30))
    items = [ConceptInput(f"c{i}", image, f"Concept {i}.") for i in range(len(vectors))]
    store = ConceptStore(path, embedding=embedding, user="big", ann=ann)
    store.remember_many(items, vectors=[[v] for v in vectors])
    table = store.table.open()
    assert table is not None and has_index(table)
    return store


def test_a_query_with_nothing_near_is_searched_again_with_more_partitions(
    tmp_path: Path, tiny_embedding
) -> None:
    rng = np.random.default_rng(1)
    dim, n = tiny_embedding.dim, 3600  # 14 partitions
    vectors = rng.normal(size=(n, dim))  # isotropic: a neighbour's partition is a lottery
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    sources = rng.choice(n, 100, replace=False)
    noise = rng.normal(size=(100, dim)) * 0.5 / np.sqrt(dim)
    queries = (vectors[sources] + noise).astype(np.float32)  # distance ~0.25 to its source
    one = AnnSettings(threshold=3000, nprobes=1, wide_nprobes=14)
    store = big_store(tmp_path / "db", tiny_embedding, vectors, one)
    narrow = ConceptStore(
        tmp_path / "db",
        embedding=tiny_embedding,
        user="big",
        ann=replace(one, widen_distance=float("inf")),
    )

    def recall(found: list[list[SearchHit]]) -> float:
        return float(np.mean([h[0].name == f"c{s}" for h, s in zip(found, sources, strict=True)]))

    one_partition = narrow.search(queries, k=3)
    widened = store.search(queries, k=3)
    print(f"recall@1, one partition {recall(one_partition):.2f}, widened {recall(widened):.2f}")
    assert recall(one_partition) < 0.95  # the first search alone misses near neighbours
    assert recall(widened) == 1.0  # ... which the second search finds
    assert all(h[0].distance < 0.5 for h in widened)
    # a batch gets what each query gets alone (widened queries keep their positions)
    alone = [store.search(q[None, :], k=3)[0] for q in queries[:10]]
    for together, single in zip(widened[:10], alone, strict=True):
        assert [h.concept_id for h in together] == [h.concept_id for h in single]
    assert [h.query_index for h in widened[7]] == [7, 7, 7]
    # max_distance still cuts what the widened search found
    assert store.search(queries[:5], k=3, max_distance=0.0) == [[], [], [], [], []]


def test_rows_written_after_the_directory_loaded_are_found_with_their_names(
    tmp_path: Path, tiny_embedding
) -> None:
    rng = np.random.default_rng(2)
    vectors = clustered(rng, 3200, tiny_embedding.dim, clusters=40)
    store = big_store(tmp_path / "db", tiny_embedding, vectors, AnnSettings(threshold=3000))
    assert store.search(vectors[:1], k=1)[0][0].name == "c0"  # loads the row directory
    fresh = vectors[1] + vectors[2]
    fresh /= np.linalg.norm(fresh)

    def newcomer(name: str) -> None:
        item = ConceptInput(name, png((30, 200, 30)), "Written after the load.")
        store.remember_many([item], vectors=[[fresh]])

    newcomer("Newcomer")
    hit = store.search(fresh, k=1)[0][0]
    assert hit.name == "Newcomer" and hit.distance < 1e-4  # taken by its address
    store.update("Newcomer", new_name="Latecomer")
    assert store.search(fresh, k=1)[0][0].name == "Latecomer"  # new rows, new ids
    store.forget("Latecomer")
    assert store.search(fresh, k=1)[0][0].name not in ("Newcomer", "Latecomer")

    newcomer("Unseen")  # not searched yet: taken by its address
    lance = store.table.open()
    assert lance is not None
    found = lance.search().where(eq("name_key", name_key("Unseen"))).with_row_id(True)
    unseen = found.select(["row_id"]).to_arrow().to_pylist()[0]
    indexed = store.table.open_async()
    assert indexed is not None
    info = RowDirectory(indexed).lookup([unseen["_rowid"], 2**40 + 7])
    assert info[0] is not None and (info[0].name, info[0].row_id) == ("Unseen", unseen["row_id"])
    assert info[1] is None  # a row that is not there (deleted meanwhile)

    # another store object (as another process would) writes; this one's next search sees it
    other = ConceptStore(tmp_path / "db", embedding=tiny_embedding, user="big", ann=store.ann)
    elsewhere = vectors[3] + vectors[4]
    elsewhere /= np.linalg.norm(elsewhere)
    other.remember_many([ConceptInput("Elsewhere", png((9, 9, 9)), "Hi.")], vectors=[[elsewhere]])
    hit = store.search(elsewhere, k=1)[0][0]
    assert hit.name == "Elsewhere" and hit.distance < 1e-4


def test_hits_keep_their_names_after_a_compaction_and_a_restore(
    tmp_path: Path, tiny_embedding, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row addresses move on compaction and are never given to another row after a restore."""
    rng = np.random.default_rng(3)
    vectors = clustered(rng, 3200, tiny_embedding.dim, clusters=40)
    store = big_store(tmp_path / "db", tiny_embedding, vectors, AnnSettings(threshold=3000))
    names = [f"c{i}" for i in range(0, 3200, 400)]

    def found() -> list[str]:
        return [hits[0].name for hits in store.search(vectors[:3200:400], k=1)]

    assert found() == names  # loads the directory
    before = store.versions()[-1].version
    newcomer = vectors[5] + vectors[6]
    newcomer /= np.linalg.norm(newcomer)
    store.remember_many([ConceptInput("Gone", png((1, 2, 3)), "Hi.")], vectors=[[newcomer]])
    assert store.search(newcomer, k=1)[0][0].name == "Gone"
    store.restore(before)  # "Gone" is no longer there; a new row must not take its address
    store.remember_many([ConceptInput("Back", png((4, 5, 6)), "Hi.")], vectors=[[newcomer]])
    hit = store.search(newcomer, k=1)[0][0]
    assert (hit.name, hit.distance < 1e-4) == ("Back", True)

    lance = store.table.open()
    assert lance is not None

    def addresses() -> list[int]:
        data = lance.search().select(["name"]).with_row_id(True).limit(None).to_arrow()
        return [int(a) for a in data.column("_rowid").to_pylist()]

    def directory() -> RowDirectory:  # one like the store's own, held by the test
        indexed = store.table.open_async()
        assert indexed is not None
        return RowDirectory(indexed)

    rows, before_compaction = directory(), addresses()
    total = len(before_compaction)
    assert None not in rows.lookup(before_compaction) and rows.loaded_rows == total
    monkeypatch.setattr("llama_index_rap.store.ann.RELOAD_AFTER", 4)
    monkeypatch.setattr("llama_index_rap.store.ann.RELOAD_SHARE", 0.0)
    store.optimize()  # compaction: every row gets a new address
    assert found() == names  # the store's own directory: taken by their new addresses
    moved = sorted(set(addresses()) - set(before_compaction))
    assert len(moved) > total // 2
    expected = directory().lookup(moved[:3])
    assert rows.lookup(moved[:3]) == expected and None not in expected
    assert rows.taken_rows == 3 and rows.loaded_rows == total  # taken one by one
    rows.lookup(moved[3:8])
    assert rows.taken_rows == 0 and rows.loaded_rows == 0  # too many: read again next time
    assert None not in rows.lookup(moved) and rows.loaded_rows == total

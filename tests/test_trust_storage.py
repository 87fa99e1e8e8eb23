"""The same remember, retrieve, forget and two-process tests on local disk and on an
S3-compatible server on loopback (moto's server mode)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from llama_index_rap.errors import ConceptNotFoundError
from llama_index_rap.store import ConceptStore
from tests import workers
from tests.imagegen import photo
from tests.s3server import moto_server, new_bucket, storage_options

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "s3"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, str] | None]:
    if request.param == "local":
        return str(tmp_path / "db"), None
    endpoint = request.getfixturevalue("s3_endpoint")
    return new_bucket(endpoint), storage_options(endpoint)


def test_remember_retrieve_forget(location, tiny_embedding) -> None:
    uri, options = location
    store = ConceptStore(uri, embedding=tiny_embedding, user="alice", storage_options=options)
    store.remember("Bo", photo(1), "My dog.", category="dog")
    store.remember("Mam", photo(2), "My mother.")
    store.remember("Rex", photo(3), "Bob's dog.", user="bob")
    other = ConceptStore(uri, embedding=tiny_embedding, user="alice", storage_options=options)
    hits = other.search(tiny_embedding.embed_images([photo(2)]), k=5)[0]
    assert [h.name for h in hits] == ["Mam", "Bo"]  # Rex is bob's
    assert other.get("bo").images[0].data == store.get("Bo").images[0].data
    store.forget("Bo", purge=True)
    with pytest.raises(ConceptNotFoundError):
        other.get("Bo")
    assert [c.name for c in other.list()] == ["Mam"]
    assert [c.name for c in other.list(user="bob")] == ["Rex"]


def test_two_processes_remembering_at_once(location) -> None:
    uri, options = location
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        done = pool.starmap(workers.remember_range, [(uri, w, 8, options) for w in range(2)])
    assert done == [8, 8]
    names = {c.name for c in ConceptStore(uri, user="shared", storage_options=options).list()}
    assert names == {f"w{w}-c{i}" for w in range(2) for i in range(8)}

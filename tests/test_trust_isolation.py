"""Property-based isolation: whatever the users, names and queries, nothing one user does
ever touches another user's concepts."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from llama_index_rap.errors import ConceptExistsError, ConceptNotFoundError, InvalidInputError
from llama_index_rap.store import ConceptStore
from llama_index_rap.store.schema import normalise_name
from tests.imagegen import photo

pytestmark = pytest.mark.slow

NASTY = [
    "'",
    '"',
    "\\",
    "%",
    "_",
    "' OR 1=1 --",
    "'; DELETE FROM concepts; --",
    "*",
    "\u00e9",
    "\U0001f436",
    "\u540d",
    " ",
    "\u200b",
    "NULL",
    "user_key",
]
piece = st.one_of(st.sampled_from(NASTY), st.characters(blacklist_categories=("Cc", "Cs")))
text = st.lists(piece, min_size=1, max_size=8).map("".join)
users = st.one_of(text, st.text(alphabet="ab'\\%_", min_size=200, max_size=256))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    owners=st.lists(users, min_size=2, max_size=3, unique=True),
    names=st.lists(text, min_size=2, max_size=4),
    description=st.text(min_size=1, max_size=60).filter(lambda s: s.strip()),
    query_seed=st.integers(0, 10_000),
)
def test_no_user_ever_touches_another_users_concepts(
    owners: list[str], names: list[str], description: str, query_seed: int, tiny_embedding
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = ConceptStore(Path(folder) / "db", embedding=tiny_embedding)
        stored: dict[str, set[str]] = {}
        seed = 0
        for owner in owners:
            stored[owner] = set()
            for name in names:
                seed += 1
                try:
                    concept = store.remember(name, photo(seed, (48, 48)), description, user=owner)
                except InvalidInputError:
                    assume(False)  # names that are refused (blank, too long) prove nothing here
                    return
                except ConceptExistsError:  # the same name twice (ignoring case) for one user
                    continue
                stored[owner].add(concept.name)
        rng = np.random.default_rng(query_seed)
        queries = rng.normal(size=(3, tiny_embedding.dim)).astype(np.float32)
        for owner in owners:
            listed = {c.name for c in store.list(user=owner)}
            assert listed == stored[owner]
            assert all(c.user == owner for c in store.list(user=owner, include_images=True))
            found = {h.name for hits in store.search(queries, k=50, user=owner) for h in hits}
            assert found == stored[owner]
            with tempfile.TemporaryDirectory() as out:
                assert store.export(out, user=owner) == len(stored[owner])
        victim, attacker = owners[0], owners[1]
        for name in names:  # the attacker forgets "the same" names: only theirs go
            with contextlib.suppress(ConceptNotFoundError, InvalidInputError):
                store.forget(name, user=attacker)
        assert {c.name for c in store.list(user=victim)} == stored[victim]
        assert store.list(user=attacker) == []
        keys = {normalise_name(n) for n in stored[victim]}
        assert {normalise_name(c.name) for c in store.list(user=victim)} == keys

"""Reading users' concepts from the table, remembered per table version.

A user's concept list (without images) and the concept records a prompt needs are read once
per table version (:class:`~llama_index_rap.store.cache.VersionCache`); any write, from any
process, moves the version and so drops them. :meth:`ConceptReads.snapshot` pins one
version for every read of a query. Users are given as ``user_key`` digests: only hex keys
ever reach a filter.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from llama_index_rap.store.cache import VersionCache
from llama_index_rap.store.schema import META_COLUMNS, Concept, any_of, eq, name_key

if TYPE_CHECKING:
    from llama_index_rap.store.table import ConceptTable

Groups = dict[str, list[dict[str, Any]]]


class ConceptReads:
    """The read side of a concept store.

    Args:
        table: The concept table.
        capacity: Reads kept per version (concept records hold their images).
    """

    def __init__(self, table: ConceptTable, capacity: int = 512) -> None:
        self.table = table
        self._pinned: ContextVar[int | None] = ContextVar(f"rap-version-{id(self)}", default=None)
        self._cache = VersionCache(capacity)

    @property
    def version(self) -> int:
        """The table's current version; inside :meth:`snapshot`, the one read when it began."""
        pinned = self._pinned.get()
        return self.table.version if pinned is None else pinned

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[int]:
        """Read the table version once for every read inside (one query, one view)."""
        token = self._pinned.set(self.table.version)
        try:
            yield self.version
        finally:
            self._pinned.reset(token)

    def rows(
        self,
        ukey: str,
        columns: Sequence[str],
        name: str | None = None,
        ids: Sequence[str] = (),
    ) -> Groups:
        """The user's rows grouped by concept: all, the one called ``name``, or ``ids``."""
        where = eq("user_key", ukey)
        if name is not None:
            where += " AND " + eq("name_key", name_key(name))
        if ids:
            where += " AND " + any_of("concept_id", ids)
        grouped: Groups = {}
        for row in self.table.rows(where, columns):
            if row["user_key"] == ukey:  # belt and braces: never another user's row
                grouped.setdefault(row["concept_id"], []).append(row)
        return grouped

    def list(self, ukey: str, include_images: bool = False) -> builtins.list[Concept]:
        """The user's concepts sorted by name; without images, remembered per version."""
        if include_images:
            return self._list(ukey, [*META_COLUMNS, "image"])
        return list(self._cache.get(self.version, ("list", ukey), lambda: self._list(ukey)))

    def _list(self, ukey: str, columns: Sequence[str] = META_COLUMNS) -> builtins.list[Concept]:
        groups = self.rows(ukey, columns)
        return sorted(
            (Concept.from_rows(rows) for rows in groups.values()), key=lambda c: c.name.casefold()
        )

    def by_ids(self, ukey: str, concept_ids: Iterable[str]) -> dict[str, Concept]:
        """The user's concepts with these ids, with image bytes; remembered per version."""
        version = self.version
        ids = set(concept_ids)
        found: dict[str, Concept] = {}
        for cid in ids:
            if (hit := self._cache.peek(version, ("concept", ukey, cid))) is not None:
                found[cid] = hit
        missing = sorted(ids - found.keys())
        if missing:
            for cid, rows in self.rows(ukey, [*META_COLUMNS, "image"], ids=missing).items():
                found[cid] = Concept.from_rows(rows)
                self._cache.put(version, ("concept", ukey, cid), found[cid])
        return found

    def count(self, ukey: str) -> int:
        """Number of concepts the user has."""
        return len(self.rows(ukey, ["user_key", "concept_id"]))

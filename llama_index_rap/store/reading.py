"""Reading users' concepts from the table, remembered per table version.

A user's concept list (without images) and the concept records a prompt needs are read once
per table version (:class:`VersionCache`); any write, from any process, moves the version
and so drops them. :meth:`ConceptReads.snapshot` pins one version for every read of a
query. Users are given as ``user_key`` digests: only hex keys ever reach a filter, and
:func:`owned_rows` is the one place rows are read for a user (and checked to be theirs).
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index_rap.errors import ConceptNotFoundError
from llama_index_rap.store.schema import META_COLUMNS, Concept, any_of, eq, name_key

if TYPE_CHECKING:
    import pyarrow as pa

    from llama_index_rap.store.table import ConceptTable

T = TypeVar("T")
Groups = dict[str, list[dict[str, Any]]]


def owned_rows(
    table: ConceptTable, ukey: str, columns: Sequence[str], where: str = ""
) -> pa.Table | None:
    """The rows of user ``ukey`` (and ``where``), or ``None`` before the first write.

    The filter selects the user's rows; the result is checked again row by row (belt and
    braces: never another user's row), so ``columns`` must include ``user_key``.
    """
    import pyarrow.compute as pc

    user = eq("user_key", ukey)
    data = table.arrow(f"{user} AND {where}" if where else user, columns)
    return None if data is None else data.filter(pc.equal(data.column("user_key"), ukey))


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
        where = []
        if name is not None:
            where.append(eq("name_key", name_key(name)))
        if ids:
            where.append(any_of("concept_id", ids))
        data = owned_rows(self.table, ukey, columns, " AND ".join(where))
        grouped: Groups = {}
        for row in [] if data is None else data.to_pylist():
            grouped.setdefault(row["concept_id"], []).append(row)
        return grouped

    def one(self, uid: str, ukey: str, name: str, columns: Sequence[str]) -> list[dict[str, Any]]:
        """The rows of the user's concept called ``name`` (clean), by image.

        Raises:
            ConceptNotFoundError: The user has no such concept.
        """
        groups = self.rows(ukey, columns, name)
        if not groups:
            raise ConceptNotFoundError(
                f"user {uid!r} has no concept named {name!r}; 'rap list' shows the names"
            )
        return sorted(next(iter(groups.values())), key=lambda r: r["image_index"])

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


class VersionCache:
    """Values computed at one table version; past ``capacity``, the least recently used go.

    Safe to share between threads (the engines retrieve from worker threads): the table of
    values is locked, a value is computed outside the lock, and a value computed for a
    version that is no longer the cache's is returned but not kept.

    Args:
        capacity: How many values to keep.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._version: int | None = None
        self._items: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, version: int, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key`` at ``version``, computed on a miss."""
        with self._lock:
            self._at(version)
            if key in self._items:
                found: T = self._items.pop(key)
                self._items[key] = found  # now the most recently used
                return found
        value = compute()
        self._keep(version, key, value)
        return value

    def peek(self, version: int, key: Hashable) -> Any:
        """The cached value of ``key`` at ``version``, or ``None``."""
        with self._lock:
            self._at(version)
            if key not in self._items:
                return None
            found = self._items.pop(key)
            self._items[key] = found
            return found

    def put(self, version: int, key: Hashable, value: Any) -> None:
        """Remember ``value`` for ``key`` at ``version``."""
        with self._lock:
            self._at(version)
        self._keep(version, key, value)

    def _keep(self, version: int, key: Hashable, value: Any) -> None:
        with self._lock:
            if self._version != version:  # another thread moved on to a newer version
                return
            self._items.pop(key, None)
            while len(self._items) >= self.capacity:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value

    def _at(self, version: int) -> None:
        if version != self._version:
            self._items.clear()
            self._version = version

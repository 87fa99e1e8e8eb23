"""Reads remembered for one table version: any write (from any process) drops them all.

Callers pass the table version they just read (``ConceptTable.version``, or the one a
``ConceptStore.snapshot()`` pinned), so a cached answer is never older than the table: this
only saves re-reading rows that cannot have changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


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

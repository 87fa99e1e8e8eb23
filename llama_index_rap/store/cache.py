"""Reads remembered for one table version: any write (from any process) drops them all.

Callers pass the table version they just read (``ConceptTable.version``, or the one a
``ConceptStore.snapshot()`` pinned), so a cached answer is never older than the table: this
only saves re-reading rows that cannot have changed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class VersionCache:
    """Values computed at one table version; past ``capacity``, the least recently used go.

    Args:
        capacity: How many values to keep.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._version: int | None = None
        self._items: dict[Hashable, Any] = {}

    def get(self, version: int, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key`` at ``version``, computed on a miss."""
        self._at(version)
        if key in self._items:
            self._items[key] = self._items.pop(key)  # now the most recently used
        else:
            while len(self._items) >= self.capacity:
                self._items.pop(next(iter(self._items)))
            self._items[key] = compute()
        result: T = self._items[key]
        return result

    def peek(self, version: int, key: Hashable) -> Any:
        """The cached value of ``key`` at ``version``, or ``None``."""
        self._at(version)
        return self.get(version, key, lambda: None) if key in self._items else None

    def put(self, version: int, key: Hashable, value: Any) -> None:
        """Remember ``value`` for ``key`` at ``version``."""
        self.get(version, key, lambda: value)

    def _at(self, version: int) -> None:
        if version != self._version:
            self._items.clear()
            self._version = version

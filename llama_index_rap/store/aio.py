"""LanceDB's async API from synchronous code, through one event loop thread per process.

LanceDB's synchronous query builder reads the table schema twice per vector query, each
read one more hop through its own event loop plus a manifest check; its async builder does
not (1.5 ms of a 8 ms query at 1M rows, benchmarks/README.md). The index search runs here.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the background loop and wait for its result (from any thread)."""
    return asyncio.run_coroutine_threadsafe(coro, _background()).result()


def _background() -> asyncio.AbstractEventLoop:
    """The process's background loop, started on first use (again in a forked child)."""
    global _loop
    with _lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="rap-lancedb", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]

"""Keeping concurrent writers from losing each other's work.

Writers to a local store take an exclusive file lock for the short check-then-write step,
so that names stay unique per user across processes. On any store (object storage too) a
LanceDB commit conflict is retried with backoff.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from llama_index_rap.errors import StoreError

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 12


_held = threading.local()  # per thread: the lock files it holds, and how deep


@contextlib.contextmanager
def write_lock(local_dir: Path | None) -> Iterator[None]:
    """Hold an exclusive inter-process lock on a local store; a no-op for remote URIs.

    Re-entrant within a thread (a read-modify-write holds it around a write that takes it
    again); other threads and processes wait (``flock`` locks one open file description).
    """
    if local_dir is None:
        yield
        return
    path = local_dir / ".rap-write.lock"
    depths: dict[str, int] = _held.__dict__.setdefault("depths", {})
    key = str(path)
    if depths.get(key):
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
    try:
        local_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 - closed by the with below
    except IsADirectoryError as e:
        raise StoreError(
            f"the store's lock file {path} is a directory; remove it (rmdir) and try again"
        ) from e
    except PermissionError as e:
        raise StoreError(
            f"cannot write the store's lock file {path} ({e.strerror}): the store is "
            "read-only for this user; use a store you can write, or read without changing it"
        ) from e
    except (FileExistsError, NotADirectoryError) as e:
        raise StoreError(f"the store path {local_dir} is (or is under) a file, not a folder") from e
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        depths[key] = 1
        try:
            yield
        finally:
            depths[key] = 0
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def is_conflict(error: BaseException) -> bool:
    """Whether a LanceDB error is a commit conflict that a retry can resolve."""
    text = str(error).lower()
    return "conflict" in text or "retryable" in text or "too many concurrent writers" in text


def with_retries(action: Callable[[], T], what: str) -> T:
    """Run a write, retrying commit conflicts with jittered exponential backoff."""
    for attempt in range(RETRIES):
        try:
            return action()
        except (OSError, RuntimeError, ValueError) as e:
            if not is_conflict(e) or attempt == RETRIES - 1:
                if is_conflict(e):
                    raise StoreError(f"{what} failed after {RETRIES} commit conflicts: {e}") from e
                raise
            delay = min(2.0, 0.02 * 2**attempt) * (0.5 + random.random())
            logger.info("%s hit a commit conflict; retrying in %.2fs", what, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")

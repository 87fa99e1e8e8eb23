"""The LanceDB table behind a ConceptStore: where it lives, its encoder, locks and versions.

This module knows LanceDB; it knows nothing of names, users or images. The table records
the encoder its vectors came from in its schema metadata, so one table is one embedding
space.

Concurrent writers do not lose each other's work: writers to a local store take an
exclusive file lock (:func:`write_lock`) for the short check-then-write step, so that names
stay unique per user across processes; on any store (object storage too) a LanceDB commit
conflict is retried with backoff (:func:`with_retries`).

Erasure works on a full disk: a local store keeps :data:`RESERVE_BYTES` set aside in a
file (``.rap-reserve``); when a forget or a purge finds the disk full, the reserve is
given up, the erasure retried, and the reserve taken again once there is room.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index_rap.errors import (
    DiskFullError,
    EncoderMismatchError,
    InvalidInputError,
    StoreError,
)
from llama_index_rap.store.schema import ENCODER_METADATA_KEY, StoreVersion, concept_row_model

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.table import AsyncTable, Table

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 12
MATCH_DISTANCE_KEY = b"rap.match_distance"
RESERVE = ".rap-reserve"
RESERVE_BYTES = 4 * 2**20  # room for a delete's commit and a small compaction


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a LanceDB coroutine on LanceDB's own background loop (reset in a forked child).

    LanceDB's synchronous query builder reads the table schema twice per vector query; its
    async builder does not (1.5 ms of an 8 ms query at 1M rows, benchmarks/README.md). The
    index search runs through it.
    """
    from lancedb.background_loop import LOOP

    result: T = LOOP.run(coro)
    return result


class ConceptTable:
    """One LanceDB table of concept rows, opened lazily and created on the first write.

    Reads are strongly consistent (``read_consistency_interval=0``): a write from any
    process is seen by the next read.

    Args:
        uri: A local directory or any LanceDB URI.
        name: Table name.
        storage_options: Passed to LanceDB (object-store credentials, endpoint).
    """

    def __init__(self, uri: str, name: str, storage_options: dict[str, str] | None) -> None:
        import lancedb

        self.uri = uri
        self.name = name
        self.storage_options = storage_options
        self.local_dir = _local_path(uri)
        if self.local_dir is not None:
            make_folder(self.local_dir)
        self._db = lancedb.connect(
            uri, read_consistency_interval=timedelta(0), storage_options=storage_options
        )
        self._table: Table | None = None
        self._async: tuple[int, AsyncTable] | None = None
        self._space: tuple[str | None, int] | None = None

    def open(self) -> Table | None:
        """The table, or ``None`` before the first write.

        Raises:
            StoreError: The table's folder is there but LanceDB cannot open it (its version
                records deleted or damaged): never taken for an empty store.
        """
        if self._table is None:
            try:
                self._table = self._db.open_table(self.name)
            except (ValueError, FileNotFoundError, OSError, RuntimeError) as e:
                folder = self.local_dir / f"{self.name}.lance" if self.local_dir else None
                data = folder / "data" if folder is not None else None
                if data is not None and data.is_dir() and any(data.iterdir()):  # rows written
                    raise StoreError(
                        f"the store's table {folder} exists but cannot be opened ({e}); it is "
                        "damaged (its _versions/ records missing or broken): restore the folder "
                        "from a backup; nothing was read or written"
                    ) from e
                if isinstance(e, (OSError, RuntimeError)) and not isinstance(e, FileNotFoundError):
                    raise StoreError(f"the store at {self.uri} cannot be opened ({e})") from e
                return None
        return self._table

    def open_async(self) -> AsyncTable | None:
        """The table through LanceDB's async API (run with :func:`run_async`), or ``None``."""
        if self._async is None or self._async[0] != os.getpid():
            if self.open() is None:
                return None
            self._async = (os.getpid(), run_async(self._open_async()))
        return self._async[1]

    async def _open_async(self) -> AsyncTable:
        import lancedb

        db = await lancedb.connect_async(
            self.uri,
            read_consistency_interval=timedelta(0),
            storage_options=self.storage_options,
        )
        return await db.open_table(self.name)

    @property
    def encoder_id(self) -> str | None:
        """The encoder the table was written with, or ``None`` before the first write."""
        return self._embedding_space()[0]

    @property
    def dim(self) -> int | None:
        """Vector dimension, or ``None`` before the first write."""
        return self._embedding_space()[1]

    def _embedding_space(self) -> tuple[str | None, int | None]:
        """Encoder id and dimension from the schema, read once (a table never changes them)."""
        if self._space is None:
            table = self.open()
            if table is None:
                return None, None
            schema = table.schema
            encoder = (schema.metadata or {}).get(ENCODER_METADATA_KEY, b"").decode() or None
            self._space = (encoder, int(schema.field("vector").type.list_size))
        return self._space

    @property
    def version(self) -> int:
        """The current version (0 before the first write), as LanceDB reads it now."""
        table = self.open()
        return 0 if table is None else int(table.version)

    @property
    def match_distance(self) -> float | None:
        """The match distance the table was calibrated with (``None``: never calibrated)."""
        table = self.open()
        if table is None:
            return None
        found = (table.schema.field("vector").metadata or {}).get(MATCH_DISTANCE_KEY)
        return float(found) if found else None

    def set_match_distance(self, value: float, note: str) -> None:
        """Record a calibrated match distance (and how it was chosen) in the table."""
        table = self.open()
        if table is None:
            raise InvalidInputError("the store is empty: remember concepts before calibrating")
        metadata = {MATCH_DISTANCE_KEY.decode(): repr(float(value)), "rap.calibration": note}
        with self.lock():
            with_retries(
                lambda: table.update_field_metadata({"path": "vector", "metadata": metadata}),
                "recording the match distance",
            )

    def check_encoder(self, encoder: str, dim: int) -> None:
        """Refuse vectors from another embedding space than the table's.

        Raises:
            EncoderMismatchError: The table was written with another encoder or dimension.
        """
        stored, stored_dim = self.encoder_id, self.dim
        if stored is not None and (stored != encoder or stored_dim != dim):
            raise EncoderMismatchError(
                f"the store at {self.uri} holds vectors from encoder {stored!r} "
                f"({stored_dim}-d); vectors from {encoder!r} ({dim}-d) would not be "
                "comparable. Use the same encoder (--models / embedding=), or another "
                "store (--db), and re-import the concepts there (rap export / rap import)"
            )

    def writable(self, encoder: str, dim: int) -> Table:
        """The table for vectors of ``encoder``, created if missing; call under :meth:`lock`."""
        table = self.open()
        if table is None:
            schema = concept_row_model(dim).to_arrow_schema()
            schema = schema.with_metadata({ENCODER_METADATA_KEY: encoder.encode()})
            table = with_retries(
                lambda: self._db.create_table(self.name, schema=schema, exist_ok=True),
                "creating the store's table",
            )
            self._table = table
        self.check_encoder(encoder, dim)
        self.keep_reserve()
        return table

    @property
    def reserve(self) -> Path | None:
        """The erase reserve's file (``None`` for a remote store)."""
        return None if self.local_dir is None else self.local_dir / RESERVE

    def keep_reserve(self) -> None:
        """Set :data:`RESERVE_BYTES` aside for erasing on a full disk (local stores).

        Best effort: when there is no room, it is taken at a later write.
        """
        path = self.reserve
        if path is None or path.exists():
            return
        try:
            with open(path, "wb") as handle:
                os.posix_fallocate(handle.fileno(), 0, RESERVE_BYTES)
        except OSError as e:
            path.unlink(missing_ok=True)
            logger.info("no room for the store's erase reserve %s (%s)", path, e)

    def _erasing(self, action: Callable[[], T], what: str) -> T:
        """Run an erasing write; on a full disk give up the reserve and run it again."""
        try:
            return with_retries(action, what)
        except DiskFullError:
            reserve = self.reserve
            if reserve is None or not reserve.exists():
                raise
            logger.warning("the disk is full: %s uses the store's erase reserve", what)
            reserve.unlink()
            done = with_retries(action, what)
        self.keep_reserve()
        return done

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Exclusive inter-process write lock (local stores; a no-op for remote ones)."""
        return write_lock(self.local_dir)

    def arrow(self, where: str, columns: Sequence[str]) -> pa.Table | None:
        """Rows matching ``where`` with ``columns``, or ``None`` before the first write."""
        table = self.open()
        if table is None:
            return None
        for attempt in range(3):
            try:
                return table.search().where(where).select(list(columns)).limit(None).to_arrow()
            except (OSError, RuntimeError) as e:
                # a purge in another process may have removed the files of the version this
                # read began on: read the newest version again before calling it damage
                if attempt == 2 or "not found" not in str(e).lower():
                    raise self.damaged(e) from e
                time.sleep(0.05 * (attempt + 1))
                table.checkout_latest()
        raise AssertionError("unreachable")

    def damaged(self, error: BaseException) -> StoreError:
        """The error for a table whose files cannot be read (a truncated or missing file)."""
        return StoreError(
            f"the store's table at {self.uri} ({self.name}) cannot be read: {error}. A data "
            "file is damaged or missing: restore the store folder from a backup, or go back to "
            "a version from before the damage (store.versions(), store.restore())"
        )

    def rows(self, where: str, columns: Sequence[str]) -> list[dict[str, Any]]:
        """Rows matching ``where`` as dicts."""
        data = self.arrow(where, columns)
        return [] if data is None else data.to_pylist()

    def delete(self, where: str, what: str) -> None:
        """Delete rows matching ``where`` (retrying commit conflicts); call under :meth:`lock`."""
        table = self.open()
        if table is not None:
            self._erasing(lambda: table.delete(where), what)

    def purge(self) -> None:
        """Compact and delete every old version, so deleted rows are in no file any more."""
        table = self.open()
        if table is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "removes every version": intended
            self._erasing(
                lambda: table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True),
                "purging old versions",
            )

    def optimize(self) -> None:
        """Compact small data files and bring indexes up to date (history is kept)."""
        table = self.open()
        if table is not None:
            with self.lock():
                with_retries(table.optimize, "optimizing")

    def versions(self) -> list[StoreVersion]:
        """Committed versions, oldest first."""
        table = self.open()
        if table is None:
            return []
        return [StoreVersion(int(v["version"]), v["timestamp"]) for v in table.list_versions()]

    def restore(self, version: int) -> None:
        """Make ``version`` current again, as a new version.

        Raises:
            InvalidInputError: No such version (perhaps purged).
        """
        known = {v.version for v in self.versions()}
        table = self.open()
        if table is None or version not in known:
            raise InvalidInputError(
                f"version {version} does not exist (known: {sorted(known) or 'none'}); "
                "purging deletes old versions"
            )
        with self.lock():
            with_retries(lambda: table.restore(version), f"restoring version {version}")


def _local_path(uri: str) -> Path | None:
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri:
        return None
    return Path(uri).expanduser()


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
    make_folder(local_dir)
    try:
        handle = open(path, "a+b")  # noqa: SIM115 - closed by the with below
    except IsADirectoryError as e:
        raise StoreError(
            f"the store's lock file {path} is a directory; remove it (rmdir) and try again"
        ) from e
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise StoreError(
                f"cannot write the store's lock file {path} ({e.strerror}): the store is "
                "read-only for this user; use a store you can write, or read without changing it"
            ) from e
        raise StoreError(f"cannot write the store's lock file {path} ({e.strerror})") from e
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        depths[key] = 1
        try:
            yield
        finally:
            depths[key] = 0
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def make_folder(folder: Path) -> None:
    """Create a local store's folder (and its parents) if missing.

    Raises:
        StoreError: It is (or is under) a file, or cannot be created (read-only, not
            allowed, a system folder such as /proc); the message names the path.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise StoreError(
            f"the store path {folder} is (or is under) a file, not a folder: give --db a "
            "folder (it is created if missing)"
        ) from e
    except OSError as e:
        raise StoreError(
            f"cannot create the store folder {folder} ({e.strerror}): give --db a folder you "
            "can write"
        ) from e


def is_conflict(error: BaseException) -> bool:
    """Whether a LanceDB error is a commit conflict that a retry can resolve."""
    text = str(error).lower()
    return "conflict" in text or "retryable" in text or "too many concurrent writers" in text


def is_disk_full(error: BaseException) -> bool:
    """Whether an error (from the OS or from LanceDB) says the disk is full."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    text = str(error).lower()
    return "no space left on device" in text or "os error 28" in text


def with_retries(action: Callable[[], T], what: str) -> T:
    """Run a write, retrying commit conflicts with jittered exponential backoff."""
    for attempt in range(RETRIES):
        try:
            return action()
        except (OSError, RuntimeError, ValueError) as e:
            if is_disk_full(e):
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise DiskFullError(
                    f"{what} failed: the disk is full ({first}); free some space and try "
                    "again (the store is unchanged)"
                ) from e
            if not is_conflict(e) or attempt == RETRIES - 1:
                if is_conflict(e):
                    raise StoreError(f"{what} failed after {RETRIES} commit conflicts: {e}") from e
                raise
            delay = min(2.0, 0.02 * 2**attempt) * (0.5 + random.random())
            logger.info("%s hit a commit conflict; retrying in %.2fs", what, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")

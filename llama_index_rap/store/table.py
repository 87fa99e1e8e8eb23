"""The LanceDB table behind a ConceptStore: where it lives, its encoder, locks and versions.

This module knows LanceDB; it knows nothing of names, users or images. The table records
the encoder its vectors came from in its schema metadata, so one table is one embedding
space.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index_rap.errors import EncoderMismatchError, InvalidInputError, StoreError
from llama_index_rap.store import aio
from llama_index_rap.store.locking import with_retries, write_lock
from llama_index_rap.store.schema import ENCODER_METADATA_KEY, StoreVersion, concept_row_model
from llama_index_rap.store.versions import VersionWatch

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.table import AsyncTable, Table


class ConceptTable:
    """One LanceDB table of concept rows, opened lazily and created on the first write.

    Reads are strongly consistent (``read_consistency_interval=0``): a write from any
    process is seen by the next read.

    Args:
        uri: A local directory or any LanceDB URI.
        name: Table name.
        storage_options: Passed to LanceDB (object-store credentials, endpoint).
        watch_versions: Use a :class:`VersionWatch` for a local table.
    """

    def __init__(
        self,
        uri: str,
        name: str,
        storage_options: dict[str, str] | None,
        watch_versions: bool = True,
    ) -> None:
        import lancedb

        self.uri = uri
        self.name = name
        self.storage_options = storage_options
        self.local_dir = _local_path(uri)
        self._watch: VersionWatch | None = None
        if self.local_dir is not None:
            self.local_dir.mkdir(parents=True, exist_ok=True)
            if watch_versions:
                self._watch = VersionWatch(self.local_dir / f"{name}.lance" / "_versions")
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
        """The table through LanceDB's async API (run with :func:`aio.run`), or ``None``."""
        if self._async is None or self._async[0] != os.getpid():
            if self.open() is None:
                return None
            self._async = (os.getpid(), aio.run(self._open_async()))
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
        """The current version (0 before the first write).

        Local tables: read again only when the manifest folder changed (:class:`VersionWatch`).
        """
        table = self.open()
        if table is None:
            return 0
        if self._watch is None:
            return int(table.version)
        return self._watch.current(lambda: int(table.version))

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
            table = self._db.create_table(self.name, schema=schema, exist_ok=True)
            self._table = table
        self.check_encoder(encoder, dim)
        return table

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
            with_retries(lambda: table.delete(where), what)

    def purge(self) -> None:
        """Compact and delete every old version, so deleted rows are in no file any more."""
        table = self.open()
        if table is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "removes every version": intended
            with_retries(
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

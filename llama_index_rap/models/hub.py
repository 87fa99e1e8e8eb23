"""Finding model files on disk or on the HuggingFace hub, failing fast when they are not there.

HuggingFace's client retries an unreachable hub for about 25 seconds before it gives up; a
missing weight should instead fail at once with a message that says where it was looked for
and how to give a local path. So before any download we look in the local cache, honour
``HF_HUB_OFFLINE``, and probe the host with one short connection attempt.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from llama_index_rap.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0


def hf_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` asks for no network use."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Try one TCP connection to the host of ``url``; return ``None`` or why it failed."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f"{host} is unreachable ({e})"


def hub_endpoint() -> str:
    """The HuggingFace hub address in use."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def fetch_hf_snapshot(repo_id: str, what: str, fix: str, allow: list[str] | None = None) -> Path:
    """Return a local directory with ``repo_id``'s files, downloading them if possible.

    Args:
        repo_id: The hub repository (``org/name``).
        what: What the files are, for the error message (``"VLM 'Qwen/Qwen2-VL-2B-Instruct'"``).
        fix: How to give a local copy instead, for the error message.
        allow: Glob patterns of the files needed (all when ``None``).

    Raises:
        ModelNotFoundError: Not in the cache and the hub cannot be reached.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_CACHE

    try:
        return Path(snapshot_download(repo_id, allow_patterns=allow, local_files_only=True))
    except Exception as e:  # noqa: BLE001 - any miss means "not cached"; we explain below
        logger.debug("%s is not fully cached: %s", repo_id, e)
    _ensure_online(what, f"the HuggingFace cache ({HF_HUB_CACHE})", fix)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=allow))
    except Exception as e:
        raise ModelNotFoundError(
            f"{what} could not be downloaded from {hub_endpoint()} ({e}); {fix}"
        ) from e


def fetch_hf_file(repo_id: str, filenames: list[str], what: str, fix: str) -> Path:
    """Return a local path of the first of ``filenames`` in ``repo_id``, downloading if needed.

    Raises:
        ModelNotFoundError: Not in the cache and the hub cannot be reached or lacks the file.
    """
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.constants import HF_HUB_CACHE

    for name in filenames:
        cached = try_to_load_from_cache(repo_id, name)
        if isinstance(cached, str):
            return Path(cached)
    _ensure_online(what, f"the HuggingFace cache ({HF_HUB_CACHE})", fix)
    errors = []
    for name in filenames:
        try:
            return Path(hf_hub_download(repo_id, name))
        except Exception as e:  # noqa: BLE001 - hub errors come in many types
            errors.append(f"{name}: {e}")
    raise ModelNotFoundError(
        f"{what} is not on {hub_endpoint()} as {repo_id} ({'; '.join(errors)}); {fix}"
    )


def _ensure_online(what: str, looked_in: str, fix: str) -> None:
    if hf_offline():
        raise ModelNotFoundError(
            f"{what} is not in {looked_in} and HF_HUB_OFFLINE is set, so it was not "
            f"downloaded; {fix}"
        )
    problem = reachable(hub_endpoint())
    if problem:
        raise ModelNotFoundError(
            f"{what} is not in {looked_in} and cannot be downloaded: {problem}; {fix}"
        )


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide transformers' progress bars while loading or saving; restore them after."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def cache_dir() -> Path:
    """The project's cache folder: ``RAP_CACHE``, else the user cache folder."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("RAP_CACHE") or user_cache_dir("llama-index-rap"))

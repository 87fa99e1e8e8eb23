"""What every benchmark shares: percentiles, peak memory, and writing JSON plus Markdown.

Figures are printed and saved, never asserted: these machines are shared and noisy, so only
ratios measured side by side in one run mean much.
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np


def stored_files(folder: Path) -> list[Path]:
    """The files of a store folder, without its erase reserve (room set aside, not data)."""
    from llama_index_rap.store.table import RESERVE

    return [p for p in Path(folder).rglob("*") if p.is_file() and p.name != RESERVE]


def ms(seconds: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``seconds``, in milliseconds."""
    return float(np.percentile(np.asarray(seconds), q) * 1000)


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds taken by each of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    On Linux this is ``VmHWM``, which starts afresh at ``exec`` (``ru_maxrss`` would carry
    the parent's peak into a child process).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def machine() -> dict[str, Any]:
    """Where and when the figures were taken."""
    import os

    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def save(out: Path | None, name: str, results: dict[str, Any], markdown: str) -> None:
    """Print the Markdown; write ``name.json`` and ``name.md`` under ``out`` if given."""
    print(markdown, flush=True)
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **results}
    (out / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (out / f"{name}.md").write_text(markdown + "\n")

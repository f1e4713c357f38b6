"""Reading an arrival trace: a CSV file with a ``time_s`` column and optional ``class`` and ``key`` columns."""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TRACE_ROWS = 20_000_000


class TraceError(ValueError):
    """The trace file cannot be replayed; the message says why."""


@dataclass
class Trace:
    """Arrival times in seconds (sorted), with class indices and keys where the file gives them (-1 if not)."""

    times_s: np.ndarray
    classes: np.ndarray | None
    keys: np.ndarray | None

    def class_index(self, row: int) -> int | None:
        return None if self.classes is None else int(self.classes[row])

    def key(self, row: int) -> int | None:
        return None if self.keys is None else int(self.keys[row])


def read_trace(path: str | Path, class_names: list[str]) -> Trace:
    """Load and check a trace; times must be non-negative numbers, classes must name the workload's classes.

    Validation, the engine and the analytic twin all read the trace: it is parsed once per file version.
    """
    try:
        modified_ns = os.stat(path).st_mtime_ns
    except OSError as error:
        raise TraceError(f"cannot read trace file {str(path)!r} ({error.strerror})") from None
    return _read_trace(str(path), tuple(class_names), modified_ns)


@functools.lru_cache(maxsize=8)
def _read_trace(path: str, class_names: tuple[str, ...], modified_ns: int) -> Trace:
    del modified_ns  # part of the cache key only: an edited file is read again
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise TraceError(f"cannot read trace file {str(path)!r} ({error.strerror})") from None
    if not rows or "time_s" not in rows[0]:
        raise TraceError(f"trace file {str(path)!r} needs a header with a time_s column (and optional class, key)")
    if len(rows) > MAX_TRACE_ROWS:
        raise TraceError(f"trace file has {len(rows):,} rows; at most {MAX_TRACE_ROWS:,}")
    try:
        times = np.array([float(row["time_s"]) for row in rows])
        keys = np.array([int(row["key"]) for row in rows]) if "key" in rows[0] else None
    except ValueError as error:
        raise TraceError(f"trace file {str(path)!r}: {error}") from None
    if (times < 0).any():
        raise TraceError("trace times must be non-negative seconds from the start")
    classes = None
    if "class" in rows[0]:
        lookup = {name: index for index, name in enumerate(class_names)}
        unknown = sorted({row["class"] for row in rows} - set(lookup))
        if unknown:
            raise TraceError(f"trace classes {unknown} are not workload classes {class_names}")
        classes = np.array([lookup[row["class"]] for row in rows])
    order = np.argsort(times, kind="stable")
    return Trace(times[order], None if classes is None else classes[order], None if keys is None else keys[order])

"""Reading an arrival trace: CSV with a ``time_s`` column and optional ``class`` and ``key`` columns.

A trace comes from a file beside the scenario (``workload.trace_file``) or inline (``workload.trace_csv``). Both
are parsed by pandas' columnar reader in chunks, with the row limit checked while reading and the byte limit
before (files) or up front (text), so memory stays bounded. An error names the row and column of the first bad
value, never the value itself: a trace's contents are not echoed back.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from sim.model.inputs import InputFileError, open_regular_file
from sim.model.workload import WorkloadSpec

MAX_TRACE_ROWS = 5_000_000
MAX_TRACE_BYTES = 256 * 1024 * 1024
MAX_TRACE_TIME_S = 10_000_000.0
MAX_KEY = 2**53  # keys are read as numbers: beyond this a float cannot hold them exactly
CHUNK_ROWS = 250_000
COLUMNS = ("time_s", "class", "key")


class TraceError(ValueError):
    """The trace cannot be replayed; the message says why and where, without its contents."""


@dataclass
class Trace:
    """Arrival times in seconds (sorted), with class indices and keys where the trace gives them."""

    times_s: np.ndarray
    classes: np.ndarray | None
    keys: np.ndarray | None

    def class_index(self, row: int) -> int | None:
        return None if self.classes is None else int(self.classes[row])

    def key(self, row: int) -> int | None:
        return None if self.keys is None else int(self.keys[row])


def workload_trace(workload: WorkloadSpec) -> Trace:
    """The trace a trace workload replays, from its ``trace_csv`` text or its ``trace_file``."""
    class_names = [request_class.name for request_class in workload.classes]
    if workload.trace_csv is not None:
        return parse_trace_text(workload.trace_csv, class_names)
    assert workload.trace_file is not None
    return read_trace(workload.trace_file, class_names)


def read_trace(path: str | Path, class_names: list[str]) -> Trace:
    """Load and check a trace file (a regular file of at most ``MAX_TRACE_BYTES``).

    Validation, the engine and the analytic twin all read the trace: it is parsed once per file version.
    """
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        raise TraceError("cannot read the trace file (no such file, or not allowed)") from None
    return _read_trace(str(path), tuple(class_names), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=8)
def _read_trace(path: str, class_names: tuple[str, ...], modified_ns: int, size: int) -> Trace:
    del modified_ns, size  # part of the cache key only: an edited file is read again
    try:
        with open_regular_file(path, MAX_TRACE_BYTES, "the trace file") as stream:
            return _parse(stream, class_names)
    except InputFileError as error:
        raise TraceError(str(error)) from None


@functools.lru_cache(maxsize=8)
def _parse_text(text: str, class_names: tuple[str, ...]) -> Trace:
    return _parse(io.BytesIO(text.encode("utf-8", errors="surrogatepass")), class_names)


def parse_trace_text(text: str, class_names: list[str]) -> Trace:
    """Load and check a trace given as CSV text (at most ``MAX_TRACE_BYTES``)."""
    if len(text) > MAX_TRACE_BYTES:
        raise TraceError(f"the trace is too large (more than {MAX_TRACE_BYTES:,} characters)")
    return _parse_text(text, tuple(class_names))


def _chunks(stream: IO[bytes]) -> Iterator[pd.DataFrame]:
    """The CSV in chunks of strings; pandas' errors turned into messages that give a position only."""
    try:
        reader = pd.read_csv(stream, dtype=str, usecols=lambda column: column in COLUMNS, chunksize=CHUNK_ROWS,
                             keep_default_na=False, na_filter=False, encoding="utf-8", engine="c",
                             compression=None, skipinitialspace=True)
        yield from reader
    except InputFileError as error:
        raise TraceError(str(error)) from None
    except pd.errors.EmptyDataError:
        raise TraceError("the trace is empty: it needs a header with a time_s column (and optional class, key)") \
            from None
    except pd.errors.ParserError as error:
        line = re.search(r"(line|row) (\d+)", str(error))
        where = f" ({line.group(1)} {line.group(2)})" if line else ""
        raise TraceError(f"the trace is not valid CSV{where}: every row needs the header's fields") from None
    except UnicodeDecodeError:
        raise TraceError("the trace is not UTF-8 text") from None
    except (ValueError, OverflowError, MemoryError):
        raise TraceError("the trace is not a CSV table with a time_s column") from None


def _first_bad(bad: np.ndarray, offset: int, column: str, rule: str) -> None:
    if bad.any():
        row = offset + int(np.argmax(bad)) + 1
        raise TraceError(f"trace row {row:,} (line {row + 1:,}), column {column}: {rule}")


def _parse(stream: IO[bytes], class_names: tuple[str, ...]) -> Trace:
    lookup = {name: index for index, name in enumerate(class_names)}
    times: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    rows = 0
    columns: list[str] = []
    for chunk in _chunks(stream):
        columns = list(chunk.columns)
        if "time_s" not in columns:
            raise TraceError("the trace needs a header with a time_s column (and optional class, key)")
        if rows + len(chunk) > MAX_TRACE_ROWS:
            raise TraceError(f"the trace has more than {MAX_TRACE_ROWS:,} rows")
        times.append(_times(chunk["time_s"], rows))
        if "class" in columns:
            classes.append(_classes(chunk["class"], lookup, rows))
        if "key" in columns:
            keys.append(_keys(chunk["key"], rows))
        rows += len(chunk)
    if rows == 0:
        raise TraceError("the trace has a header but no rows")
    all_times = np.concatenate(times)
    order = np.argsort(all_times, kind="stable")
    return Trace(all_times[order], np.concatenate(classes)[order] if classes else None,
                 np.concatenate(keys)[order] if keys else None)


def _times(column: pd.Series, offset: int) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0) | (values > MAX_TRACE_TIME_S)
    _first_bad(bad, offset, "time_s", f"must be a number of seconds from 0 to {MAX_TRACE_TIME_S:g}")
    return values


def _classes(column: pd.Series, lookup: dict[str, int], offset: int) -> np.ndarray:
    indices = column.map(lookup)
    allowed = ", ".join(lookup)
    _first_bad(indices.isna().to_numpy(), offset, "class", f"must name one of the workload's classes ({allowed})")
    return indices.to_numpy(dtype=np.int64)


def _keys(column: pd.Series, offset: int) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0) | (values > MAX_KEY) | (values != np.floor(values))
    _first_bad(bad, offset, "key", f"must be a whole number from 0 to {MAX_KEY:,}")
    return values.astype(np.int64)

"""Load-test results in: Locust's CSV output, JMeter's JTL (CSV) and k6's JSON output, as one shape.

Fields read (everything else is ignored):

- **Locust** ``--csv PREFIX`` writes ``PREFIX_stats.csv``: ``Name``, ``Request Count``, ``Failure Count``,
  ``Average Response Time``, ``Min Response Time``, ``Max Response Time``, ``Requests/s`` and the percentile
  columns ``50%`` ... ``100%`` (milliseconds; Locust rounds them to two significant digits above 100 ms). Its
  sibling ``PREFIX_stats_history.csv`` (one row a second), if present, gives load windows from the
  ``Aggregated`` rows: ``Timestamp``, ``User Count``, ``Total Request Count``, ``Total Average Response Time``.
- **JMeter** JTL in CSV with a header line: ``timeStamp`` (ms since the epoch), ``elapsed`` (ms), ``success``
  (``true``/``false``), and optionally ``label`` and ``allThreads``.
- **k6** ``--out json=FILE``: one JSON object a line; ``Point`` lines of metric ``http_req_duration`` give
  ``data.time`` (RFC 3339), ``data.value`` (ms) and ``data.tags`` (``name``, ``status``,
  ``expected_response``); ``Point`` lines of ``vus`` give the active virtual users.

A file that does not fit is refused with :class:`LoadTestError`, naming the file, line and column.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES = 200_000_000
WINDOW_S = 10.0
ALL = "all"  # the name under which every request of a result is gathered
QUANTILE_PROBABILITIES = (0.5, 0.9, 0.95, 0.99)


class LoadTestError(ValueError):
    """A results file that cannot be read; the message names the file and the field."""


@dataclass
class RequestStats:
    """Latency statistics of one request name (or of all requests), in milliseconds."""

    count: int
    failures: int
    mean_ms: float
    throughput_rps: float
    quantiles_ms: dict[float, float]
    min_ms: float | None = None
    max_ms: float | None = None
    samples_ms: np.ndarray | None = None  # successful requests' latencies, when the tool records each one


@dataclass
class LoadWindow:
    """A stretch of the test: its load and the latency it saw."""

    start_s: float
    end_s: float
    users: float | None
    requests: int
    throughput_rps: float
    mean_ms: float | None


@dataclass
class LoadTest:
    """What a load-testing tool measured: per request name, and over time."""

    tool: str
    source: str
    duration_s: float
    requests: dict[str, RequestStats]
    windows: list[LoadWindow] = field(default_factory=list)

    def stats(self, name: str | None) -> RequestStats:
        """The statistics of request ``name`` (None: all requests)."""
        key = ALL if name is None else name
        if key not in self.requests:
            raise LoadTestError(f"{self.source}: no request named {key!r}; names: {', '.join(self.requests)}")
        return self.requests[key]

    def peak_users(self) -> float | None:
        users = [window.users for window in self.windows if window.users is not None]
        return max(users) if users else None


def stats_from_samples(latencies_ms: np.ndarray, ok: np.ndarray, duration_s: float) -> RequestStats:
    """Statistics of one group of per-request samples (latencies of the successful ones are kept)."""
    good = latencies_ms[ok]
    quantiles = {probability: float(np.quantile(good, probability)) for probability in QUANTILE_PROBABILITIES}
    return RequestStats(count=int(latencies_ms.size), failures=int((~ok).sum()),
                        mean_ms=float(good.mean()) if good.size else float("nan"),
                        throughput_rps=float(ok.sum()) / duration_s if duration_s > 0 else float("nan"),
                        quantiles_ms=quantiles if good.size else {}, min_ms=float(good.min()) if good.size else None,
                        max_ms=float(good.max()) if good.size else None, samples_ms=good)


def windows_from_samples(start_s: np.ndarray, latencies_ms: np.ndarray, users: np.ndarray | None,
                         width_s: float = WINDOW_S) -> list[LoadWindow]:
    """Fixed-width windows over per-request samples (by start time relative to the first)."""
    if start_s.size == 0:
        return []
    edges = np.arange(0.0, float(start_s.max()) + width_s, width_s)
    index = np.searchsorted(edges, start_s, side="right") - 1
    windows = []
    for number, (low, high) in enumerate(itertools.pairwise(edges)):
        inside = index == number
        count = int(inside.sum())
        windows.append(LoadWindow(float(low), float(high),
                                  float(np.median(users[inside])) if users is not None and count else None, count,
                                  count / width_s, float(latencies_ms[inside].mean()) if count else None))
    return windows


def measured_points(load_test: LoadTest) -> dict[str, Any]:
    """Latency against load as plain data for a chart: per window, and for the whole test."""
    every = load_test.stats(None)
    return {"tool": load_test.tool, "source": load_test.source,
            "windows": [{"throughput_rps": window.throughput_rps, "mean_ms": window.mean_ms}
                        for window in load_test.windows if window.mean_ms is not None],
            "overall": {"throughput_rps": every.throughput_rps, "mean_ms": every.mean_ms,
                        "p99_ms": every.quantiles_ms.get(0.99)}}


def read_text(path: Path) -> str:
    """A results file's text, refusing unreadable, oversized or non-UTF-8 files with a message."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise LoadTestError(f"{path}: file is too large ({size:,} bytes; at most {MAX_BYTES:,})")
        data = path.read_bytes()
    except OSError as error:
        raise LoadTestError(f"{path}: cannot read file ({error.strerror or error})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LoadTestError(f"{path}: file is not UTF-8 text") from None


def history_sibling(stats_path: Path) -> Path | None:
    """Locust's ``PREFIX_stats_history.csv`` beside ``PREFIX_stats.csv``, if it exists."""
    if not stats_path.name.endswith("_stats.csv"):
        return None
    sibling = stats_path.with_name(stats_path.name.removesuffix("_stats.csv") + "_stats_history.csv")
    return sibling if sibling.is_file() else None

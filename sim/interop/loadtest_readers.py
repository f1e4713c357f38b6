"""Reading load-test results: Locust, JMeter and k6 readers and ``read_load_test``, which picks one by content
(see ``sim.interop.loadtest_results`` for the fields used)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from sim.interop.loadtest_results import (
    ALL,
    MAX_BYTES,
    WINDOW_S,
    LoadTest,
    LoadTestError,
    LoadWindow,
    RequestStats,
    history_sibling,
    read_text,
    stats_from_samples,
    windows_from_samples,
)

LOCUST_COLUMNS = ("Name", "Request Count", "Failure Count", "Average Response Time", "Requests/s")
HISTORY_COLUMNS = ("Timestamp", "User Count", "Name", "Total Request Count", "Total Average Response Time")
JMETER_COLUMNS = ("timeStamp", "elapsed", "success")


def _rows(text: str, source: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV rows with their line numbers, after checking the header has every required column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    if missing:
        raise LoadTestError(f"{source}: missing column(s) {', '.join(repr(name) for name in missing)} "
                            f"(the header has: {', '.join(header) or 'nothing'})")
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, row


def _number(row: dict[str, Any], column: str, source: str, line: int, missing_ok: bool = False) -> float:
    text = (row.get(column) or "").strip()
    if missing_ok and text in ("", "N/A"):
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise LoadTestError(f"{source} line {line}, column {column!r}: expected a number (got {text!r})") from None
    if not math.isfinite(value) or value < 0:
        raise LoadTestError(f"{source} line {line}, column {column!r}: expected a number of at least 0 (got {text!r})")
    return value


def _percentile_columns(row: dict[str, str]) -> dict[str, float]:
    """Locust's percentile columns ('50%', '99.9%', ...) and their probabilities, below 100%."""
    columns = {}
    for name in row:
        if name and name.endswith("%") and name[:-1].replace(".", "", 1).isdigit() and float(name[:-1]) < 100:
            columns[name] = float(name[:-1]) / 100.0
    return columns


def read_locust(text: str, source: str, history: str | None) -> LoadTest:
    """Locust's ``_stats.csv`` (one row per request name and an ``Aggregated`` row), plus its history."""
    parsed: dict[str, tuple[float, float, float, float, dict[float, float], float, float]] = {}
    for line, row in _rows(text, source, LOCUST_COLUMNS):
        count = _number(row, "Request Count", source, line)
        quantiles = {probability: _number(row, column, source, line, missing_ok=True)
                     for column, probability in _percentile_columns(row).items()}
        parsed[row["Name"] or ALL] = (
            count, _number(row, "Failure Count", source, line), _number(row, "Average Response Time", source, line),
            _number(row, "Requests/s", source, line), {p: value for p, value in quantiles.items() if value == value},
            _number(row, "Min Response Time", source, line, missing_ok=True),
            _number(row, "Max Response Time", source, line, missing_ok=True))
    if "Aggregated" not in parsed:
        raise LoadTestError(f"{source}: no 'Aggregated' row (is this Locust's _stats.csv?)")
    total, _failed, _mean, rate, *_rest = parsed["Aggregated"]
    if total <= 0 or rate <= 0:
        raise LoadTestError(f"{source}: the 'Aggregated' row has no requests (Request Count {total:g}, "
                            f"Requests/s {rate:g})")
    duration_s = total / rate
    requests = {(ALL if name == "Aggregated" else name): RequestStats(
        count=int(count), failures=int(failures), mean_ms=mean, throughput_rps=(count - failures) / duration_s,
        quantiles_ms=quantiles, min_ms=None if math.isnan(low) else low, max_ms=None if math.isnan(high) else high)
        for name, (count, failures, mean, _rate, quantiles, low, high) in parsed.items()}
    windows = _locust_windows(history, f"{source} (history)") if history is not None else []
    return LoadTest("locust", source, duration_s, requests, windows)


def _locust_windows(text: str, source: str) -> list[LoadWindow]:
    """Windows of about ``WINDOW_S`` from the history's cumulative totals (exact means by differencing)."""
    points = []
    for line, row in _rows(text, source, HISTORY_COLUMNS):
        if row["Name"] == "Aggregated":
            points.append((_number(row, "Timestamp", source, line), _number(row, "User Count", source, line),
                           _number(row, "Total Request Count", source, line),
                           _number(row, "Total Average Response Time", source, line)))
    windows: list[LoadWindow] = []
    if not points:
        return windows
    start_time, _users, start_count, start_mean = points[0]
    origin = start_time
    for time_s, users, count, mean in points[1:]:
        if time_s - start_time >= WINDOW_S and count > start_count:
            window_mean = (mean * count - start_mean * start_count) / (count - start_count)
            windows.append(LoadWindow(start_time - origin, time_s - origin, users, int(count - start_count),
                                      (count - start_count) / (time_s - start_time), window_mean))
            start_time, start_count, start_mean = time_s, count, mean
    return windows


def read_jmeter(text: str, source: str) -> LoadTest:
    """A JMeter JTL in CSV: one row per sample."""
    stamps, elapsed, ok, labels, users = [], [], [], [], []
    for line, row in _rows(text, source, JMETER_COLUMNS):
        success = (row.get("success") or "").strip().lower()
        if success not in ("true", "false"):
            raise LoadTestError(f"{source} line {line}, column 'success': expected true or false (got {success!r})")
        stamps.append(_number(row, "timeStamp", source, line))
        elapsed.append(_number(row, "elapsed", source, line))
        ok.append(success == "true")
        labels.append(row.get("label") or "request")
        threads = row.get("allThreads")
        users.append(_number(row, "allThreads", source, line) if threads not in (None, "") else math.nan)
    if not stamps:
        raise LoadTestError(f"{source}: no samples after the header")
    start_s = (np.array(stamps) - min(stamps)) / 1000.0
    latency = np.array(elapsed, dtype=float)
    duration_s = max(float((start_s + latency / 1000.0).max()), 1e-3)
    user_counts = np.array(users) if not np.isnan(users).any() else None
    return _from_samples("jmeter", source, duration_s, start_s, latency, np.array(ok), np.array(labels), user_counts)


def _from_samples(tool: str, source: str, duration_s: float, start_s: np.ndarray, latency: np.ndarray,
                  ok: np.ndarray, labels: np.ndarray, users: np.ndarray | None) -> LoadTest:
    requests = {ALL: stats_from_samples(latency, ok, duration_s)}
    for label in dict.fromkeys(labels.tolist()):
        chosen = labels == label
        requests[label] = stats_from_samples(latency[chosen], ok[chosen], duration_s)
    return LoadTest(tool, source, duration_s, requests, windows_from_samples(start_s, latency, users))


def read_k6(text: str, source: str) -> LoadTest:
    """k6's JSON lines: ``http_req_duration`` points are the samples, ``vus`` points the users."""
    times, values, ok, names, vus = [], [], [], [], []
    for line, document in enumerate(text.splitlines(), start=1):
        if not document.strip():
            continue
        point = _k6_point(document, source, line)
        if point is None:
            continue
        metric, time_s, value, tags = point
        if metric == "vus":
            vus.append((time_s, value))
        elif metric == "http_req_duration":
            status = str(tags.get("status", "200"))
            times.append(time_s)
            values.append(value)
            ok.append(tags.get("expected_response", "true") != "false" and (not status.isdigit() or int(status) < 400))
            names.append(str(tags.get("name") or tags.get("url") or "request"))
    if not times:
        raise LoadTestError(f"{source}: no 'http_req_duration' points (was it written by k6 run --out json=FILE?)")
    origin = min(times)
    start_s = np.array(times) - origin
    users = _users_at(start_s, [(time_s - origin, value) for time_s, value in vus]) if vus else None
    duration_s = max(float(start_s.max()), 1e-3)
    return _from_samples("k6", source, duration_s, start_s, np.array(values), np.array(ok), np.array(names), users)


def _k6_point(document: str, source: str, line: int) -> tuple[str, float, float, dict[str, Any]] | None:
    """(metric, unix seconds, value, tags) of a ``Point`` line; None for other lines."""
    try:
        item = json.loads(document)
    except json.JSONDecodeError as error:
        raise LoadTestError(f"{source} line {line}: not JSON ({error.msg})") from None
    if not isinstance(item, dict) or "type" not in item:
        raise LoadTestError(f"{source} line {line}, field 'type': expected a k6 JSON line with 'type' Metric or Point")
    if item["type"] != "Point":
        return None
    data = item.get("data")
    if not isinstance(data, dict):
        raise LoadTestError(f"{source} line {line}, field 'data': expected an object")
    try:
        time_s = datetime.fromisoformat(str(data.get("time"))).timestamp()
    except ValueError:
        raise LoadTestError(f"{source} line {line}, field 'data.time': expected an RFC 3339 time "
                            f"(got {data.get('time')!r})") from None
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise LoadTestError(f"{source} line {line}, field 'data.value': expected a number of at least 0 "
                            f"(got {value!r})")
    tags = data.get("tags") or {}
    return str(item.get("metric")), time_s, float(value), tags if isinstance(tags, dict) else {}


def _users_at(start_s: np.ndarray, vus: list[tuple[float, float]]) -> np.ndarray:
    """The latest ``vus`` value at or before each sample's time."""
    vus.sort()
    times = np.array([time_s for time_s, _value in vus])
    counts = np.array([value for _time_s, value in vus])
    return counts[np.clip(np.searchsorted(times, start_s, side="right") - 1, 0, len(counts) - 1)]


def read_load_test(path: str | Path) -> LoadTest:
    """Read Locust, JMeter or k6 results, recognised by their content (see the module docstring)."""
    file_path = Path(path)
    sibling = history_sibling(file_path)
    return parse_load_test(read_text(file_path), str(path), read_text(sibling) if sibling is not None else None)


def parse_load_test(text: str, source: str, locust_history: str | None = None) -> LoadTest:
    """Results given as text (an upload): ``source`` names it in messages; ``locust_history`` is the text of
    Locust's ``_stats_history.csv``, if there is one."""
    if len(text) > MAX_BYTES:
        raise LoadTestError(f"{source}: file is too large ({len(text):,} bytes; at most {MAX_BYTES:,})")
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    if first.lstrip().startswith("{"):
        return read_k6(text, source)
    columns = [column.strip().strip('"') for column in first.split(",")]
    if "timeStamp" in columns and "elapsed" in columns:
        return read_jmeter(text, source)
    if "Request Count" in columns:
        return read_locust(text, source, locust_history)
    raise LoadTestError(f"{source}: not a results file this reads: expected Locust's _stats.csv (a 'Request Count' "
                        "column), a JMeter JTL with a header (timeStamp, elapsed, success) or k6 JSON lines")

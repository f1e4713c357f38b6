"""The latency statistics every report uses: their names, and the percentile each ``pNN`` stands for."""

from __future__ import annotations

import itertools

import numpy as np

PERCENTILE_LEVELS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}
LATENCY_KEYS = ("mean", *PERCENTILE_LEVELS)


def percentiles_ms(latencies_ms: np.ndarray) -> dict[str, float | None]:
    """Mean, p50, p90, p95, p99 and p99.9 of latencies (None when there are none)."""
    if latencies_ms.size == 0:
        return dict.fromkeys(LATENCY_KEYS)
    values = latencies_ms.astype(np.float64)
    levels = np.percentile(values, list(PERCENTILE_LEVELS.values()))
    return {"mean": float(values.mean()), **{key: float(level) for key, level in zip(PERCENTILE_LEVELS, levels,
                                                                                      strict=True)}}


def binned_percentiles(bin_index: np.ndarray, latencies_ms: np.ndarray, bins: int) -> dict[str, list[float | None]]:
    """p50, p95 and p99 of the latencies in each of ``bins`` time bins (``bin_index`` in 0..bins-1 per latency);
    None for an empty bin."""
    order = np.argsort(bin_index, kind="stable")
    sorted_bins, sorted_latency = bin_index[order], latencies_ms[order].astype(np.float64)
    bounds = np.searchsorted(sorted_bins, np.arange(bins + 1))
    series: dict[str, list[float | None]] = {"p50_ms": [], "p95_ms": [], "p99_ms": []}
    for start, stop in itertools.pairwise(bounds):
        chunk = sorted_latency[start:stop]
        values = np.percentile(chunk, [50, 95, 99]).tolist() if chunk.size else [None, None, None]
        for key, value in zip(series, values, strict=True):
            series[key].append(value)
    return series

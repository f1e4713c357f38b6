"""The latency statistics every report uses: their names, and the percentile each ``pNN`` stands for."""

from __future__ import annotations

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

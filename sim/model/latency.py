"""The latency statistics every report uses: their names, and the percentile each ``pNN`` stands for."""

from __future__ import annotations

PERCENTILE_LEVELS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}
LATENCY_KEYS = ("mean", *PERCENTILE_LEVELS)

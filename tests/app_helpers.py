"""What the AppTest suites share: where the app is, and how to read its state."""

from __future__ import annotations

import json
from typing import Any

import yaml
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT

ROOT = PROJECT_ROOT
APP = str(ROOT / "app.py")  # absolute: AppTest resolves a relative path against the test file's folder
# The heaviest kind of scenario the app accepts: a thousand calls per request, far more work than the app's budget.
HEAVY = yaml.safe_dump({
    "name": "heavy", "duration_s": 60, "warmup_s": 2,
    "workload": {"rate_rps": 200, "entry": "front"},
    "components": {
        "front": {"kind": "service", "workers": 4096, "queue_capacity": 100_000, "calls": ["back"] * 1000,
                  "service_time": {"distribution": "exponential", "mean_ms": 1}},
        "back": {"kind": "service", "workers": 4096, "service_time": {"distribution": "deterministic",
                                                                       "mean_ms": 0.001}},
    },
}).encode()


def assert_healthy(at: AppTest) -> None:
    """No exception reached the page (AppTest collects them instead of raising)."""
    assert not at.exception, [item.message for item in at.exception]


def figure(at: AppTest, title: str) -> dict[str, Any]:
    """The JSON of the Plotly chart whose title starts with ``title``."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"].get("title", {}).get("text", "").startswith(title):
            return spec
    raise AssertionError(f"no chart titled {title!r}")

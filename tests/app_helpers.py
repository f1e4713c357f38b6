"""What the AppTest suites share: where the app is, and how to read its state."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT

ROOT = PROJECT_ROOT
APP = str(ROOT / "app.py")  # absolute: AppTest resolves a relative path against the test file's folder


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

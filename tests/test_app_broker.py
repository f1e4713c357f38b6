"""The app on a scenario with a broker: lag charts on the Sandbox, the broker's knobs, its consumers in the diagram."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_helpers import APP, assert_healthy, figure

NAME = "event-driven"
PREFIX = f"gallery:{NAME}|knob|"
CONSUMERS_KEY = f"{PREFIX}components.orders.consumers.0.instances"


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.selectbox(key="gallery_name").set_value(NAME).run()
    assert_healthy(at)
    return at


def test_lag_rises_with_the_spike_and_drains(app: AppTest) -> None:
    lag = figure(app, "orders: consumer lag and backlog")
    series = {trace["name"]: trace for trace in lag["data"]}
    assert set(series) == {"billing lag", "backlog (retained)"}
    time_s, values = series["billing lag"]["x"], series["billing lag"]["y"]
    during = max(value for time, value in zip(time_s, values, strict=True) if 19 <= time <= 22)
    before = max(value for time, value in zip(time_s, values, strict=True) if time < 15)
    assert during > 1000 > 20 * before
    partitions = figure(app, "orders: lag per partition")
    assert len(partitions["data"]) == 6
    latency = {trace["name"]: trace for trace in figure(app, "orders: event latency")["data"]}
    assert set(latency) == {"billing p50", "billing p95", "billing p99"}
    time_s, p99 = latency["billing p99"]["x"], latency["billing p99"]["y"]
    quiet = max(value for time, value in zip(time_s, p99, strict=True) if time < 15 and value is not None)
    assert max(value for value in p99 if value is not None) > 10 * quiet


def test_broker_knobs_and_diagram(app: AppTest) -> None:
    keys = {slider.key for slider in app.slider}
    assert {f"{PREFIX}components.orders.partitions", CONSUMERS_KEY} <= keys
    assert any(item.key == f"{PREFIX}components.orders.retention_messages" for item in app.get("select_slider"))
    diagram = json.dumps(figure(app, "Architecture"), ensure_ascii=False)
    assert "6 partitions; billing×6" in diagram
    app.slider(key=CONSUMERS_KEY).set_value(3).run()
    assert_healthy(app)
    assert "6 partitions; billing×3" in json.dumps(figure(app, "Architecture"), ensure_ascii=False)

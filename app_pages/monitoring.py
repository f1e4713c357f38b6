"""Monitoring and load testing in the app: the Sandbox's dashboard view (RED per service, USE per station, and
the run as an OpenMetrics file), and the Capacity page's upload of measured load-test results.

Both come from the same metric families a Prometheus would hold (``sim.interop``), computed on demand and
cached on plain arguments, so the diagram view costs nothing extra.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import sim
from app_pages.shared import CHART_CONFIG, MAX_UPLOAD_MB
from sim import viz
from sim.interop.dashboard import dashboard_series
from sim.interop.loadtest_readers import parse_load_test
from sim.interop.loadtest_results import LoadTestError, measured_points
from sim.interop.openmetrics import openmetrics_text
from sim.scenario.scenario import scenario_from_json


@st.cache_data(max_entries=32, show_spinner="Building the dashboard…")
def dashboard_data(scenario_json: str, seed: int) -> dict[str, Any]:
    """RED/USE series of the run (the same seed gives the same run as the rest of the page)."""
    return dashboard_series(sim.run(scenario_from_json(scenario_json), seed=seed))


@st.cache_data(max_entries=8, show_spinner=False)
def openmetrics_file(scenario_json: str, seed: int) -> str:
    """The run's time series as OpenMetrics text, made only when asked for."""
    return openmetrics_text(sim.run(scenario_from_json(scenario_json), seed=seed))


def show_dashboard(scenario: sim.Scenario, seed: int) -> None:
    """The dashboard panels, two a row, and the OpenMetrics download."""
    scenario_json = scenario.model_dump_json()
    st.caption("What Grafana over Prometheus would show for this run (the panels of "
               "`monitoring/grafana-dashboard.json`): each point is one time bin, as `rate(x[bin])` reads it. "
               "The p99 is read off the histogram's buckets, so it is coarser than the summary's.")
    columns = st.columns(2)
    for index, chart in enumerate(viz.dashboard_figures(dashboard_data(scenario_json, seed))):
        columns[index % 2].plotly_chart(chart, config=CHART_CONFIG, key=f"dashboard-{index}")
    st.download_button("Metrics (OpenMetrics, for promtool)", lambda: openmetrics_file(scenario_json, seed),
                       f"{scenario.name.replace(' ', '-')}.om", "application/openmetrics-text",
                       help="Load it with `promtool tsdb create-blocks-from openmetrics FILE DATA_DIR`; simulated "
                            "second 0 is 2024-01-01T00:00:00Z.")


@st.cache_data(max_entries=16, show_spinner=False)
def measured_upload(data: bytes, file_name: str) -> tuple[dict[str, Any] | None, str | None]:
    """An uploaded load-test result as chart points, or None and why it cannot be read."""
    try:
        return measured_points(parse_load_test(data.decode("utf-8"), file_name)), None
    except UnicodeDecodeError:
        return None, f"{file_name}: file is not UTF-8 text"
    except LoadTestError as error:
        return None, str(error)


def measured_controls(key: str) -> dict[str, Any] | None:
    """An upload of real load-test results to draw over the simulated curve."""
    with st.expander("Measured load test (Locust, JMeter or k6) over the simulated curve"):
        upload = st.file_uploader("Locust _stats.csv, JMeter JTL (CSV) or k6 JSON output", key=f"{key}|measured",
                                  type=["csv", "jtl", "json"], max_upload_size=MAX_UPLOAD_MB,
                                  help="Sweep the arrival rate to compare like with like: the measured points "
                                       "sit at the throughput the test reached.")
        if upload is None:
            return None
        points, problem = measured_upload(upload.getvalue(), upload.name)
        if problem is not None:
            st.error(problem)
        return points

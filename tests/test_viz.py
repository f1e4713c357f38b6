"""sim.viz figure builders (plain data in, Plotly figure out) and the rows of sim.validation they draw."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest

import sim
from sim import viz
from sim.gallery import load_gallery_scenario
from sim.knobs import with_duration
from sim.overrides import with_overrides
from sim.validation import CASES, theory_comparison, validate_case

SIM_DIRECTORY = Path(sim.__file__).resolve().parent


def run_gallery(name: str, duration_s: float = 6.0, **overrides: Any) -> tuple[sim.Scenario, sim.Result]:
    scenario = with_duration(load_gallery_scenario(name), duration_s)
    if overrides:
        scenario = with_overrides(scenario, overrides)
    return scenario, sim.run(scenario, seed=1)


@pytest.fixture(scope="module")
def cache_run() -> tuple[sim.Scenario, sim.Result]:
    return run_gallery("cache-aside")


@pytest.fixture(scope="module")
def overloaded_run() -> tuple[sim.Scenario, sim.Result]:
    return run_gallery("single-server", 20.0, **{"workload.rate_rps": 150})


def trace(figure: go.Figure, name: str) -> Any:
    return next(item for item in figure.data if item.name == name)


# --- boundaries ---------------------------------------------------------------------------------------


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_viz_imports_plotly_and_nothing_in_sim_imports_streamlit() -> None:
    for path in SIM_DIRECTORY.rglob("*.py"):
        imported = imports_of(path)
        assert "streamlit" not in imported, path
        if path.name != "viz.py":
            assert "plotly" not in imported, path


def test_importing_sim_does_not_load_plotly() -> None:
    code = "import sys, sim, sim.knobs, sim.validation; print('plotly' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


# --- architecture -------------------------------------------------------------------------------------


def test_owner_and_hottest_station() -> None:
    components = ["db", "db2", "api"]
    assert viz.owner_of("db/shard-3/replica-0", components) == "db"
    assert viz.owner_of("db2/primary", components) == "db2"
    assert viz.owner_of("api", components) == "api"
    assert viz.owner_of("elsewhere", components) is None
    stats = {"utilisation": 0.4, "stations": {"a": {"utilisation": 0.9}, "b": {"utilisation": 0.1}}}
    assert viz.hottest_utilisation(stats) == 0.9
    assert viz.hottest_utilisation({"utilisation": None}) is None


def test_architecture_draws_components_wiring_and_bottleneck(cache_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = cache_run
    figure = viz.architecture_figure(scenario, result.summary)
    nodes = trace(figure, "components")
    assert list(nodes.customdata) == ["api", "cache", "db"]
    assert list(nodes.x) == [1.0, 2.0, 3.0], "left to right along the call graph"
    hot = viz.owner_of(result.summary["bottleneck"]["component"], list(scenario.components))
    ringed = [name for name, width in zip(nodes.customdata, nodes.marker.line.width, strict=True) if width > 1]
    assert ringed == [hot]
    cache_index = list(nodes.customdata).index("cache")
    assert nodes.marker.color[cache_index] == viz.IDLE_COLOUR, "a cache has no servers to be busy"
    assert "hit" in nodes.text[cache_index]
    wiring = trace(figure, "wiring")
    assert len(wiring.x) == 3 * 3, "clients -> api -> cache -> db, as segments separated by gaps"
    arrows = [item for item in figure.layout.annotations if item.showarrow]
    assert len(arrows) == 3


def test_architecture_marks_overflow_and_idle_components(overloaded_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = overloaded_run
    labels = trace(viz.architecture_figure(scenario, result.summary), "components").text
    assert "OVERFLOWED" in labels[0] and "bottleneck: api" in labels[0]
    bypassed, run = run_gallery("cache-aside", **{"components.api.calls.0": "db"})
    nodes = trace(viz.architecture_figure(bypassed, run.summary), "components")
    assert "no traffic" in nodes.text[list(nodes.customdata).index("cache")]


# --- time series and distributions ---------------------------------------------------------------------


def test_time_series_figures(overloaded_run: tuple[sim.Scenario, sim.Result]) -> None:
    _scenario, result = overloaded_run
    series = result.timeseries()
    throughput = viz.throughput_figure(series, warmup_s=5.0)
    assert [item.name for item in throughput.data] == ["offered", "served", "failed or dropped"]
    assert throughput.layout.shapes[0].x1 == 5.0, "the warm-up is shaded"
    percentiles = viz.latency_percentiles_figure(series)
    assert [item.name for item in percentiles.data] == ["p50", "p95", "p99"] and not percentiles.layout.shapes
    queue = viz.station_levels_figure(series, "queue_length")
    assert queue.layout.title.text == "Queue length per station"
    assert queue.data[0].y[-1] > queue.data[0].y[0], "an overloaded queue grows"
    utilisation = viz.station_levels_figure(series, "utilisation")
    assert utilisation.layout.yaxis.tickformat == ".0%" and max(utilisation.data[0].y) <= 1.0 + 1e-9


def test_station_legend_grows_with_the_number_of_stations() -> None:
    _scenario, result = run_gallery("sharded-db", 4.0)
    figure = viz.station_levels_figure(result.timeseries(), "utilisation")
    assert len(figure.data) == 14
    single = viz.station_levels_figure(run_gallery("single-server")[1].timeseries(), "utilisation")
    assert figure.layout.height > single.layout.height


def test_latency_distribution_shares_and_markers(cache_run: tuple[sim.Scenario, sim.Result]) -> None:
    latencies = cache_run[1].ok_latencies_ms()
    figure = viz.latency_distribution_figure(latencies)
    assert sum(figure.data[0].y) == pytest.approx(1.0)
    marked = {item.text: item.x for item in figure.layout.annotations}
    assert marked["p99"] == pytest.approx(float(np.quantile(latencies.astype(np.float64), 0.99)))
    empty = viz.latency_distribution_figure(np.array([]))
    assert not empty.data and "no request" in empty.layout.annotations[0].text


def test_compare_latency_cdf() -> None:
    fast, slow = np.linspace(1, 10, 500), np.linspace(10, 100, 500)
    figure = viz.compare_latency_figure({"A": fast, "B": slow, "C": np.array([])})
    assert [item.name for item in figure.data] == ["A", "B"]
    assert figure.data[0].x[-1] < figure.data[1].x[-1]
    assert figure.layout.xaxis.type == "log"


# --- theory beside simulation, and validation ------------------------------------------------------------


def test_theory_comparison_rows_and_figure(cache_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = cache_run
    rows = theory_comparison(result.summary, scenario)
    assert [row["component"] for row in rows] == ["api", "cache", "db"]
    assert all(row["note"] for row in rows)
    cache = rows[1]
    assert cache["utilisation_simulated"] is None and "starts empty" in cache["note"]
    figure = viz.theory_figure(rows)
    assert [item.name for item in figure.data] == ["simulated", "predicted"] * 2
    assert figure.data[2].yaxis == "y2"


def test_theory_note_explains_overload(overloaded_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = overloaded_run
    note = theory_comparison(result.summary, scenario)[0]["note"]
    assert "capacity" in note and "finite queue (1000) dropped" in note


def test_theory_note_agrees_when_close() -> None:
    scenario, result = run_gallery("single-server", 60.0, **{"workload.rate_rps": 20})
    row = theory_comparison(result.summary, scenario)[0]
    assert abs(row["response_difference"]) < 0.1  # M/M/1 at 20% busy, seed 1: about 3% off
    assert row["note"] == "agrees within 10%"


def test_validation_case_rows_and_figure() -> None:
    rows = validate_case(CASES[0], replications=3, requests_per_replication=1500)
    assert [row["metric"] for row in rows] == ["mean_response_ms", "utilisation"]
    response = rows[0]
    assert response["predicted"] == pytest.approx(1000 / (100 - 70))
    assert response["ci_low"] < response["simulated"] < response["ci_high"]
    assert response["replications"] == 3
    assert math.isfinite(response["half_width"]) and response["half_width"] > 0
    figure = viz.validation_figure(rows)
    assert list(figure.data[0].y) == pytest.approx([row["simulated"] / row["predicted"] for row in rows])
    assert figure.layout.shapes[0].y0 == 1


def test_erlang_b_case_measures_blocking() -> None:
    erlang = next(case for case in CASES if case.name.startswith("Erlang B"))
    blocking = validate_case(erlang, replications=2, requests_per_replication=3000)[0]
    assert blocking["metric"] == "blocking_probability"
    assert blocking["simulated"] == pytest.approx(blocking["predicted"], abs=0.03)


def test_figures_serialise_to_json(cache_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = cache_run
    series, summary = result.timeseries(), result.summary
    figures = [viz.architecture_figure(scenario, summary), viz.throughput_figure(series),
               viz.latency_percentiles_figure(series), viz.station_levels_figure(series, "queue_length"),
               viz.latency_distribution_figure(result.ok_latencies_ms()),
               viz.theory_figure(theory_comparison(summary, scenario))]
    for figure in figures:
        assert figure.to_json().startswith("{")

"""sim.viz figure builders (plain data in, Plotly figure out) and the rows of sim.experiments.validation they draw."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import sim
from sim import viz
from sim.experiments.studies import SweepResult
from sim.experiments.validation import CASES, theory_comparison, validate_case
from sim.scenario.gallery import load_gallery_scenario
from sim.scenario.overrides import with_overrides
from sim.teaching.sizing import with_duration

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


def test_only_viz_base_imports_plotly_and_nothing_in_sim_imports_streamlit() -> None:
    plotly_base = SIM_DIRECTORY / "viz" / "base.py"
    for path in SIM_DIRECTORY.rglob("*.py"):
        imported = imports_of(path)
        assert "streamlit" not in imported, path
        if path != plotly_base:
            assert "plotly" not in imported, path
    assert "plotly" in imports_of(plotly_base)


def test_viz_package_reexports_every_builder() -> None:
    from sim.viz import lessons as lesson_figures
    from sim.viz import variants_figure

    assert variants_figure is lesson_figures.variants_figure
    builders = {name for module in SIM_DIRECTORY.joinpath("viz").glob("*.py") if module.stem != "base"
                for name in _public_functions(module)}
    assert builders <= set(viz.__all__), builders - set(viz.__all__)
    assert all(callable(getattr(viz, name)) for name in builders)


def _public_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


def test_importing_sim_does_not_load_plotly() -> None:
    code = "import sys, sim, sim.teaching.knobs, sim.experiments.validation; print('plotly' in sys.modules)"
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


def test_architecture_marks_parallel_fan_out_edges() -> None:
    scenario, run = run_gallery("microservices", **{"components.gateway.calls.0.fan_out": 2})
    marks = viz.call_marks(scenario)
    assert marks[("gateway", "reviews")] == "∥ ×2"
    assert marks[("reviews", "reviews-db")] == ""
    figure = viz.architecture_figure(scenario, run.summary)
    parallel = [item for item in figure.layout.annotations if item.showarrow and item.arrowcolor == viz.PARALLEL_COLOUR]
    assert len(parallel) == 3, "gateway -> catalog, reviews and pricing, drawn as one parallel group"
    assert any(str(item.text).startswith("∥ ×2 · ") for item in figure.layout.annotations)


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


def test_many_stations_show_the_busiest_as_lines_and_the_rest_as_a_band() -> None:
    _scenario, result = run_gallery("sharded-db", 4.0)
    series = result.timeseries()
    figure = viz.station_levels_figure(series, "utilisation", warmup_s=1.0)
    lines = [item.name for item in figure.data if item.legendgroup != "others"]
    assert len(series["stations"]) == 14 and len(lines) == viz.BUSIEST_SHOWN
    measured = np.asarray(series["time_s"]) >= 1.0
    means = {name: np.nanmean(np.asarray(values["utilisation"], dtype=float)[measured])
             for name, values in series["stations"].items()}
    assert lines == sorted(means, key=means.__getitem__, reverse=True)[:viz.BUSIEST_SHOWN]
    low, high = (item for item in figure.data if item.legendgroup == "others")
    others = np.asarray([values["utilisation"] for name, values in series["stations"].items() if name not in lines],
                        dtype=float)
    assert np.allclose(low.y, others.min(axis=0)) and np.allclose(high.y, others.max(axis=0))
    assert high.name == "9 other stations (range)" and high.fill == "tonexty"
    quiet = min(means, key=means.__getitem__)
    chosen = viz.station_levels_figure(series, "utilisation", warmup_s=1.0, shown=[quiet])
    assert quiet in [item.name for item in chosen.data] and chosen.data[-1].name == "8 other stations (range)"
    single = viz.station_levels_figure(run_gallery("single-server")[1].timeseries(), "utilisation")
    assert [item.name for item in single.data] == ["api"] and figure.layout.height > single.layout.height


def test_close_percentile_markers_share_a_label() -> None:
    latencies = np.concatenate([np.full(900, 10.0), np.full(100, 500.0)])  # p95 and p99 both 500 ms
    marked = {item.text: item.x for item in viz.latency_distribution_figure(latencies).layout.annotations}
    assert marked == {"p50": pytest.approx(10.0), "p95/p99": pytest.approx(500.0)}


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


# --- experiments: hockey stick, scalability, Pareto frontier; lessons ---------------------------------------


@pytest.fixture(scope="module")
def load_sweep() -> SweepResult:
    """Single server from idle to past its 100 req/s capacity, two seeds: the last point is unstable."""
    return sim.sweep(load_gallery_scenario("single-server"), {"workload.rate_rps": [20, 50, 80, 130]},
                     seeds=[1, 2], duration_s=20.0, workers=1)


def names(figure: go.Figure) -> list[str]:
    return [item.name for item in figure.data]


def test_hockey_stick_has_bands_twin_slo_and_pinned_unstable_point(load_sweep: SweepResult) -> None:
    unstable = [point["parameters"]["workload.rate_rps"] for point in load_sweep.points() if not point["stable"]]
    assert unstable == [130]
    figure = viz.hockey_stick_figure(load_sweep.latency_vs_load(), "arrival rate", 200.0, "SLO: p99 < 200ms",
                                     unstable)
    assert names(figure) == ["p99 (simulated): 95% CI", "p99 (simulated)", "mean (simulated): 95% CI",
                             "mean (simulated)", "mean (twin)", "SLO: p99 < 200ms", "unstable: a queue overflowed"]
    p99, twin, slo = trace(figure, "p99 (simulated)"), trace(figure, "mean (twin)"), trace(figure, "SLO: p99 < 200ms")
    assert list(p99.x) == [20, 50, 80, 130]
    assert list(p99.y) == pytest.approx([point["intervals"]["latency_p99_ms"].mean for point in load_sweep.points()])
    assert list(slo.y) == [200.0, 200.0] and slo.x[0] == 20 and slo.x[-1] == 130
    assert twin.y[0] == pytest.approx(1000 / (100 - 20)), "M/M/1 mean response at 20 req/s"
    assert twin.y[-1] is None, "the twin has no steady state past capacity"
    band = trace(figure, "p99 (simulated): 95% CI")
    assert band.fill == "toself" and 130 not in band.x, "no band over the unstable point"
    assert min(band.y) >= 0
    pinned = trace(figure, "unstable: a queue overflowed")
    top = figure.layout.yaxis.range[1]
    assert p99.y[-1] > top > 200, "the unstable p99 is off scale, the knee and the SLO are not"
    assert pinned.y[0] < top and pinned.text[0].endswith("ms ↑")
    assert viz.hockey_stick_figure(load_sweep.latency_vs_load(), log_y=True).layout.yaxis.type == "log"


def test_hockey_stick_without_replications_has_no_bands() -> None:
    single = sim.sweep(load_gallery_scenario("single-server"), {"workload.rate_rps": [20, 60]}, seeds=[1],
                       duration_s=10.0, workers=1)
    figure = viz.hockey_stick_figure(single.latency_vs_load())
    assert names(figure) == ["p99 (simulated)", "mean (simulated)", "mean (twin)"]
    assert figure.layout.xaxis.title.text == "rate rps"


def test_scalability_figure_draws_the_fitted_usl() -> None:
    scenario = load_gallery_scenario("horizontal-scaling")
    result = sim.sweep(scenario, {"components.api.instances": [1, 2, 3, 4, 6]}, seeds=[1, 2], duration_s=4.0,
                       workers=1)
    data = result.scalability()
    figure = viz.scalability_figure(data, "api: instances", offered_rps=640.0)
    assert names(figure) == ["throughput (simulated)", "USL fit", "linear scaling", "offered load"]
    measured, fit = trace(figure, "throughput (simulated)"), data["series"][0]["fit"]
    assert list(measured.x) == [1, 2, 3, 4, 6]
    assert measured.y[0] == pytest.approx(200, rel=0.1), "one instance: 2 workers at 10 ms"
    assert min(measured.error_y.arrayminus[i] - measured.y[i] for i in range(5)) <= 0, "bars stop at zero"
    assert trace(figure, "USL fit").y[0] == pytest.approx(fit["unit_throughput_rps"])
    assert list(trace(figure, "offered load").y) == [640.0, 640.0]
    note = figure.layout.annotations[0].text
    assert "σ (contention)" in note and "κ (coherency)" in note
    assert viz.usl_note(fit).startswith(f"USL: σ (contention) = {fit['contention']:.3g}")


def test_pareto_figure_marks_frontier_and_recommendation() -> None:
    plan = sim.plan(load_gallery_scenario("horizontal-scaling"), "p99 < 200ms", {"components.api.instances": "2:7"},
                    seeds=[1, 2], duration_s=4.0, workers=1).to_dict()
    best = plan["best"]
    figure = viz.pareto_figure(plan["candidates"], plan["frontier"], best, 200.0, "SLO: p99 < 200ms")
    assert names(figure) == ["simulated", "Pareto frontier", "recommended", "SLO: p99 < 200ms"]
    simulated = [item for item in plan["candidates"] if item["status"] == "simulated"]
    assert len(trace(figure, "simulated").x) == len(simulated)
    frontier = trace(figure, "Pareto frontier")
    assert list(frontier.x) == sorted(item["cost_per_hour"] for item in plan["frontier"])
    assert frontier.line.shape == "hv"
    recommended = trace(figure, "recommended")
    assert recommended.x[0] == pytest.approx(best["cost_per_hour"]) and "api: instances = " in recommended.text[0]
    assert recommended.y[0] == pytest.approx(best["intervals"]["latency_p99_ms"]["mean"])
    assert recommended.y[0] < 200
    assert figure.layout.xaxis.title.text == "cost ($ per hour)"


def test_variants_figure_keeps_its_signature_and_skips_missing_values() -> None:
    table = pd.DataFrame({"p99 (ms)": [12.5, float("nan"), 80.0]}, index=pd.Index(["a", "b", "c"], name="variant"))
    figure = viz.variants_figure(table, column="p99 (ms)")
    assert list(figure.data[0].x) == ["a", "b", "c"]
    assert list(figure.data[0].y) == [12.5, None, 80.0] and list(figure.data[0].text) == ["12.5", "", "80"]
    assert figure.layout.title.text == "p99 (ms)"


def test_experiment_figures_serialise_to_json(load_sweep: SweepResult) -> None:
    for figure in (viz.hockey_stick_figure(load_sweep.latency_vs_load(), slo_ms=100.0),
                   viz.scalability_figure({"x": "components.api.instances", "column": "throughput_rps",
                                           "series": []})):
        assert figure.to_json().startswith("{")

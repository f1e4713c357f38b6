"""Replications, warm-up detection, sweeps, the USL fit and the capacity search, through the API and the CLI.

Statistical checks use seeded replications and Student-t intervals (``stats_helpers``); the capacity search is
checked against a case with a known answer (M/M/c and Erlang C) and for a frontier free of dominated points.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.experiments.planning import Candidate, pareto_frontier, parse_values, parse_vary
from sim.experiments.scaling import fit_usl
from sim.experiments.statistics import confidence_interval, mser_truncation, student_t_quantile
from sim.theory import queues as theory
from tests.conftest import single_service
from tests.stats_helpers import assert_agrees_with_theory

runner = CliRunner()

# M/M/c search: 7000 req/s of 1 ms exponential work needs at least 8 servers; c* = 10 waits 0.074 ms, 9 servers
# wait 0.192 ms, and the SLO on the mean wait sits at their geometric mean, 1.6x from either.
MMC_RATE_RPS, MMC_SERVICE_MS, MMC_MAX_SERVERS = 7000.0, 1.0, 14


def flat(text: str) -> str:
    return " ".join(text.split())


def scenario_with(data: dict[str, Any], **fields: Any) -> sim.Scenario:
    return sim.parse_scenario({**data, **fields})


# --- output analysis --------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0.90, 0.95, 0.99])
def test_student_t_quantile_matches_scipy(level: float) -> None:
    for degrees in [*range(1, 41), 60, 120, 500]:
        expected = stats.t.ppf((1 + level) / 2, degrees)
        assert student_t_quantile(degrees, level) == pytest.approx(expected, rel=1e-9)


def test_confidence_interval_of_known_values() -> None:
    interval = confidence_interval([1.0, 2.0, None, 3.0, 4.0, 5.0])
    assert interval is not None
    assert interval.mean == 3.0 and interval.replications == 5
    assert interval.half_width == pytest.approx(2.7764451 * math.sqrt(2.5) / math.sqrt(5), rel=1e-7)
    single = confidence_interval([4.0])
    assert single is not None and math.isinf(single.half_width) and single.to_dict()["half_width"] is None
    assert confidence_interval([None, None]) is None


def test_mser5_cuts_an_initial_transient_and_leaves_a_stationary_series() -> None:
    generator = np.random.default_rng(5)
    noise = generator.exponential(10.0, 20_000)
    transient = np.zeros_like(noise)
    transient[:2000] = np.linspace(40.0, 0.0, 2000)
    cut = mser_truncation(noise + transient)
    assert 1000 <= cut.deleted <= 2500 and not cut.at_limit
    assert mser_truncation(noise).deleted < 500
    assert mser_truncation(np.linspace(0.0, 100.0, 1000)).at_limit  # a queue that never settles


# --- replications -----------------------------------------------------------------------------------


def test_replicate_summarises_rows_with_intervals_that_hold_theory() -> None:
    scenario = sim.parse_scenario(single_service(rate_rps=500, mean_ms=1))
    report = sim.replicate(scenario, 5, workers=2)
    assert [row["seed"] for row in report.rows] == [1, 2, 3, 4, 5]
    assert {"throughput_rps", "latency_p99_ms", "latency_p50_ms", "utilisation_api"} <= set(report.summary)
    assert_agrees_with_theory("M/M/1 mean latency", [row["latency_mean_ms"] for row in report.rows],
                              theory.mm1(500, 1).mean_response_ms, max_relative_half_width=0.08)
    utilisation = report.summary["utilisation_api"]
    assert utilisation.low <= 0.5 <= utilisation.high and utilisation.relative_half_width < 0.05
    assert report.warmup["method"] == "fixed" and report.warmup["max_s"] == 2.0
    assert report.warnings == []
    assert json.loads(json.dumps(report.to_dict()))["summary"]["throughput_rps"]["replications"] == 5


def test_auto_warmup_removes_a_start_up_backlog() -> None:
    """A 3 s overload spike at the start leaves a backlog that drains by about 6 s; MSER-5 must cut it."""
    data = single_service(rate_rps=500, mean_ms=1, queue_capacity=5000)
    data["workload"]["profile"] = {"kind": "spike", "at_s": 0, "duration_s": 3, "rate_rps": 1500}
    scenario = scenario_with(data, duration_s=30, warmup_s=0)
    detected = sim.replicate(scenario, 5, warmup="auto", workers=2)
    assert detected.warmup["method"] == "mser-5"
    assert detected.warmup["min_s"] >= 5.0 and detected.warmup["max_s"] <= 15.0
    assert all(float(value).is_integer() for value in detected.warmup["warmup_s"])  # rounded up to bin edges
    assert_agrees_with_theory("M/M/1 mean latency after MSER-5", [row["latency_mean_ms"] for row in detected.rows],
                              theory.mm1(500, 1).mean_response_ms, max_relative_half_width=0.08)
    untrimmed = sim.replicate(scenario, 2, workers=1)
    assert untrimmed.summary["latency_mean_ms"].mean > 20 * detected.summary["latency_mean_ms"].mean


def test_fixed_warmup_and_run_longer_warning() -> None:
    scenario = sim.parse_scenario(single_service(rate_rps=500, mean_ms=1))
    report = sim.replicate(scenario, 3, warmup=1.0, duration_s=2.0, workers=1)
    assert all(row["warmup_s"] == 1.0 for row in report.rows)
    p99 = report.summary["latency_p99_ms"]
    assert p99.relative_half_width > 0.10
    assert any(warning.startswith("run longer") and "p99" in warning for warning in report.warnings)
    with pytest.raises(sim.ScenarioError):
        sim.replicate(scenario, 2, warmup=25.0)


# --- sweeps -----------------------------------------------------------------------------------------


def test_vary_specs() -> None:
    assert parse_values("100:2000:100") == list(range(100, 2001, 100))
    assert parse_values("1:4") == [1, 2, 3, 4]
    assert parse_values("0.5:1:0.25") == [0.5, 0.75, 1.0]
    assert parse_values("round_robin,random") == ["round_robin", "random"]
    assert parse_vary("components.api.instances=1,2,8") == ("components.api.instances", [1, 2, 8])
    for bad in ("4:1", "1:b", "1:2:0"):
        with pytest.raises(ValueError):
            parse_values(bad)
    with pytest.raises(ValueError):
        parse_vary("workload.rate_rps")


def test_sweep_rows_are_tidy_and_round_trip_through_files(tmp_path: Path) -> None:
    scenario = scenario_with(single_service(mean_ms=1), duration_s=6, warmup_s=1)
    result = sim.sweep(scenario, {"workload.rate_rps": [200, 600], "components.api.workers": "1:2"}, 2, workers=2)
    frame = result.to_pandas()
    assert len(frame) == 8
    assert list(frame.columns[:3]) == ["workload.rate_rps", "components.api.workers", "seed"]
    assert frame.groupby(["workload.rate_rps", "components.api.workers"])["seed"].apply(list).tolist() == [[1, 2]] * 4
    # Common random numbers: the same seed offers the same arrivals to every configuration at one rate.
    assert frame[frame["workload.rate_rps"] == 600].groupby("seed")["offered"].nunique().eq(1).all()
    for suffix in (".csv", ".parquet", ".json"):
        path = tmp_path / f"rows{suffix}"
        result.save(path)
        loaded = pd.read_json(path) if suffix == ".json" else getattr(pd, f"read_{suffix[1:]}")(path)
        np.testing.assert_allclose(loaded["latency_p99_ms"], frame["latency_p99_ms"])
    with pytest.raises(ValueError):
        result.save(tmp_path / "rows.xlsx")


def test_latency_vs_load_carries_the_theory_curve() -> None:
    scenario = scenario_with(single_service(mean_ms=1), duration_s=8, warmup_s=1)
    result = sim.sweep(scenario, ["workload.rate_rps=100:900:200"], 3, workers=2)
    figure = result.latency_vs_load()
    assert figure["x"] == "workload.rate_rps" and len(figure["series"]) == 1
    series = figure["series"][0]
    for point in series["points"]:
        expected = theory.mm1(point["x"], 1).mean_response_ms
        assert point["theory_mean_latency_ms"] == pytest.approx(expected)
        assert abs(point["latency_mean_ms"]["mean"] - expected) <= 0.2 * expected
    curve = {point["x"]: point["mean_latency_ms"] for point in series["theory_curve"]}
    assert len(curve) >= 50 and curve[100] == pytest.approx(1000 / 900)
    assert curve[900] == pytest.approx(10.0)


def test_usl_fit_recovers_known_coefficients() -> None:
    sizes = np.arange(1, 33)
    truth = 100.0 * sizes / (1 + 0.05 * (sizes - 1) + 0.002 * sizes * (sizes - 1))
    exact = fit_usl(sizes, truth)
    assert exact.unit_throughput_rps == pytest.approx(100.0, rel=1e-9)
    assert exact.contention == pytest.approx(0.05, rel=1e-7) and exact.coherency == pytest.approx(0.002, rel=1e-7)
    assert exact.peak_units == pytest.approx(math.sqrt(0.95 / 0.002)) and exact.r_squared == pytest.approx(1.0)
    noisy = fit_usl(sizes, truth * np.random.default_rng(3).normal(1.0, 0.01, sizes.size))
    assert noisy.contention == pytest.approx(0.05, abs=0.01) and noisy.coherency == pytest.approx(0.002, abs=5e-4)
    linear = fit_usl([1, 2, 4, 8], [50.0, 100.0, 200.0, 400.0])
    assert linear.contention == pytest.approx(0.0, abs=1e-12) and linear.coherency == pytest.approx(0.0, abs=1e-12)
    assert linear.peak_units is None


# --- capacity search --------------------------------------------------------------------------------


def erlang_c_answer() -> tuple[int, float]:
    """The fewest servers whose M/M/c mean wait is below a threshold set between c* - 1 and c*."""
    waits = {servers: theory.mmc(MMC_RATE_RPS, MMC_SERVICE_MS, servers).mean_wait_ms
             for servers in range(1, MMC_MAX_SERVERS + 1)}
    stable = [servers for servers, wait in waits.items() if wait is not None]
    answer = stable[2]  # the third stable size: the one below it still queues 2.6x longer
    threshold = math.sqrt(waits[answer - 1] * waits[answer])
    return answer, threshold


def test_plan_finds_the_erlang_c_answer() -> None:
    answer, threshold_ms = erlang_c_answer()
    scenario = scenario_with(single_service(rate_rps=MMC_RATE_RPS, mean_ms=MMC_SERVICE_MS, price_per_instance_hour=1),
                             duration_s=6, warmup_s=1)
    result = sim.plan(scenario, f"mean_wait<{threshold_ms:.6f}ms", {"components.api.workers": f"1:{MMC_MAX_SERVERS}"},
                      replications=3, margin=2.0, workers=2)
    assert result.best is not None
    print(f"plan: {result.best.parameters} with mean wait {result.best.intervals['mean_wait_ms']} ms; "
          f"Erlang C answer {answer} servers, threshold {threshold_ms:.4f} ms; {answer - 1} servers measured "
          f"{result.candidates[answer - 2].intervals['mean_wait_ms']} ms")
    assert result.best.parameters == {"components.api.workers": answer}
    by_servers = {candidate.parameters["components.api.workers"]: candidate for candidate in result.candidates}
    below = by_servers[answer - 1]
    assert below.status == "simulated" and below.meets_slo is False  # the simulation, not the twin, decided
    assert below.value("mean_wait_ms") > threshold_ms > result.best.value("mean_wait_ms")
    assert all(by_servers[servers].status == "pruned" for servers in range(1, answer - 1))
    assert len(result.with_status("simulated")) <= 3 and len(result.rows) == 3 * len(result.with_status("simulated"))
    assert {row["seed"] for row in result.rows} == {1, 2, 3}


def make_candidate(index: int, cost: float, p99_ms: float, stable: bool = True) -> Candidate:
    candidate = Candidate(index, {"index": index}, None, cost, index)  # type: ignore[arg-type]
    candidate.intervals = {"latency_p99_ms": confidence_interval([p99_ms, p99_ms])}  # type: ignore[dict-item]
    candidate.stable = stable
    return candidate


def test_pareto_frontier_of_hand_made_points() -> None:
    points = [make_candidate(0, 1.0, 50.0), make_candidate(1, 1.0, 40.0), make_candidate(2, 2.0, 40.0),
              make_candidate(3, 3.0, 20.0), make_candidate(4, 4.0, 30.0), make_candidate(5, 5.0, 5.0, stable=False)]
    assert [candidate.index for candidate in pareto_frontier(points)] == [1, 3]


def assert_no_dominated_points(frontier: list[Candidate], simulated: list[Candidate]) -> None:
    for point in frontier:
        for other in simulated:
            cheaper_or_equal = other.cost_per_hour <= point.cost_per_hour
            faster_or_equal = other.value("latency_p99_ms") <= point.value("latency_p99_ms")
            strictly = other.cost_per_hour < point.cost_per_hour or other.value("latency_p99_ms") < point.value(
                "latency_p99_ms")
            assert not (cheaper_or_equal and faster_or_equal and strictly), (point.parameters, other.parameters)


def test_plan_frontier_has_no_dominated_points() -> None:
    scenario = sim.parse_scenario({
        "name": "tiers", "duration_s": 5, "warmup_s": 1, "workload": {"rate_rps": 1500, "entry": "lb"},
        "components": {
            "lb": {"kind": "load_balancer", "target": "api", "policy": "least_connections"},
            "api": {"kind": "service", "workers": 2, "price_per_instance_hour": 1.0, "calls": ["db"],
                    "service_time": {"distribution": "exponential", "mean_ms": 1}},
            "db": {"kind": "database", "price_per_connection_hour": 0.3,
                   "read_time": {"distribution": "exponential", "mean_ms": 0.5},
                   "write_time": {"distribution": "exponential", "mean_ms": 0.5}}}})
    result = sim.plan(scenario, "error_rate<1%", ["components.api.instances=1:4", "components.db.pool_size=1:4"],
                      replications=2, frontier_improvement=0.02, workers=2)
    simulated = [candidate for candidate in result.with_status("simulated") if candidate.stable]
    assert result.best is not None and result.best in result.frontier
    assert result.best.cost_per_hour == min(candidate.cost_per_hour for candidate in simulated)
    assert len(result.frontier) >= 3 and len(result.with_status("pruned")) >= 4
    costs = [candidate.cost_per_hour for candidate in result.frontier]
    p99s = [candidate.value("latency_p99_ms") for candidate in result.frontier]
    assert costs == sorted(costs) and all(later < earlier for earlier, later in itertools.pairwise(p99s))
    assert_no_dominated_points(result.frontier, simulated)


def test_an_empty_plan_says_which_constraint_the_largest_candidate_fails() -> None:
    scenario = scenario_with(single_service(rate_rps=500, mean_ms=10, price_per_instance_hour=1.0),
                             duration_s=4, warmup_s=1)
    result = sim.plan(scenario, "p99<100ms", {"components.api.workers": "1:3"}, replications=2, workers=1)
    assert result.best is None and len(result.with_status("pruned")) == 3
    [note] = result.notes
    assert "even the largest candidate (api.workers=3) fails" in note
    assert "the twin puts api at 1.67x its capacity" in note


def test_a_plan_without_prices_says_what_cheapest_means() -> None:
    scenario = scenario_with(single_service(rate_rps=150, mean_ms=10), duration_s=4, warmup_s=1)
    result = sim.plan(scenario, "p99<500ms", {"components.api.workers": "1:3"}, replications=2, workers=1)
    assert result.best is not None and result.best.parameters == {"components.api.workers": 2}
    assert any(note.startswith("no component has a price, so every configuration costs 0") for note in result.notes)
    assert result.to_dict()["notes"] == result.notes


def test_local_pool_rows_equal_serial_rows() -> None:
    scenario = scenario_with(single_service(mean_ms=1), duration_s=4, warmup_s=1)
    vary = {"workload.rate_rps": [300, 700]}
    serial = sim.sweep(scenario, vary, 2, warmup="auto", workers=1)
    pooled = sim.sweep(scenario, vary, 2, warmup="auto", workers=2)
    assert pooled.rows == serial.rows


# --- command line -----------------------------------------------------------------------------------


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "mm1.json"
    path.write_text(json.dumps({**single_service(rate_rps=400, mean_ms=1, price_per_instance_hour=0.5),
                                "duration_s": 4, "warmup_s": 1}), encoding="utf-8")
    return path


def test_cli_sweep_writes_rows_and_figure_data(scenario_file: Path, tmp_path: Path) -> None:
    out, figures = tmp_path / "rows.csv", tmp_path / "figures.json"
    outcome = runner.invoke(app, ["sweep", str(scenario_file), "--vary", "components.api.instances=1:2", "--vary",
                                  "workload.rate_rps=200,600", "-n", "2", "--workers", "2", "--out", str(out),
                                  "--figures", str(figures)])
    assert outcome.exit_code == 0, outcome.output
    assert "USL fit" in flat(outcome.output) and "contention" in flat(outcome.output)
    assert len(pd.read_csv(out)) == 8
    document = json.loads(figures.read_text(encoding="utf-8"))
    assert document["latency_vs_load"]["x"] == "workload.rate_rps"
    assert document["scalability"]["x"] == "components.api.instances"


def test_cli_plan_and_replicate(scenario_file: Path) -> None:
    outcome = runner.invoke(app, ["plan", str(scenario_file), "--slo", "p99<30ms", "--rate", "1500", "--vary",
                                  "components.api.workers=1:4", "--workers", "1", "-n", "2"])
    assert outcome.exit_code == 0, outcome.output
    assert "cheapest meeting p99<30ms: api.workers=" in flat(outcome.output)
    outcome = runner.invoke(app, ["plan", str(scenario_file), "--slo", "p99<30ms", "--json", "--workers", "1",
                                  "--vary", "components.api.workers=1:2"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.output)["best"]["parameters"] == {"components.api.workers": 1}
    outcome = runner.invoke(app, ["replicate", str(scenario_file), "-n", "3", "--warmup", "auto", "--workers", "1"])
    assert outcome.exit_code == 0, outcome.output
    assert "warm-up (mser-5)" in flat(outcome.output) and "latency_p99_ms" in flat(outcome.output)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--vary", "workload.rate_rps=9:1"], "needs start <= end"),
    (["--vary", "components.api.nonsense=1:2"], "no such field"),
    (["--vary", "components.api.workers=0:1"], "components.api.workers"),
])
def test_cli_rejects_bad_options_with_exit_code_2(scenario_file: Path, arguments: list[str], message: str) -> None:
    outcome = runner.invoke(app, ["sweep", str(scenario_file), *arguments, "--workers", "1"])
    assert outcome.exit_code == 2
    assert message in flat(outcome.output)

"""The analytic twin at and past saturation, and under blocking calls, held to the simulation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import sim
from sim.experiments.scaling import latency_vs_load
from sim.scenario.gallery import gallery_paths, load_gallery_scenario
from sim.scenario.overrides import with_overrides
from sim.theory import queues as theory
from sim.twin.predict import end_to_end_ms, predict, saturation_rate_rps
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate

API_MS, BACKEND_MS = 4.0, 6.0
SUMMED_SCV = (API_MS**2 + BACKEND_MS**2) / (API_MS + BACKEND_MS) ** 2  # two exponentials in a row: 0.52
SWEEP_SEEDS = (1, 2, 3, 4, 5)


def chain(rate_rps: float, api_workers: int = 1, backend_workers: int = 1, duration_s: float = 200.0) -> sim.Scenario:
    """An api whose every request calls a backend; both exponential, 4 ms and 6 ms."""
    return sim.parse_scenario({
        "name": "chain", "duration_s": duration_s, "warmup_s": 10.0,
        "workload": {"rate_rps": rate_rps, "entry": "api"},
        "components": {
            "api": {"kind": "service", "workers": api_workers, "calls": ["backend"],
                    "service_time": {"distribution": "exponential", "mean_ms": API_MS}},
            "backend": {"kind": "service", "workers": backend_workers,
                        "service_time": {"distribution": "exponential", "mean_ms": BACKEND_MS}},
        },
    })


def test_one_worker_calling_one_worker_is_mg1_with_the_summed_service() -> None:
    predictions = predict(chain(70.0))
    expected = theory.mg1(70.0, API_MS + BACKEND_MS, SUMMED_SCV)
    assert predictions["backend"].mean_wait_ms == 0.0, "the api's single worker never lets two calls wait"
    assert predictions["backend"].mean_response_ms == pytest.approx(BACKEND_MS)
    assert predictions["api"].stable and predictions["api"].utilisation == pytest.approx(0.7)
    assert predictions["api"].mean_response_ms == pytest.approx(expected.mean_response_ms, rel=1e-9)


def test_the_blocking_chain_is_stable_and_the_twin_within_five_percent() -> None:
    summary = sim.run(chain(70.0)).summary
    assert summary["stable"] is True and summary["overflowed"] == []
    assert summary["components"]["backend"]["mean_wait_ms"] == 0.0, "the simulated backend never queues either"
    simulated, predicted = summary["latency_ms"]["mean"], summary["theory"]["mean_latency_ms"]
    assert predicted == pytest.approx(simulated, rel=0.05), (simulated, predicted)
    api = summary["components"]["api"]
    assert summary["theory"]["components"]["api"]["mean_response_ms"] == pytest.approx(api["mean_response_ms"],
                                                                                    rel=0.05)


def test_a_callee_with_fewer_workers_than_its_callers_still_queues() -> None:
    predictions = predict(chain(70.0, api_workers=2, backend_workers=1))
    assert predictions["backend"].mean_wait_ms is not None and predictions["backend"].mean_wait_ms > 0.0
    assert predict(chain(70.0, api_workers=2, backend_workers=2))["backend"].mean_wait_ms == 0.0


@pytest.mark.parametrize("rate_rps", [20.0, 50.0, 80.0])
def test_the_twin_follows_the_chain_below_saturation(rate_rps: float) -> None:
    scenario = chain(rate_rps, duration_s=100.0)
    predicted = end_to_end_ms(scenario, predict(scenario))
    assert predicted is not None
    samples = metric(replicate(scenario, SWEEP_SEEDS), lambda result: result.summary["latency_ms"]["mean"])
    assert_agrees_with_theory(f"chain at {rate_rps:g} req/s: mean latency (ms)", samples, predicted,
                              max_relative_half_width=0.10)


@pytest.mark.parametrize("rate_rps", [105.0, 200.0])
def test_past_saturation_the_twin_gives_no_latency_and_the_run_overflows(rate_rps: float) -> None:
    scenario = chain(rate_rps, duration_s=30.0)
    predictions = predict(scenario)
    assert not predictions["api"].stable and predictions["api"].mean_response_ms is None
    assert not predictions["backend"].stable and predictions["backend"].mean_response_ms is None
    assert any("passes through api" in note for note in predictions["backend"].notes)
    summary = sim.run(scenario).summary
    assert summary["stable"] is False and summary["overflowed"] == ["api"]
    assert summary["theory"]["mean_latency_ms"] is None
    assert saturation_rate_rps(scenario) == pytest.approx(100.0, rel=1e-6)


def test_callers_of_a_saturated_database_are_unstable_too() -> None:
    scenario = with_overrides(load_gallery_scenario("cache-aside"), {"workload.rate_rps": 1800.0})
    predictions = predict(scenario)
    assert predictions["db"].utilisation == 1.0 and not predictions["db"].stable
    for name in ("cache", "api"):
        assert not predictions[name].stable and predictions[name].mean_response_ms is None, name
    assert any("waits on db" in note for note in predictions["api"].notes)
    assert end_to_end_ms(scenario, predictions) is None


def twin_curve(name: str) -> tuple[float, np.ndarray, list[float | None]]:
    scenario = load_gallery_scenario(name)
    if scenario.workload.profile is not None:  # the curve is over a constant rate: take a spike off
        scenario = with_overrides(scenario, {"workload.profile": None})
    saturation = saturation_rate_rps(scenario)
    assert saturation is not None
    rates = np.linspace(0.02 * saturation, 1.5 * saturation, 150)
    latencies = []
    for rate in rates:
        variant = with_overrides(scenario, {"workload.rate_rps": float(rate)})
        latencies.append(end_to_end_ms(variant, predict(variant)))
    return saturation, rates, latencies


@pytest.mark.parametrize("name", sorted(gallery_paths()))
def test_each_gallery_twin_curve_ends_at_the_first_saturation(name: str) -> None:
    saturation, rates, latencies = twin_curve(name)
    assert all(latency is not None for rate, latency in zip(rates, latencies, strict=True) if rate < saturation)
    assert all(latency is None for rate, latency in zip(rates, latencies, strict=True) if rate >= saturation), (
        "past the first saturation the twin never comes back with a finite latency")
    finite = [latency for latency in latencies if latency is not None]
    if name in ("cache-aside", "stampede"):
        # a TTL (60 s, 2 s) caps the hit ratio at low rates (keys expire before they are read again), so latency first
        # falls as the rate rises; it is monotone from the rate where the hit ratio stops rising
        scenario = load_gallery_scenario(name)
        ratios = [predict(scenario, float(rate))["cache"].hit_ratio for rate in rates if rate < saturation]
        settled = next(index for index, ratio in enumerate(ratios) if ratio == pytest.approx(ratios[-1], rel=1e-6))
        finite = finite[settled:]
    if name == "serverless":
        # cold starts fade as the rate rises (the function's instances stay warm), so latency first falls a
        # little; it is monotone from its lowest point, where the gateway's queue takes over
        finite = finite[int(np.argmin(finite)):]
    # (a relative 1e-5 forgives rounding and a hit ratio still creeping towards 1 in its sixth decimal)
    assert all(later >= earlier * (1 - 1e-5) for earlier, later in itertools.pairwise(finite)), name
    if name in ("event-driven", "notifications"):
        # the API only waits for the append: its latency stays flat, and the consumers' lag takes the queueing
        assert finite[-1] < 1.5 * finite[0], "publishing decouples the API from its consumers"
    else:
        assert finite[-1] > 2 * finite[0], "the hockey stick turns up before the wall"


def test_the_simulation_shows_the_ttl_dip_the_twin_predicts() -> None:
    scenario = load_gallery_scenario("cache-aside")
    means = []
    for rate in (30.0, 200.0):
        variant = with_overrides(scenario, {"workload.rate_rps": rate, "duration_s": 200.0, "warmup_s": 60.0})
        summary = sim.run(variant).summary
        means.append((summary["latency_ms"]["mean"], summary["theory"]["mean_latency_ms"]))
    (low_sim, low_twin), (high_sim, high_twin) = means
    assert low_twin > high_twin and low_sim > high_sim


def test_the_sweep_figure_twin_curve_stops_for_good_at_saturation() -> None:
    scenario = load_gallery_scenario("cache-aside")
    points = [{"parameters": {"workload.rate_rps": rate}, "intervals": {}, "theory_mean_latency_ms": None}
              for rate in (200.0, 1000.0, 1950.0)]
    curve = latency_vs_load(points, scenario, "workload.rate_rps")["series"][0]["theory_curve"]
    values = [point["mean_latency_ms"] for point in curve]
    first_gap = values.index(None)
    assert all(value is None for value in values[first_gap:])
    assert curve[first_gap]["x"] >= saturation_rate_rps(scenario) > curve[first_gap - 1]["x"]

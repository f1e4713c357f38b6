"""Service-time fits (against scipy's Kolmogorov-Smirnov), the knee of a latency curve, and calibration
recovering a service time the simulator itself was given."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim.interop.calibrate import NETWORK, calibrate
from sim.interop.fitting import fit_quantiles, fit_samples, kolmogorov_p_value, latency_knee, normal_quantile
from sim.interop.loadtest_readers import read_load_test
from sim.interop.loadtest_results import ALL, LoadTest, RequestStats, stats_from_samples
from tests.conftest import PROJECT_ROOT

TEMPLATE = sim.load_scenario(PROJECT_ROOT / "tests" / "loadtest" / "template.yaml")
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "loadtest"
GENERATORS = {
    "exponential": lambda rng: rng.exponential(20.0, 3000),
    "lognormal": lambda rng: rng.lognormal(math.log(20.0), 0.6, 3000),
    "deterministic": lambda rng: 20.0 + rng.normal(0.0, 2.0, 3000),
}


@pytest.mark.parametrize("family", list(GENERATORS))
def test_the_right_family_wins_and_d_matches_scipy(family: str) -> None:
    samples = GENERATORS[family](np.random.default_rng(7))
    report = fit_samples(samples)
    best = report.best
    assert best.family == family, report.statement()
    distribution, arguments = {"exponential": ("expon", (0, best.location)),
                               "lognormal": ("lognorm", (best.scale, 0, math.exp(best.location))),
                               "deterministic": ("norm", (best.location, best.scale))}[family]
    reference = stats.kstest(samples, distribution, args=arguments)
    assert best.ks_statistic == pytest.approx(reference.statistic, abs=1e-9)
    assert best.p_value == pytest.approx(reference.pvalue, abs=0.02)
    assert best.p_value > 0.05 and "no evidence against it" in report.statement()


def test_a_bad_fit_is_called_one() -> None:
    bimodal = np.concatenate([np.full(500, 5.0), np.full(500, 50.0)]) + np.random.default_rng(1).normal(0, 0.5, 1000)
    report = fit_samples(bimodal)
    assert report.best.p_value < 0.05 and "rejects it" in report.statement()


def test_kolmogorov_p_values_and_normal_quantiles_match_scipy() -> None:
    """The asymptotic p-value (Stephens-corrected) is within 0.02 of the exact one from 10 samples up."""
    for statistic, count in ((0.02, 2000), (0.05, 300), (0.1, 50), (0.3, 10)):
        assert kolmogorov_p_value(statistic, count) == pytest.approx(stats.kstwo.sf(statistic, count), abs=0.02)
    for probability in (0.001, 0.02, 0.5, 0.9, 0.975, 0.9999):
        assert normal_quantile(probability) == pytest.approx(stats.norm.ppf(probability), abs=1e-8)


def test_quantile_fits_recover_the_shape() -> None:
    samples = np.random.default_rng(3).lognormal(math.log(30.0), 0.5, 5000)
    quantiles = {probability: float(np.quantile(samples, probability)) for probability in
                 (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999)}
    report = fit_quantiles(quantiles, float(samples.mean()), samples.size)
    assert report.best.family == "lognormal"
    assert report.best.spec()["cv"] == pytest.approx(math.sqrt(math.expm1(0.25)), rel=0.05)
    assert report.basis == "quantiles" and "lower bound" in report.statement()


def test_the_knee_of_an_mm1_curve_is_where_its_slope_meets_the_chord() -> None:
    """For R = S / (1 - rho) over [a, b], the point furthest below the chord has R'(rho) equal to the chord's
    slope: rho* = 1 - sqrt(S / slope)."""
    service_ms, capacity = 10.0, 100.0
    loads = np.linspace(0.1, 0.95, 86)
    latency = service_ms / (1 - loads)
    knee = latency_knee(loads * capacity, latency)
    assert knee is not None
    slope = (latency[-1] - latency[0]) / (loads[-1] - loads[0])
    expected = 1 - math.sqrt(service_ms / slope)
    assert abs(knee.throughput_rps / capacity - expected) <= 0.01


def test_no_knee_without_a_curve() -> None:
    assert latency_knee([50, 51, 50.5], [10, 11, 12]) is None  # one load level
    assert latency_knee([10, 20], [5, 6]) is None  # two points
    jmeter = read_load_test(FIXTURES / "jmeter.jtl")
    knee = latency_knee([window.throughput_rps for window in jmeter.windows],
                        [window.mean_ms for window in jmeter.windows])
    assert knee is not None and 30 < knee.throughput_rps < 70  # a stepped test at 20-75 req/s bends between


def simulated_test(service: dict[str, object], rate_rps: float, overhead_ms: float = 0.0) -> LoadTest:
    """A 'load test' made by the simulator itself: 2 workers with a known service time, at ``rate_rps``."""
    truth = sim.parse_scenario({**TEMPLATE.to_dict(), "duration_s": 900, "warmup_s": 10,
                                "workload": {"rate_rps": rate_rps, "entry": "api"},
                                "components": {"api": {**TEMPLATE.components["api"].model_dump(),
                                                       "service_time": service}}})
    result = sim.run(truth, seed=5)
    latencies = result.ok_latencies_ms().astype(float) + overhead_ms
    span = truth.duration_s - truth.warmup_s
    requests = {ALL: stats_from_samples(latencies, np.ones(latencies.size, bool), span)}
    if overhead_ms:
        requests["/ping"] = RequestStats(count=1000, failures=0, mean_ms=overhead_ms, throughput_rps=10.0,
                                         quantiles_ms={0.5: overhead_ms})
    return LoadTest("simulated", "memory", span, requests)


def test_calibration_recovers_the_simulated_service_time() -> None:
    service = {"distribution": "lognormal", "mean_ms": 20.0, "cv": 0.5}
    calibration = calibrate(simulated_test(service, 40.0), TEMPLATE)
    api = calibration.scenario.components["api"].service_time
    assert calibration.fit.best.family == "lognormal"
    assert api.mean_ms == pytest.approx(20.0, rel=0.03)  # type: ignore[union-attr]
    assert calibration.scenario.workload.rate_rps == pytest.approx(40.0, rel=0.02)
    assert any("no --baseline" in note for note in calibration.notes)


def test_calibration_puts_the_baseline_in_front_without_a_worker() -> None:
    service = {"distribution": "exponential", "mean_ms": 20.0}
    calibration = calibrate(simulated_test(service, 40.0, overhead_ms=3.0), TEMPLATE, baseline="/ping")
    network = calibration.scenario.components[NETWORK]
    assert calibration.scenario.workload.entry == NETWORK
    assert network.kind == "load_balancer" and network.latency_ms == pytest.approx(3.0)  # type: ignore[union-attr]
    assert calibration.scenario.components["api"].service_time.mean_ms == pytest.approx(20.0, rel=0.04)  # type: ignore[union-attr]
    predicted = sim.run(calibration.scenario.model_copy(update={"duration_s": 300.0}), seed=9).summary
    assert predicted["latency_ms"]["mean"] == pytest.approx(calibration.measured.mean_ms, rel=0.05)


def test_calibration_refuses_what_it_cannot_do() -> None:
    test = simulated_test({"distribution": "exponential", "mean_ms": 20.0}, 20.0, overhead_ms=3.0)
    with pytest.raises(ValueError, match="must exceed the baseline"):
        calibrate(test, TEMPLATE, request="/ping", baseline="/ping")
    with pytest.raises(sim.ScenarioError):
        calibrate(test, TEMPLATE, component="nope")

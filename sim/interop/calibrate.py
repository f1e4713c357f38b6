"""A scenario calibrated from a load test: measured load, fitted service time, queueing taken out by the twin.

The template scenario says what the system is (its components, workers, wiring); the load test says how fast
it was. Calibration:

1. takes the request named by ``request`` (default: every request) and, if ``baseline`` names a request that
   does no work (a health check or ping), its mean as the network and client time: that part holds no worker,
   so it is put in front of the system as a load balancer's fixed ``latency_ms`` instead of in the service time;
2. fits the service-time distribution to the measured latencies less that overhead (``sim.interop.fitting``:
   samples for JMeter and k6, the percentile columns for Locust) and keeps the best family's shape;
3. sets the workload to an open stream at the measured rate of that request;
4. scales the service mean until the analytic twin's mean end-to-end latency at that rate equals the measured
   mean, so queueing already present in the test is not counted as work.

Without a baseline all of the latency is taken as service time, which overstates queueing at higher loads when
the client and network add much; the report says so.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from sim.interop.fitting import FitReport, Knee, fit_quantiles, fit_samples, latency_knee
from sim.interop.loadtest_results import LoadTest, RequestStats
from sim.scenario.scenario import Problem, Scenario, ScenarioError, parse_scenario
from sim.twin.predict import predict, theory_summary

NETWORK = "client-network"
SEARCH_STEPS = 60


@dataclass
class Calibration:
    """The calibrated scenario and how it was found."""

    scenario: Scenario
    component: str
    fit: FitReport
    measured: RequestStats
    rate_rps: float
    overhead_ms: float
    service_mean_ms: float
    knee: Knee | None
    notes: list[str] = field(default_factory=list)

    def report(self) -> list[str]:
        """What was measured, fitted and set, one line each."""
        lines = [f"measured: {self.measured.count:,} requests at {self.rate_rps:.2f} req/s, mean "
                 f"{self.measured.mean_ms:.2f} ms" + (f", p95 {self.measured.quantiles_ms[0.95]:.1f} ms"
                                                      if 0.95 in self.measured.quantiles_ms else ""),
                 f"service time of {self.component}: {self.fit.statement()}",
                 f"set: {self.component} service mean {self.service_mean_ms:.2f} ms after taking out the twin's "
                 f"queueing at {self.rate_rps:.2f} req/s; network and client time {self.overhead_ms:.2f} ms"]
        if self.knee is not None:
            lines.append(f"knee of the measured latency curve: {self.knee.throughput_rps:.1f} req/s at "
                         f"{self.knee.latency_ms:.1f} ms")
        return lines + [f"note: {note}" for note in self.notes]


def calibrate(load_test: LoadTest, template: Scenario, request: str | None = None, baseline: str | None = None,
              component: str | None = None) -> Calibration:
    """Calibrate ``template`` from ``load_test`` (see the module docstring). Raises ValueError or ScenarioError."""
    measured = load_test.stats(request)
    overhead_ms = load_test.stats(baseline).mean_ms if baseline is not None else 0.0
    if not measured.mean_ms > overhead_ms:
        raise ValueError(f"the mean latency ({measured.mean_ms:.3g} ms) must exceed the baseline's "
                         f"({overhead_ms:.3g} ms) to leave any service time")
    name = component or _service_behind_entry(template)
    fit = _fit(measured, overhead_ms)
    rate_rps = measured.count / load_test.duration_s
    data = _calibrated_data(template, name, fit.best.spec(), rate_rps, overhead_ms)
    data["description"] = (f"{template.name} calibrated by sim calibrate from {load_test.tool} results "
                           f"({load_test.source}): {name}'s service time fitted as {fit.best.family}, open load at "
                           f"the measured {rate_rps:.4g} req/s. " + template.description).strip()
    notes = [] if baseline is not None else [
        "no --baseline request: all latency is taken as service time; if the client and network add much, "
        "queueing at higher loads will be overstated"]
    service_mean_ms = _match_mean(data, name, measured.mean_ms, rate_rps)
    data["components"][name]["service_time"]["mean_ms"] = service_mean_ms
    scenario = parse_scenario(data)
    knee = latency_knee([window.throughput_rps for window in load_test.windows],
                        [window.mean_ms if window.mean_ms is not None else math.nan for window in load_test.windows])
    return Calibration(scenario, name, fit, measured, rate_rps, overhead_ms, service_mean_ms, knee, notes)


def _service_behind_entry(template: Scenario) -> str:
    """The service the workload enters (through a load balancer if there is one)."""
    name = template.workload.entry
    spec = template.components[name]
    targets = {target for _field, target in spec.downstream()}
    if not hasattr(spec, "service_time") and len(targets) == 1:  # a pass-through in front (a load balancer)
        name = targets.pop()
        spec = template.components[name]
    if not hasattr(spec, "service_time"):
        raise ScenarioError([Problem("workload.entry", f"the entry {name!r} is a {spec.kind} with no service time; "
                                                        "name the service to calibrate with --component")])
    return name


def _fit(measured: RequestStats, overhead_ms: float) -> FitReport:
    if measured.samples_ms is not None and measured.samples_ms.size >= 2:
        return fit_samples(measured.samples_ms[measured.samples_ms > overhead_ms] - overhead_ms)
    quantiles = {probability: value - overhead_ms for probability, value in measured.quantiles_ms.items()}
    return fit_quantiles(quantiles, measured.mean_ms - overhead_ms, measured.count)


def _calibrated_data(template: Scenario, name: str, service_time: dict[str, Any], rate_rps: float,
                     overhead_ms: float) -> dict[str, Any]:
    """The template as data with the fitted service time, the measured open load and the overhead in front."""
    data = copy.deepcopy(template.model_dump(mode="json", exclude_none=True))
    if name not in data["components"] or data["components"][name]["kind"] != "service":
        raise ScenarioError([Problem("--component", f"{name!r} is not a service of the template")])
    data["name"] = f"{template.name}-calibrated"
    data["components"][name]["service_time"] = dict(service_time)
    data["workload"] = {**{key: value for key, value in data["workload"].items()
                           if key in ("entry", "keys", "classes")}, "type": "open", "rate_rps": rate_rps}
    entry = data["workload"]["entry"]
    if overhead_ms > 0 and data["components"][entry]["kind"] == "load_balancer":
        data["components"][entry]["latency_ms"] = data["components"][entry].get("latency_ms", 0.0) + overhead_ms
    elif overhead_ms > 0:
        network = NETWORK if NETWORK not in data["components"] else f"{NETWORK}-{len(data['components'])}"
        data["components"][network] = {"kind": "load_balancer", "target": entry, "policy": "random",
                                       "latency_ms": overhead_ms}
        data["workload"]["entry"] = network
    return data


def _match_mean(data: dict[str, Any], name: str, measured_mean_ms: float, rate_rps: float) -> float:
    """The service mean at which the twin's end-to-end mean equals the measured one (bisection)."""
    low, high = 0.0, float(data["components"][name]["service_time"]["mean_ms"]) * 2.0 + 1.0
    for _step in range(SEARCH_STEPS):
        middle = (low + high) / 2
        predicted = _twin_mean_ms(data, name, middle, rate_rps)
        if predicted is None or predicted > measured_mean_ms:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def _twin_mean_ms(data: dict[str, Any], name: str, service_mean_ms: float, rate_rps: float) -> float | None:
    data["components"][name]["service_time"]["mean_ms"] = max(service_mean_ms, 1e-9)
    scenario = parse_scenario(data)
    summary = theory_summary(scenario, rate_rps, predict(scenario, rate_rps))
    value = summary["mean_latency_ms"]  # the twin's own summary (plain data, not a run's)
    return None if value is None else float(value)

"""The kind contract, proved by a toy kind written in one file: spec, runtime and twin, nothing else touched.

``delay`` holds every request for a fixed time, as an infinite-server station (M/D/∞): nothing ever waits, so
its mean response is exactly ``delay_ms`` and the twin must say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest

import sim
from sim.kinds.base import ComponentSpecBase, TwinContext
from sim.kinds.registry import KINDS
from sim.model.base import PositiveFloat
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.scenario.scenario import Scenario, register_kind
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory


class DelaySpec(ComponentSpecBase):
    """Holds each request for ``delay_ms`` and answers; any number at once."""

    kind: Literal["delay"]
    delay_ms: PositiveFloat

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Delay:
        return Delay(env, name, self)

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        return ComponentTheory("delay", traffic.rate_rps, self.delay_ms, model="M/D/∞",
                               unloaded_response_ms=self.delay_ms)


class Delay(Component):
    """Runtime of ``kind: delay``."""

    kind = "delay"

    def __init__(self, env: Scheduler, name: str, spec: DelaySpec) -> None:
        super().__init__(env, name, spec)
        self.delay_s = spec.delay_ms / 1000.0

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        self.env.call_later(self.delay_s, self._done, self._enter(request, reply, token))

    def _done(self, visit: Visit) -> None:
        self._settle(visit, OK)


@pytest.fixture
def delay_kind() -> Iterator[None]:
    register_kind(DelaySpec)
    yield
    del KINDS["delay"]
    Scenario.model_rebuild(force=True)


def toy_scenario() -> dict[str, Any]:
    return {"name": "toy", "duration_s": 20, "warmup_s": 2, "workload": {"rate_rps": 200, "entry": "api"},
            "components": {
                "api": {"kind": "service", "workers": 8, "calls": ["wait"],
                        "service_time": {"distribution": "exponential", "mean_ms": 2}},
                "wait": {"kind": "delay", "delay_ms": 15}}}


def test_a_kind_from_one_file_runs_in_a_scenario(delay_kind: None) -> None:
    summary = sim.run(sim.parse_scenario(toy_scenario()), seed=3).summary
    wait = summary["components"]["wait"]
    assert wait["kind"] == "delay"
    assert wait["mean_response_ms"] == pytest.approx(15.0, abs=1e-6)  # deterministic: exactly the delay
    assert wait["throughput_rps"] == pytest.approx(200, rel=0.1)
    predicted = summary["theory"]["components"]["wait"]
    assert predicted["model"] == "M/D/∞" and predicted["mean_response_ms"] == 15.0
    # the caller's twin adds the toy kind's response to its holding time
    assert summary["theory"]["components"]["api"]["mean_response_ms"] > 15.0
    assert summary["latency_ms"]["mean"] == pytest.approx(summary["theory"]["mean_latency_ms"], rel=0.15)


def test_the_toy_kind_joins_the_schema_and_the_error_messages(delay_kind: None) -> None:
    schema = sim.scenario_json_schema()
    mapping = schema["properties"]["components"]["additionalProperties"]["discriminator"]["mapping"]
    assert "delay" in mapping
    broken = toy_scenario()
    broken["components"]["wait"]["delay_msec"] = 3
    with pytest.raises(sim.ScenarioError) as error:
        sim.parse_scenario(broken)
    assert any(problem.path == "components.wait.delay_msec" and "did you mean 'delay_ms'" in problem.message
               for problem in error.value.problems)


def test_an_unregistered_kind_is_refused() -> None:
    with pytest.raises(sim.ScenarioError) as error:
        sim.parse_scenario(toy_scenario())
    assert any(problem.path == "components.wait.kind" for problem in error.value.problems)

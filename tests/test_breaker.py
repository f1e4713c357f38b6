"""Circuit breakers: the state machine (closed, open, half-open) step by step, failing fast while open, and the
retry storm stopped by a breaker as by a budget."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.kinds.service.breaker import CLOSED, HALF_OPEN, OPEN, BreakerSpec, CircuitBreaker
from sim.model.errors import ScenarioError
from sim.model.status import OK
from sim.scenario.gallery import load_gallery_scenario
from sim.scenario.overrides import with_overrides


def test_it_opens_at_the_failure_rate_once_the_window_has_its_minimum() -> None:
    breaker = CircuitBreaker(BreakerSpec(failure_rate=0.5, window_calls=10, minimum_calls=4, open_ms=1000))
    for failed in (True, False, True):  # 2 of 3 failed, but fewer than 4 calls: stays closed
        assert breaker.allow(0.0)
        breaker.record(failed, 0.0)
    assert breaker.state == CLOSED
    breaker.record(False, 0.1)  # 2 of 4: 50%
    assert breaker.state == OPEN and breaker.opened == 1
    assert not breaker.allow(0.5) and not breaker.allow(1.09) and breaker.refused == 2
    assert breaker.allow(1.1) and breaker.state == HALF_OPEN  # open_ms later: a probe goes out


def test_half_open_probes_close_it_or_open_it_again() -> None:
    spec = BreakerSpec(failure_rate=0.5, window_calls=4, minimum_calls=2, open_ms=100, half_open_calls=2)
    breaker = CircuitBreaker(spec)
    breaker.record(True, 0.0)
    breaker.record(True, 0.0)
    assert breaker.state == OPEN
    assert breaker.allow(0.2) and breaker.allow(0.2) and not breaker.allow(0.2)  # two probes, no third
    breaker.record(True, 0.25)  # a probe failed: open again from now
    assert breaker.state == OPEN and breaker.opened == 2 and not breaker.allow(0.3)
    assert breaker.allow(0.36) and breaker.allow(0.36)
    breaker.record(False, 0.4)
    breaker.record(False, 0.4)
    assert breaker.state == CLOSED and breaker.failures == 0 and not breaker.outcomes


def test_the_window_slides() -> None:
    breaker = CircuitBreaker(BreakerSpec(failure_rate=0.5, window_calls=4, minimum_calls=4))
    for failed in (True, False, False, False, True, False, False, False, True):  # never 2 failures in 4 calls
        breaker.record(failed, 0.0)
    assert breaker.state == CLOSED and breaker.failures == 1
    breaker.record(True, 0.0)  # the last four: False, False, True, True
    assert breaker.state == OPEN


def test_minimum_calls_above_the_window_is_named() -> None:
    scenario = load_gallery_scenario("retry-storm").model_dump(mode="json", exclude_unset=True)
    scenario["components"]["api"]["calls"][0]["breaker"] = {"window_calls": 5, "minimum_calls": 10}
    with pytest.raises(ScenarioError) as caught:
        sim.parse_scenario(scenario)
    assert "components.api.calls.0.breaker" in str(caught.value)


def with_breaker(scenario: sim.Scenario) -> sim.Scenario:
    return with_overrides(scenario, {"components.api.calls.0.breaker": {"failure_rate": 0.5, "open_ms": 2000}})


@pytest.mark.parametrize("seed", range(1, 11))
def test_a_breaker_stops_the_retry_storm(seed: int) -> None:
    """Retries without a budget, but a breaker: once most attempts time out it fails calls at once, the
    database drains its queue, and the probes find it healthy: every request after 40 s succeeds."""
    result = sim.run(with_breaker(load_gallery_scenario("retry-storm")), seed=seed)
    records = result.records
    late = records["arrival_s"] >= 40.0
    assert float(np.mean(records["status"][late] == OK)) > 0.99


def test_while_open_nothing_reaches_the_callee() -> None:
    """Open at the spike: the requests failed fast never reach the database, so the database sees fewer
    visits than the api made calls by exactly the short-circuited count, when nothing else drops a call."""
    scenario = with_overrides(with_breaker(load_gallery_scenario("retry-storm")), {"warmup_s": 15, "duration_s": 35})
    result = sim.run(scenario, seed=1)
    api = result.summary.components["api"].model_dump()
    assert api["breaker_opened"] >= 1 and api["short_circuited"] > 100
    attempts = result.summary.components["db"].arrival_rate_rps * result.span_s
    first_attempts = result.summary.components["api"].arrival_rate_rps * result.span_s
    expected = first_attempts + api["retries"] - api["short_circuited"]
    assert attempts == pytest.approx(expected, abs=0.01 * expected + 50)  # + visits cut by the window's ends

"""Load above capacity: the run ends within its budget, memory stays bounded, and the result says so."""

from __future__ import annotations

import numpy as np

import sim
from tests.conftest import single_service


def overloaded(**extra: object) -> sim.Scenario:
    return sim.parse_scenario(single_service(rate_rps=300, mean_ms=10, queue_capacity=500) | {"duration_s": 60}
                              | extra)


def test_overload_is_reported_with_the_component_that_overflowed() -> None:
    result = sim.run(overloaded())
    summary = result.summary
    assert summary["stable"] is False
    assert summary["overflowed"] == ["api"]
    assert summary["bottleneck"]["component"] == "api"
    assert "faster than it can serve them" in summary["bottleneck"]["reason"]
    assert summary["theory"]["components"]["api"]["offered_utilisation"] == 3.0
    # a server 3x overloaded completes a third of the work and drops the rest
    assert summary["components"]["api"]["utilisation"] > 0.99
    assert 0.6 < summary["requests"]["dropped"] / summary["requests"]["offered"] < 0.72


def test_queue_grows_to_its_bound_in_the_time_series() -> None:
    series = sim.run(overloaded()).timeseries()
    queue = np.array(series["stations"]["api"]["queue_length"])
    assert queue[0] < queue[4] < 500 + 1e-9
    assert queue[-10:].mean() > 480  # pinned at the 500-slot bound, never beyond it


def test_request_cap_bounds_memory_and_warns() -> None:
    result = sim.run(overloaded(max_requests=4000, duration_s=600))
    assert result.records["arrival_s"].size <= 4000
    assert result.summary["stable"] is False
    assert "max_requests" in result.summary["warnings"][0]


def test_results_cost_under_forty_bytes_per_request() -> None:
    result = sim.run(sim.parse_scenario(single_service(rate_rps=500, mean_ms=1)))
    records = result.records
    per_request = sum(column.nbytes for column in records.values()) / records["arrival_s"].size
    assert per_request <= 40

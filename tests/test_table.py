"""The provisioned-throughput table: token buckets by exact trace, and the hot partition's throttling by the twin."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from sim.model.status import OK, RETRYABLE, THROTTLED
from sim.twin.equations import entry_traffic
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate
from tests.test_components import build, fixed, trace

SEEDS = range(1, 9)


def skewed_table(**table: Any) -> sim.Scenario:
    """A table as the entry, Zipf keys, 4 partitions: the hottest gets ~1.2x its share of reads."""
    return sim.parse_scenario({
        "duration_s": 40, "warmup_s": 10,  # buckets start full: 200 tokens drain in about 5 s on the hot one
        "workload": {"rate_rps": 1000, "entry": "orders",
                     "keys": {"count": 10000, "distribution": "zipf", "zipf_exponent": 1.1},
                     "classes": [{"name": "read", "weight": 0.75, "operation": "read"},
                                 {"name": "write", "weight": 0.25, "operation": "write"}]},
        "components": {"orders": {"kind": "table", "partitions": 4, "read_capacity_units": 800,
                                  "write_capacity_units": 400, "read_time": fixed(5), "write_time": fixed(8),
                                  **table}}})


def test_token_bucket_throttles_beyond_the_burst_and_refills() -> None:
    model = build({"t": {"kind": "table", "partitions": 1, "read_capacity_units": 2, "write_capacity_units": 1,
                         "burst_s": 1, "read_time": fixed(10), "write_time": fixed(10)}}, "t")
    arrivals = [(0.0, 1, False), (0.0, 2, False), (0.0, 3, False), (0.25, 4, False), (0.5, 5, False),
                (0.5, 6, True), (0.6, 7, True)]
    result = trace(model, "t", arrivals)
    # two tokens at the start; the third read is refused at once; 0.5 tokens by 0.25 s; one token by 0.5 s;
    # writes have their own bucket of one token, refilled at 1/s
    assert result == [(0, 10.0, OK), (1, 10.0, OK), (2, 0.0, THROTTLED), (3, 250.0, THROTTLED), (4, 510.0, OK),
                      (5, 510.0, OK), (6, 600.0, THROTTLED)]
    table = model.components["t"]
    assert (table.offered, table.throttled) == ([7], [3])
    assert THROTTLED in RETRYABLE


def test_hot_partition_throttles_at_the_rate_the_twin_predicts_under_the_table_total() -> None:
    scenario = skewed_table()
    spec = scenario.components["orders"]
    traffic = entry_traffic(scenario, 1000.0)["orders"]
    reads, writes = spec.partition_rates(traffic)
    refused_reads, refused_writes = spec.throttled_rps(traffic)
    assert reads.sum() < spec.read_capacity_units and writes.sum() < spec.write_capacity_units
    hot = int(np.argmax(refused_reads + refused_writes))
    assert refused_reads[hot] > 0.1 * reads[hot]  # the hot partition is well over its share
    predicted_share = float((refused_reads[hot] + refused_writes[hot]) / (reads[hot] + writes[hot]))
    results = replicate(scenario, SEEDS)
    assert_agrees_with_theory("hot partition throttled share",
                              metric(results, lambda r: r.summary.components["orders"].partition_throttled_ratio[hot]),
                              predicted_share, max_relative_half_width=0.05, relative_bias=0.02)
    for result in results:
        shares = result.summary.components["orders"].partition_throttled_ratio
        assert all(share < 0.01 for index, share in enumerate(shares) if index != hot)
        assert result.summary.requests.throttled > 0


def test_adaptive_capacity_lends_the_unused_units_to_the_hot_partition() -> None:
    scenario = skewed_table(adaptive_capacity=True)
    traffic = entry_traffic(scenario, 1000.0)["orders"]
    refused_reads, refused_writes = scenario.components["orders"].throttled_rps(traffic)
    assert refused_reads.sum() == refused_writes.sum() == 0.0  # the table total is under its provisioning
    summary = sim.run(scenario, seed=4).summary
    assert summary.components["orders"].throttled_ratio < 0.002


def test_throttled_requests_are_counted_and_printed() -> None:
    from typer.testing import CliRunner

    from sim.cli.main import app

    outcome = CliRunner().invoke(app, ["run", "scenarios/hot-partition.yaml", "--duration", "10"])
    assert outcome.exit_code == 0, outcome.output
    assert "throttled" in outcome.output
    summary = sim.run(skewed_table(), seed=1).summary
    assert summary.requests.throttled == pytest.approx(
        summary.requests.offered - summary.requests.completed, abs=2)

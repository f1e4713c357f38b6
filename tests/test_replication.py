"""Primary-to-replica replication with lag: stale replica reads against the closed form, read-your-writes, traces."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import sim
from sim.interop.metrics_table import build_metrics_table
from sim.model.status import OK
from sim.scenario.overrides import with_overrides
from sim.theory.quorum import stale_read_probability_fixed_lag
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate
from tests.test_components import build, fixed, trace

SEEDS = range(1, 9)
KEYS, RATE_RPS, WRITE_SHARE, LAG_MS = 20, 400.0, 0.5, 50.0


def lagged(**database: Any) -> sim.Scenario:
    """A database with one replica and plenty of connections (nothing waits), writes shipped after 50 ms."""
    return sim.parse_scenario({
        "duration_s": 40, "warmup_s": 1,
        "workload": {"rate_rps": RATE_RPS, "entry": "db", "keys": {"count": KEYS},
                     "classes": [{"name": "read", "weight": 1 - WRITE_SHARE, "operation": "read"},
                                 {"name": "write", "weight": WRITE_SHARE, "operation": "write"}]},
        "components": {"db": {"kind": "database", "replicas": 1, "pool_size": 64, "read_time": fixed(2),
                              "write_time": fixed(3), "replication_lag": fixed(LAG_MS), **database}}})


def test_stale_share_and_age_match_poisson_writes_with_a_fixed_lag() -> None:
    per_key_write_rps = RATE_RPS * WRITE_SHARE / KEYS
    reads = np.full(KEYS, RATE_RPS * (1 - WRITE_SHARE) / KEYS)
    expected = stale_read_probability_fixed_lag(reads, np.full(KEYS, per_key_write_rps), LAG_MS / 1000)
    assert expected == pytest.approx(1 - math.exp(-per_key_write_rps * LAG_MS / 1000))
    results = replicate(lagged(), SEEDS)
    assert_agrees_with_theory("stale replica reads", metric(results, lambda r: r.summary.components["db"]
                                                            .stale_read_ratio), expected, max_relative_half_width=0.03)
    # the newest missed write is the last Poisson event in the lag window: E = 1/w - d e^{-wd} / (1 - e^{-wd})
    lag_s, w = LAG_MS / 1000, per_key_write_rps
    age_ms = 1000 * (1 / w - lag_s * math.exp(-w * lag_s) / -math.expm1(-w * lag_s))
    assert_agrees_with_theory("stale age ms", metric(results, lambda r: r.summary.components["db"].mean_stale_age_ms),
                              age_ms, max_relative_half_width=0.03)


def test_read_your_writes_sends_recent_keys_to_the_primary_and_removes_staleness() -> None:
    result = sim.run(lagged(read_your_writes_s=0.05), seed=2)
    database = result.summary.components["db"]
    assert database.stale_read_ratio == 0.0
    primary_rps = database.stations["db/primary"].arrival_rate_rps
    predicted = result.summary.theory.components["db"].stations["db/primary"]["mean_response_ms"]
    assert predicted == pytest.approx(3 * 0.5 + 2 * 0.5, rel=0.1)  # reads and writes share the primary
    per_key_write_rps = RATE_RPS * WRITE_SHARE / KEYS
    expected_rps = RATE_RPS * WRITE_SHARE + RATE_RPS * (1 - WRITE_SHARE) * -math.expm1(-per_key_write_rps * 0.05)
    assert primary_rps == pytest.approx(expected_rps, rel=0.03)


def test_a_busy_replica_applies_writes_later() -> None:
    model = build({"db": {"kind": "database", "replicas": 1, "pool_size": 1, "read_time": fixed(30),
                          "write_time": fixed(10), "replication_lag": fixed(5), "replicas_apply_writes": True}}, "db")
    # a read holds the replica 0-30 ms; a write commits at 10 ms, reaches the replica at 15 ms, waits for
    # the read, applies 30-40 ms; a read at 16 ms queues behind the apply and is served 40-70 ms
    result = trace(model, "db", [(0.0, 7, False), (0.0, 7, True), (0.016, 9, False)])
    assert result == [(0, 30.0, OK), (1, 10.0, OK), (2, 70.0, OK)]
    log = model.components["db"].logs[0]
    assert (log.replica_reads, log.stale_reads) == (2, 0) and log.entries == {}
    stale = build({"db": {"kind": "database", "replicas": 1, "pool_size": 4, "read_time": fixed(1),
                          "write_time": fixed(10), "replication_lag": fixed(20)}}, "db")
    trace(stale, "db", [(0.0, 7, True), (0.015, 7, False), (0.031, 7, False), (0.015, 8, False)])
    log = stale.components["db"].logs[0]
    assert (log.replica_reads, log.stale_reads, log.stale_age_total_s) == (3, 1, pytest.approx(0.005))


def test_default_database_keeps_no_replication_state() -> None:
    summary = sim.run(lagged(replication_lag=None), seed=1).summary
    assert summary.components["db"].stale_read_ratio is None


def test_stale_reads_and_their_age_per_read_class() -> None:
    scenario = with_overrides(lagged(), {"workload.classes": [
        {"name": "profile", "weight": 0.3, "operation": "read"}, {"name": "feed", "weight": 0.2, "operation": "read"},
        {"name": "write", "weight": WRITE_SHARE, "operation": "write"}]})
    per_key_write_rps = RATE_RPS * WRITE_SHARE / KEYS
    expected = -math.expm1(-per_key_write_rps * LAG_MS / 1000)  # every class reads the same keys: the same share
    results = replicate(scenario, SEEDS)
    for read_class in ("profile", "feed"):
        ratios = metric(results, lambda run, name=read_class: run.summary.components["db"]
                        .stale_reads_by_class[name]["stale_read_ratio"])
        assert_agrees_with_theory(f"stale {read_class} reads", ratios, expected, max_relative_half_width=0.05)
    database = results[0].summary.components["db"]
    assert set(database.stale_reads_by_class) == {"profile", "feed"}  # the write class reads no replica
    levels = results[0].component_levels["db"]
    for field_name in ("replica_reads", "stale_reads"):
        assert levels.column(f"{field_name}@profile")[-1] + levels.column(f"{field_name}@feed")[-1] == \
            levels.column(field_name)[-1]
    series = build_metrics_table(results[0]).family("sim_component_stale_reads").series
    assert {item.labels.get("class") for item in series} == {None, "profile", "feed", "write"}

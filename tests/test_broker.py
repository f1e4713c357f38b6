"""The broker kind: consumers as M/M/1 queues where exact, partitions capping parallelism, drain time against
the twin, the retention policies, hot partitions, wiring and the summary's documented fields."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import sim
from sim.cli.main import app
from sim.model.keys import key_probabilities
from sim.results.timeseries import timeseries_frame
from sim.scenario.gallery import gallery_paths
from sim.scenario.overrides import with_overrides
from sim.theory import mm1
from sim.theory.flows import Traffic
from tests.stats_helpers import assert_agrees_with_theory, metric, replicate

SEEDS = range(1, 9)


def topic(rate_rps: float = 280.0, partitions: int = 4, consumers: int = 4, mean_ms: float = 10.0,
          duration_s: float = 60.0, **broker: Any) -> dict[str, Any]:
    """A publisher, a topic and one consumer group whose service has a worker per consumer (so it never queues)."""
    return {
        "name": "topic", "duration_s": duration_s, "warmup_s": 5,
        "workload": {"rate_rps": rate_rps, "entry": "api", "keys": {"count": 10000},
                     "classes": [{"name": "order", "weight": 1.0, "operation": "write"}]},
        "components": {
            "api": {"kind": "service", "workers": 8, "service_time": {"distribution": "exponential", "mean_ms": 1},
                    "calls": ["orders"]},
            "orders": {"kind": "broker", "partitions": partitions, "append_latency_ms": 1,
                       "consumers": [{"group": "billing", "service": "billing", "instances": consumers}], **broker},
            "billing": {"kind": "service", "workers": 8,
                        "service_time": {"distribution": "exponential", "mean_ms": mean_ms}},
        },
    }


def event_driven() -> sim.Scenario:
    return sim.load_scenario(gallery_paths()["event-driven"])


def test_each_consumer_is_an_mm1_queue_fed_by_its_partitions_share() -> None:
    """Key hashing splits a Poisson stream at random, and each consumer serves one message at a time with an
    exponential holding time: M/M/1 per consumer, exactly. Lag is its in-system count (Little's law).

    Each replication is compared with M/M/1 at the arrival rate and mean holding time it measured, which
    removes the noise of the arrival count and of the service draws from a quantity that amplifies both by
    1 / (1 - rho).
    """
    scenario = sim.parse_scenario(topic(rate_rps=240, duration_s=150))
    results = replicate(scenario, SEEDS)
    twin = results[0].summary.theory.components["orders"]
    for predicted in (twin.stations or {}).values():
        share_rate = predicted.utilisation * 100.0  # utilisation = rate x 10 ms
        assert predicted.mean_response_ms == pytest.approx(mm1(share_rate, 10.0).mean_response_ms)

    def ratio(result: sim.Result, name: str, field: str) -> float:
        station = result.summary.components["orders"].stations[name]
        return station[field] / getattr(mm1(station.arrival_rate_rps, 1000.0 / station.capacity_rps), field)

    for name in twin.stations or {}:
        for field in ("mean_response_ms", "mean_in_system"):
            assert_agrees_with_theory(f"{name} {field} / M/M/1", metric(
                results, lambda result, name=name, field=field: ratio(result, name, field)), 1.0,
                max_relative_half_width=0.05)

    def lag_ratio(result: sim.Result) -> float:
        broker = result.summary.components["orders"]
        exact = sum(mm1(station.arrival_rate_rps, 1000.0 / station.capacity_rps).mean_in_system
                    for station in broker.stations.values())
        return broker.groups["billing"].mean_lag_messages / exact

    assert_agrees_with_theory("billing lag / M/M/1", metric(results, lag_ratio), 1.0, max_relative_half_width=0.05)
    assert twin.lag_messages["billing"] == pytest.approx(sum(
        mm1(station.utilisation * 100.0, 10.0).mean_in_system for station in (twin.stations or {}).values()))


def test_consumers_beyond_the_partition_count_change_nothing() -> None:
    """A 7th consumer on 6 partitions owns none: same seed, identical requests, events and lag."""
    six = event_driven()
    seven = with_overrides(six, {"components.orders.consumers.0.instances": 7})
    first, second = sim.run(six, seed=3), sim.run(seven, seed=3)
    for column, values in first.records.items():
        assert np.array_equal(values, second.records[column]), column
    for column, values in first.events["orders"].items():
        assert np.array_equal(values, second.events["orders"][column]), column
    groups = first.summary.components["orders"].groups["billing"], second.summary.components["orders"].groups["billing"]
    assert groups[0].model_dump(exclude={"consumers"}) == groups[1].model_dump(exclude={"consumers"})
    assert groups[1].consumers == 7 and groups[1].active_consumers == 6
    idle = second.summary.components["orders"].stations["orders/billing/consumer-6"]
    assert idle.arrival_rate_rps == 0.0 and idle.utilisation == 0.0
    assert any("1 sit idle" in note for note in second.summary.theory.components["orders"].notes)


def test_spike_backlog_drains_in_the_time_the_twin_predicts() -> None:
    """The fluid model: the backlog grows at (spike rate - capacity) and drains at (capacity - base rate)."""
    scenario = event_driven()
    results = replicate(scenario, SEEDS)
    predicted = results[0].summary.theory.components["orders"].drain_time_s["billing"]
    # by hand: 6 consumers x 1 / 24 ms = 250/s; backlog (625 - 250) x 5 s = 1875; to a tenth at 100/s net
    assert predicted == pytest.approx(0.9 * 1875 / 100, rel=0.02)
    drains = metric(results, lambda result: result.summary.components["orders"].groups["billing"].drain_time_s)
    assert_agrees_with_theory("billing drain time", drains, predicted, max_relative_half_width=0.06)
    for result in results:
        summary = result.summary
        assert summary.error_rate == 0.0 and summary.latency_ms.p99 < 50  # the API stays fast...
        assert summary.components["orders"].groups["billing"].event_latency_ms.p99 > 5000  # ...the events wait


@pytest.mark.parametrize(("when_full", "counter"), [("reject", "publish_rejected"), ("block", "publish_blocked"),
                                                    ("drop_oldest", "messages_dropped")])
def test_a_full_retention_bound_follows_its_policy(when_full: str, counter: str) -> None:
    """One slow consumer (offered 150%) fills 50 slots; each policy then acts as documented."""
    scenario = sim.parse_scenario(topic(rate_rps=150, partitions=1, consumers=1, duration_s=20,
                                        retention_messages=50, when_full=when_full))
    result = sim.run(scenario, seed=1)
    broker = result.summary.components["orders"]
    counts = {name: broker[name] for name in ("publish_rejected", "publish_blocked", "messages_dropped")}
    assert counts.pop(counter) > 100 and not any(counts.values())
    assert broker.mean_backlog_messages <= 50
    assert "orders/billing/consumer-0" in result.summary.overflowed
    requests = result.summary.requests
    if when_full == "reject":
        assert requests.dropped > 100  # the publisher was turned away: the request fails
    else:
        assert requests.dropped == 0
    if when_full == "drop_oldest":
        assert broker.groups["billing"].failed_events > 100 and result.summary.latency_ms.p99 < 20
    if when_full == "block":
        assert result.summary.latency_ms.p50 > 100  # publishers wait for a free slot


def test_skewed_keys_make_a_hot_partition_that_the_twin_names() -> None:
    data = topic(rate_rps=330, partitions=4, consumers=4)
    data["workload"]["keys"] = {"count": 1000, "distribution": "zipf", "zipf_exponent": 1.1}
    scenario = sim.parse_scenario(data)
    summary = sim.run(scenario, seed=2).summary
    twin = summary.theory.components["orders"]
    probabilities = key_probabilities(scenario.workload.keys)
    shares = scenario.components["orders"].partition_shares(Traffic(np.zeros_like(probabilities), probabilities))
    broker = summary.components["orders"]
    measured = {name: station.arrival_rate_rps for name, station in broker.stations.items()}
    for share, name in zip(shares, sorted(measured), strict=True):
        assert measured[name] == pytest.approx(share * broker.published_rps, rel=0.05)
    hottest = max(measured, key=measured.__getitem__)
    assert hottest in summary.overflowed and not twin.stable
    assert any(f"{hottest} receives" in note and "cannot keep up" in note for note in twin.notes)


def test_wiring_names_the_consumer_field() -> None:
    data = topic()
    data["components"]["orders"]["consumers"][0]["service"] = "biling"
    with pytest.raises(sim.ScenarioError) as caught:
        sim.parse_scenario(data)
    assert any(problem.path == "components.orders.consumers.0.service" for problem in caught.value.problems)
    twice = topic()
    twice["components"]["orders"]["consumers"].append({"group": "billing", "service": "billing"})
    with pytest.raises(sim.ScenarioError, match="unique"):
        sim.parse_scenario(twice)


def test_lag_event_latency_and_backlog_in_json_schema_and_series() -> None:
    runner = CliRunner()
    outcome = runner.invoke(app, ["run", str(gallery_paths()["event-driven"]), "--json", "--seed", "2"])
    assert outcome.exit_code == 0, outcome.output
    broker = json.loads(outcome.output)["components"]["orders"]
    group = broker["groups"]["billing"]
    assert broker["mean_backlog_messages"] > 100 and group["peak_lag_messages"] > 1000
    assert group["event_latency_ms"]["p99"] > group["event_latency_ms"]["p50"] > 0
    assert set(group["partitions_mean_lag"]) == {str(partition) for partition in range(6)}
    schema = json.loads(runner.invoke(app, ["schema", "--summary"]).output)
    assert "ConsumerGroupStats" in schema["$defs"] and "lag_s" in schema["$defs"]["ConsumerGroupStats"]["properties"]
    series = sim.run(event_driven(), seed=2).timeseries()
    lag = series["components"]["orders"]["lag:billing"]
    time_s = np.asarray(series["time_s"])
    before, peak, after = (max(np.asarray(lag)[mask]) for mask in (time_s < 15, (time_s > 19) & (time_s < 22),
                                                                   time_s > 45))
    assert peak > 20 * max(before, after, 1.0)


def test_the_bottleneck_sentence_names_a_hot_partition() -> None:
    """Zipf keys put 1.83x their share on partition 1 (the key hash, by the twin): its one consumer is offered
    122% of its capacity while the group as a whole has room, and the sentence says so with measured figures."""
    data = topic(rate_rps=400, partitions=6, consumers=6)
    data["workload"]["keys"] = {"count": 200, "distribution": "zipf", "zipf_exponent": 1.2}
    scenario = sim.parse_scenario(data)
    probabilities = key_probabilities(scenario.workload.keys)
    shares = scenario.components["orders"].partition_shares(Traffic(np.zeros_like(probabilities), probabilities))
    assert int(np.argmax(shares)) == 1 and shares[1] * 6 == pytest.approx(1.83, abs=0.01)
    summary = sim.run(scenario, seed=4).summary
    published = summary.components["orders"].partitions_published_rps
    measured_ratio = published["1"] * 6 / sum(published.values())
    assert measured_ratio == pytest.approx(1.83, rel=0.05)
    assert summary.bottleneck is not None and summary.bottleneck.component == "orders/billing/consumer-1"
    assert summary.bottleneck.reason.startswith(f"orders lags because partition 1 receives {measured_ratio:.1f}x "
                                                "its share")
    assert "more consumers cannot split it" in summary.bottleneck.reason


def test_the_bottleneck_sentence_names_too_little_consumer_capacity() -> None:
    """3 consumers on 6 evenly loaded partitions at 10 ms each serve 300/s: 360/s is more than they can."""
    summary = sim.run(sim.parse_scenario(topic(rate_rps=360, partitions=6, consumers=3)), seed=2).summary
    broker = summary.components["orders"]
    assert summary.bottleneck is not None and summary.bottleneck.component.startswith("orders/billing/consumer-")
    holding_ms = 1000.0 / broker.stations[summary.bottleneck.component].capacity_rps
    assert holding_ms == pytest.approx(10.0, rel=0.05)
    assert summary.bottleneck.reason.startswith(f"3 billing consumers cannot keep up with "
                                                f"{broker.arrival_rate_rps:,.0f} events/s at {holding_ms:.1f} ms each")
    assert "add consumers (up to the 6 partitions)" in summary.bottleneck.reason
    assert broker.arrival_rate_rps == pytest.approx(360, rel=0.05)


def test_the_bottleneck_sentence_tells_a_burst_that_drained() -> None:
    summary = sim.run(event_driven(), seed=1).summary
    group = summary.components["orders"].groups["billing"]
    assert summary.bottleneck is not None and summary.stable
    assert summary.bottleneck.reason.startswith("orders lags in bursts: its 6 billing consumers process at most")
    assert f"peak {group.peak_lag_messages:,} messages, drained in {group.drain_time_s:.1f} s" in \
        summary.bottleneck.reason


def test_event_latency_over_time_rises_with_the_spike_and_matches_the_records() -> None:
    result = sim.run(event_driven(), seed=2)
    series = result.timeseries()
    orders = series["components"]["orders"]
    time_s = np.asarray(series["time_s"])
    p99 = np.asarray(orders["event_p99_ms:billing"], dtype=float)
    before, during = p99[time_s < 15].max(), p99[(time_s > 20) & (time_s < 30)].max()
    assert during > 10 * before and before < 1000
    # one bin by hand: the messages billing finished in it, publish to processed
    events = result.events["orders"]
    edges = np.asarray(series["time_s"]) - np.asarray(series["bin_width_s"])
    bin_index = int(np.argmax(p99))
    inside = ((events["done_s"] >= edges[bin_index]) & (events["done_s"] < series["time_s"][bin_index])
              & (events["group"] == 0) & (events["status"] == 0))
    latency_ms = (events["done_s"] - events["published_s"])[inside] * 1000.0
    for level in (50, 95, 99):
        assert orders[f"event_p{level}_ms:billing"][bin_index] == pytest.approx(np.percentile(latency_ms, level))
    frame = timeseries_frame(result)
    assert "orders:event_p99_ms:billing" in set(frame["series"])


@pytest.mark.parametrize("partitions", [1, 6])
def test_a_blocking_topic_admits_what_its_tightest_consumer_frees(partitions: int) -> None:
    """when_full: block, offered more than the consumers can do: once retention is full a publish is admitted
    per slot freed, so publishers get the tightest consumer's capacity over its share of the messages, and the
    publisher's 8 workers all wait at the topic: a publish takes 8 / that rate (Little's law; the API's own
    0.2 ms per request, spent outside, is the allowed bias). One partition: 100/s and 80 ms. Six with Zipf keys:
    the hot partition's consumer (30.5% of the messages) limits them to 100 / 0.305 = 328/s."""
    data = topic(rate_rps=150 if partitions == 1 else 400, partitions=partitions, consumers=partitions,
                 duration_s=80, retention_messages=50 if partitions == 1 else 200, when_full="block")
    data["warmup_s"] = 20  # the hot partition's slots fill within about 10 s; the steady state comes after
    data["components"]["api"]["service_time"]["mean_ms"] = 0.2
    if partitions > 1:
        data["workload"]["keys"] = {"count": 200, "distribution": "zipf", "zipf_exponent": 1.2}
    scenario = sim.parse_scenario(data)
    probabilities = key_probabilities(scenario.workload.keys)
    shares = scenario.components["orders"].partition_shares(Traffic(np.zeros_like(probabilities), probabilities))
    results = replicate(scenario, range(1, 7))
    twin = results[0].summary.theory.components["orders"]
    assert twin.publish_limit_rps == pytest.approx(100.0 / shares.max())
    assert twin.blocked_publish_ms == pytest.approx(1000.0 * 8 / twin.publish_limit_rps)
    assert any(note.startswith("when_full: block") for note in twin.notes)
    assert_agrees_with_theory("blocked throughput", metric(results, lambda result: result.summary.throughput_rps),
                              twin.publish_limit_rps, max_relative_half_width=0.02)
    assert_agrees_with_theory("blocked publish latency", metric(
        results, lambda result: result.summary.components["orders"].mean_response_ms), twin.blocked_publish_ms,
        max_relative_half_width=0.02, relative_bias=0.01)
    for result in results:
        assert result.summary.components["orders"].publish_blocked > 1000


def test_lag_in_seconds_per_partition_is_littles_law() -> None:
    """A partition's mean lag over its consume rate is the mean time its messages spend after the append
    (Little's law): the event latency of its messages less the 1 ms append, per partition and per bin."""
    result = sim.run(sim.parse_scenario(topic(rate_rps=240, duration_s=120)), seed=5)
    group = result.summary.components["orders"].groups["billing"]
    events = result.events["orders"]
    measured = (events["published_s"] >= result.scenario.warmup_s) & (events["status"] == 0)
    for partition, lag_s in group.partitions_lag_s.items():
        mine = measured & (events["partition"] == int(partition))
        after_append_s = float(np.mean(events["done_s"][mine] - events["published_s"][mine])) - 0.001
        assert lag_s == pytest.approx(after_append_s, rel=0.03), partition
    series = result.timeseries()["components"]["orders"]
    assert {f"lag_s:billing:partition-{partition}" for partition in range(4)} <= set(series)
    assert np.nanmean(np.asarray(series["lag_s:billing:partition-0"], dtype=float)) == pytest.approx(
        group.partitions_lag_s["0"], rel=0.1)

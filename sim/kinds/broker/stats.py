"""A broker's statistics over the measured window, typed for the run summary, and its series over time.

Lag is what Kafka calls it: messages appended but not yet processed by a group (waiting or being processed),
integrated exactly over time; in seconds it is the lag over the group's consume rate (Little's law). The peak
lag and the drain time come from the event records: the group's lag at every append and every finish, so a
spike's backlog and how long it took to clear are measured exactly, not sampled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from sim.model.latency import binned_percentiles, percentiles_ms
from sim.model.status import OK
from sim.model.summary_base import LatencyStats, SummaryModel
from sim.theory.backlog import peak_and_drain as backlog_peak_and_drain

if TYPE_CHECKING:
    from sim.kinds.broker.spec import BrokerSpec

DRAINED_FRACTION = 0.1  # a backlog has drained when it is back to a tenth of its peak
MIN_BACKLOG_MESSAGES = 50  # a smaller peak is ordinary queueing, not a backlog to drain


class ConsumerGroupStats(SummaryModel):
    """One consumer group over the measured window."""

    service: str = Field(description="the service that processes its messages")
    consumers: int = Field(description="consumer instances in the group")
    active_consumers: int = Field(description="consumers that own at least one partition (the rest sit idle)")
    consume_rate_rps: float = Field(description="messages processed per second")
    mean_lag_messages: float = Field(description="time-average of messages appended but not yet processed")
    lag_s: float | None = Field(description="mean lag over the consume rate (Little's law): how far behind it runs")
    peak_lag_messages: int = Field(description="the largest lag inside the window")
    drain_time_s: float | None = Field(description=f"from the peak lag until the lag is back to "
                                                   f"{DRAINED_FRACTION:.0%} of it (null: no backlog of "
                                                   f"{MIN_BACKLOG_MESSAGES}+ messages, or not drained in the window)")
    failed_events: int = Field(description="messages published in the window that did not end OK (the consumer "
                                           "answered an error, or drop_oldest discarded them unread)")
    event_latency_ms: LatencyStats = Field(description="publish to processed, of the messages published in the "
                                                   "window and processed")
    partitions_mean_lag: dict[str, float] = Field(description="time-average lag per partition")
    partitions_lag_s: dict[str, float | None] = Field(description="per partition, its mean lag over its consume "
                                                                 "rate (null: it consumed nothing)")


STATS_FIELDS: dict[str, tuple[Any, str]] = {
    "published_rps": (float, "messages appended per second"),
    "publish_rejected": (int, "publishes answered DROPPED because the retention bound was full (when_full: reject)"),
    "publish_blocked": (int, "publishes held until a slot freed (when_full: block)"),
    "messages_dropped": (int, "messages discarded unread to make room (when_full: drop_oldest)"),
    "partitions_published_rps": (dict[str, float], "messages appended per second to each partition (a hot "
                                                   "partition receives more than its 1 / partitions share)"),
    "mean_backlog_messages": (float, "time-average of messages some group has not yet processed (retained)"),
    "groups": (dict[str, ConsumerGroupStats], "per consumer group: lag, event latency, drain time"),
}


def window_statistics(spec: BrokerSpec, counters: Mapping[str, float], events: Mapping[str, Any], start_s: float,
                      end_s: float) -> dict[str, Any]:
    """The broker's ``STATS_FIELDS`` over ``[start_s, end_s)`` from its counter changes and event records."""
    span_s = end_s - start_s
    groups = {}
    for index, consumer in enumerate(spec.consumers):
        name = consumer.group
        mask = events["group"] == index
        done_s, status, published_s = events["done_s"][mask], events["status"][mask], events["published_s"][mask]
        consume_rate = counters[f"{name}:processed"] / span_s
        mean_lag = counters[f"{name}:lag_area"] / span_s
        peak, drain_s = peak_and_drain(events["appended_s"], done_s, start_s, end_s)
        measured = (published_s >= start_s) & (published_s < end_s)
        groups[name] = {
            "service": consumer.service,
            "consumers": consumer.instances,
            "active_consumers": min(consumer.instances, spec.partitions),
            "consume_rate_rps": consume_rate,
            "mean_lag_messages": mean_lag,
            "lag_s": mean_lag / consume_rate if consume_rate > 0 else None,
            "peak_lag_messages": peak,
            "drain_time_s": drain_s,
            "failed_events": int(np.count_nonzero(measured & (status != OK) & (done_s < end_s))),
            "event_latency_ms": percentiles_ms((done_s - published_s)[measured & (status == OK)] * 1000.0),
            "partitions_mean_lag": {str(partition): counters[f"{name}:partition-{partition}:lag_area"] / span_s
                                    for partition in range(spec.partitions)},
            "partitions_lag_s": {str(partition): _ratio(counters[f"{name}:partition-{partition}:lag_area"],
                                                        counters[f"{name}:partition-{partition}:processed"])
                                 for partition in range(spec.partitions)},
        }
    return {
        "published_rps": counters["published"] / span_s,
        "publish_rejected": int(counters["publish_rejected"]),
        "publish_blocked": int(counters["publish_blocked"]),
        "messages_dropped": int(counters["messages_dropped"]),
        "partitions_published_rps": {str(partition): counters[f"partition-{partition}:appended"] / span_s
                                     for partition in range(spec.partitions)},
        "mean_backlog_messages": counters["backlog_area"] / span_s,
        "groups": groups,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def peak_and_drain(appended_s: np.ndarray, done_s: np.ndarray, start_s: float,
                   end_s: float) -> tuple[int, float | None]:
    """A group's largest lag inside the window, and how long after it the lag fell to ``DRAINED_FRACTION`` of it.

    The lag changes only at appends (+1) and finishes (-1), so evaluating it just after each of those instants
    inside the window gives its exact path; messages appended before the window count too.
    """
    instants = np.concatenate([appended_s[(appended_s >= start_s) & (appended_s < end_s)],
                               done_s[(done_s >= start_s) & (done_s < end_s)], [start_s]])
    instants.sort()
    lag = (np.searchsorted(appended_s, instants, side="right")
           - np.searchsorted(np.sort(done_s), instants, side="right"))
    peak, drain_s = backlog_peak_and_drain(instants, lag, DRAINED_FRACTION, MIN_BACKLOG_MESSAGES)
    return int(peak), drain_s


def lag_series(spec: BrokerSpec, fields: tuple[str, ...], values: np.ndarray, widths: np.ndarray) -> dict[str, list]:
    """Per bin: the backlog, blocked publishers, and each group's lag in messages and seconds, and per partition."""
    def level(field: str) -> np.ndarray:
        return np.diff(values[:, fields.index(field)]) / widths

    series: dict[str, list] = {"backlog": level("backlog_area").tolist(), "blocked": level("blocked_area").tolist()}
    for consumer in spec.consumers:
        name = consumer.group
        series[f"lag:{name}"], series[f"lag_s:{name}"] = lag_in_messages_and_seconds(level, name)
        for partition in range(spec.partitions):
            scope = f"{name}:partition-{partition}"
            series[f"lag:{scope}"], series[f"lag_s:{scope}"] = lag_in_messages_and_seconds(level, scope)
    return series


def lag_in_messages_and_seconds(level: Callable[[str], np.ndarray], scope: str) -> tuple[list, list]:
    """Per bin, the mean lag of ``scope`` (a group, or a group's partition) and that lag over its consume rate
    (Little's law; None in a bin where it consumed nothing)."""
    lag, rate = level(f"{scope}:lag_area"), level(f"{scope}:processed")
    return lag.tolist(), [value / speed if speed > 0 else None for value, speed in zip(lag, rate, strict=True)]


def event_latency_series(spec: BrokerSpec, events: Mapping[str, Any], edges_s: np.ndarray) -> dict[str, list]:
    """Per bin and group: p50, p95 and p99 event latency (publish to processed) of the messages the group
    finished in that bin, as ``event_p95_ms:billing``; None for a bin where it finished none."""
    edges_s = np.asarray(edges_s)
    bins = edges_s.size - 1
    series: dict[str, list] = {}
    for index, consumer in enumerate(spec.consumers):
        mine = (events["group"] == index) & (events["status"] == OK)
        done_s, published_s = events["done_s"][mine], events["published_s"][mine]
        bin_index = np.searchsorted(edges_s, done_s, side="right") - 1
        inside = (bin_index >= 0) & (bin_index < bins)
        latency_ms = (done_s - published_s)[inside] * 1000.0
        for key, values in binned_percentiles(bin_index[inside], latency_ms, bins).items():
            series[f"event_{key}:{consumer.group}"] = values
    return series

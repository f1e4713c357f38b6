"""A broker's Prometheus series: its level fields under ``sim_broker_*`` names with group and partition labels,
and each consumer group's event latency as a histogram.

The runtime's field names carry the group and the partition (``billing:partition-3:lag_area``); Prometheus
wants them as labels on one metric family (``sim_broker_partition_lag_messages{group="billing",
partition="3"}``), so a query can sum or pick them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sim.model.status import OK

if TYPE_CHECKING:
    from sim.kinds.broker.spec import BrokerSpec

# field (the part after any group and partition) -> (metric name, help)
BROKER_FIELDS = {
    "published": ("sim_broker_published_messages", "Messages appended to the topic"),
    "publish_rejected": ("sim_broker_rejected_publishes", "Publishes refused because retention was full (reject)"),
    "publish_blocked": ("sim_broker_blocked_publishes", "Publishes held until retention had room (block)"),
    "messages_dropped": ("sim_broker_dropped_messages", "Messages discarded unread to make room (drop_oldest)"),
    "backlog_area": ("sim_broker_backlog_messages", "Messages retained, not yet processed by every group"),
    "blocked_area": ("sim_broker_blocked_publishers", "Publishers waiting for retention to have room"),
    "appended": ("sim_broker_partition_published_messages", "Messages appended to the partition"),
    "processed": ("sim_broker_consumed_messages", "Messages the consumer group processed"),
    "lag_area": ("sim_broker_consumer_lag_messages", "Messages appended but not yet processed by the group"),
}
PARTITION_LAG = ("sim_broker_partition_lag_messages", "Messages of the partition not yet processed by the group")
EVENT_LATENCY = ("sim_broker_event_latency_seconds", "Publish to processed, of the messages the group processed")


def metric_field(spec: BrokerSpec, field: str) -> tuple[str, dict[str, str], str] | None:
    """The family and labels of a broker field: ``[group:][partition-N:]name`` (see ``Broker.extra_fields``)."""
    *scopes, base = field.split(":")
    labels: dict[str, str] = {}
    for scope in scopes:
        if scope.startswith("partition-"):
            labels["partition"] = scope.removeprefix("partition-")
        else:
            labels["group"] = scope
    if base == "lag_area" and "partition" in labels:
        return PARTITION_LAG[0], labels, PARTITION_LAG[1]
    known = BROKER_FIELDS.get(base)
    return None if known is None else (known[0], labels, known[1])


def metric_histograms(spec: BrokerSpec, events: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str], Any, Any]]:
    """Per consumer group, the event latency of the messages it processed OK, observed when it finished them."""
    histograms = []
    for index, consumer in enumerate(spec.consumers):
        mine = (events["group"] == index) & (events["status"] == OK)
        done_s = events["done_s"][mine]
        histograms.append((EVENT_LATENCY[0], EVENT_LATENCY[1], {"group": consumer.group}, done_s,
                           done_s - events["published_s"][mine]))
    return histograms

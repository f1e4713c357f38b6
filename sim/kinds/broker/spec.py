"""The ``kind: broker`` spec: a Kafka-like topic with partitions, a retention bound and consumer groups.

Publishing is a call like any other (``calls: [orders]`` on a service): the broker answers after the append and
the message then lives on its own. The partition comes from the request's key (the project's one key hash), so
skewed keys make a hot partition, or round robin. Each consumer group reads every message; its consumer
instances split the partitions as Kafka's range assignor does (consumers beyond the partition count sit idle),
and each consumer is a one-server station whose queue is its lag. Runtime: ``runtime.py``; twin: ``twin.py``;
window statistics and series: ``stats.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.kinds.broker.diagnosis import bottleneck_reason
from sim.kinds.broker.metrics import metric_field, metric_histograms
from sim.kinds.broker.runtime import Broker
from sim.kinds.broker.stats import STATS_FIELDS, event_latency_series, lag_series, window_statistics
from sim.kinds.broker.twin import difference_reasons, predict_broker
from sim.model.base import ComponentName, LatencyMs, Price, StrictModel
from sim.model.keys import mix_keys
from sim.model.knobs import Knob, integer_knob
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory

MAX_PARTITIONS = 128
MAX_GROUPS = 8
MAX_RETENTION_MESSAGES = 10_000_000
RETENTION_CHOICES = (100, 1_000, 10_000, 100_000, 1_000_000)
GroupName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class ConsumerSpec(StrictModel):
    """One consumer group of a topic: the service that processes its messages, and how many consumers it runs."""

    group: GroupName
    service: ComponentName
    instances: Annotated[int, Field(ge=1, le=1024)] = 1


class BrokerSpec(ComponentSpecBase):
    """A topic split into ``partitions``; appends take ``append_latency_ms``; consumer groups read every message.

    ``retention_messages`` bounds the messages some group has not yet processed; when it is full, ``when_full``
    decides: ``reject`` answers the publisher DROPPED (turned away, like a full queue), ``block`` holds the
    publisher until a slot frees, ``drop_oldest`` discards the oldest message still waiting (lost to its groups).
    """

    kind: Literal["broker"]
    partitions: Annotated[int, Field(ge=1, le=MAX_PARTITIONS)] = 6
    partition_by: Literal["key", "round_robin"] = "key"
    append_latency_ms: LatencyMs = 2.0
    retention_messages: Annotated[int, Field(ge=1, le=MAX_RETENTION_MESSAGES)] = 100_000
    when_full: Literal["reject", "block", "drop_oldest"] = "reject"
    consumers: Annotated[list[ConsumerSpec], Field(max_length=MAX_GROUPS)] = Field(default_factory=list)
    price_per_partition_hour: Price = 0.0

    summary: ClassVar[str] = ("a Kafka-like topic: partitions by key or round robin, a retention bound, consumer "
                              "groups whose consumers own partitions; publishers get an answer after the append")
    reference_fields: ClassVar[tuple[str, ...]] = ("consumers",)
    stats_fields: ClassVar[dict[str, tuple[Any, str]]] = STATS_FIELDS

    @model_validator(mode="after")
    def _unique_groups(self) -> BrokerSpec:
        names = [consumer.group for consumer in self.consumers]
        if len(set(names)) != len(names):
            raise ValueError("consumer group names must be unique within a broker")
        return self

    # --- wiring -------------------------------------------------------------------------------------

    @classmethod
    def raw_references(cls, block: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """Each consumer group's ``service`` (``consumers.<index>.service``)."""
        consumers = block.get("consumers")
        if not isinstance(consumers, list):
            return []
        return [(f"consumers.{index}.service", _field(consumer, "service")) for index, consumer in enumerate(consumers)
                if _field(consumer, "service") is not None]

    # --- runtime ------------------------------------------------------------------------------------

    def consumer_station_names(self, name: str, group: int) -> list[str]:
        """The stations of one group's consumers, e.g. ``orders/billing/consumer-2``."""
        consumer = self.consumers[group]
        return [f"{name}/{consumer.group}/consumer-{index}" for index in range(consumer.instances)]

    def station_names(self, name: str) -> list[str]:
        return [station for group in range(len(self.consumers)) for station in self.consumer_station_names(name, group)]

    def partition_owners(self, consumers: int) -> list[int]:
        """Partition -> consumer index, as Kafka's range assignor: contiguous ranges, the first ones one longer."""
        per_consumer, extra = divmod(self.partitions, consumers)
        owners = []
        for consumer in range(min(consumers, self.partitions)):
            owners += [consumer] * (per_consumer + (1 if consumer < extra else 0))
        return owners

    def partition_shares(self, traffic: Traffic) -> np.ndarray:
        """Each partition's share of the messages: by the key hash the runtime uses, or equal (round robin)."""
        per_key = traffic.read_rps + traffic.write_rps
        if self.partition_by == "round_robin" or per_key.sum() <= 0:
            return np.full(self.partitions, 1.0 / self.partitions)
        partition_of_key = (mix_keys(np.arange(per_key.size)) % np.uint64(self.partitions)).astype(np.int64)
        shares = np.bincount(partition_of_key, weights=per_key, minlength=self.partitions)
        return shares / per_key.sum()

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Broker:
        return Broker(env, name, self, streams)

    def event_stats(self, counters: Mapping[str, float], events: Mapping[str, Any], start_s: float,
                    end_s: float) -> dict[str, Any]:
        return window_statistics(self, counters, events, start_s, end_s)

    def level_series(self, fields: tuple[str, ...], values: Any, widths: Any) -> dict[str, list[float]]:
        return lag_series(self, fields, values, widths)

    def event_series(self, events: Mapping[str, Any], edges_s: Any) -> dict[str, list[float | None]]:
        return event_latency_series(self, events, edges_s)

    def metric_field(self, field: str) -> tuple[str, dict[str, str], str] | None:
        return metric_field(self, field)

    def metric_histograms(self, events: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str], Any, Any]]:
        return metric_histograms(self, events)

    # --- theory -------------------------------------------------------------------------------------

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        return predict_broker(self, name, traffic, context)

    def concurrency_passed_on(self, inside: float) -> float:
        """Its consumers, not its publishers, call the consumer services: one message each at a time."""
        return float(sum(min(consumer.instances, self.partitions) for consumer in self.consumers))

    # --- money and teaching -------------------------------------------------------------------------

    def hourly_cost(self) -> float:
        return self.partitions * self.price_per_partition_hour

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        knobs = [integer_knob(name, "partitions", self.partitions, 1, MAX_PARTITIONS,
                              "Partitions of the topic: the most consumers of one group that can work at once.")]
        for index, consumer in enumerate(self.consumers):
            knob = integer_knob(name, f"consumers.{index}.instances", consumer.instances, 1, 1024,
                                f"Consumers in group {consumer.group} (beyond the partition count they sit idle).")
            knobs.append(Knob(knob.path, f"{name}: {consumer.group} consumers", knob.kind, knob.value, knob.minimum,
                              knob.maximum, knob.step, component=name, help=knob.help))
        sizes = tuple(sorted({*RETENTION_CHOICES, self.retention_messages}))
        knobs.append(Knob(f"components.{name}.retention_messages", f"{name}: retention (messages)", "ordered",
                          self.retention_messages, options=sizes, option_labels=tuple(f"{size:,}" for size in sizes),
                          component=name, help=f"Unprocessed messages the topic holds; when full: {self.when_full}."))
        return knobs

    def describe(self, stats: StatsView) -> str:
        groups = ", ".join(f"{consumer.group}×{consumer.instances}" for consumer in self.consumers)
        return f"{self.partitions} partitions" + (f"; {groups}" if groups else "")

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        return difference_reasons(self, stats, scenario)

    def bottleneck_reason(self, name: str, station: str, stats: StatsView,
                          theory: ComponentTheory | None) -> str | None:
        return bottleneck_reason(self, name, station, stats, theory)


def _field(item: Any, key: str) -> Any:
    """A key of a consumer entry, whether data as written (a mapping) or a validated ``ConsumerSpec``."""
    if isinstance(item, Mapping):
        return item.get(key)
    return getattr(item, key, None)

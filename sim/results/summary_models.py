"""The typed run summary: what ``--json`` prints, the app shows, and experiments, lessons and figures read.

Readers use attributes (``summary.latency_ms.p99``, ``summary.components["db"].utilisation``). A field that does
not apply to a run (a cache's hit ratio on a service, the per-station table of a one-station component) is left
unset and stays out of the JSON, so ``to_data()`` gives exactly the document ``--json`` prints. Item access
(``summary["latency_ms"]["p99"]``) reads the same fields, for notebooks and dotted metric paths.

Each kind may add its own statistics to its components (``stats_fields`` in its module); the component model
of a kind is this module's ``ComponentStats`` with those fields added (``component_stats_model``).
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import ConfigDict, Field, SerializeAsAny, create_model

from sim.kinds.registry import KINDS
from sim.model.summary_base import LatencyStats, SummaryModel


class RequestCounts(SummaryModel):
    """Requests that arrived in the measured window, by how they ended."""

    offered: int = Field(description="arrived in the window (finished or not)")
    completed: int = Field(description="answered successfully")
    failed: int = Field(description="answered with an error")
    dropped: int = Field(description="turned away by a full queue")
    timed_out: int = Field(description="their caller stopped waiting")
    unfinished: int = Field(description="still in flight when the drain budget ended")
    throttled: int = Field(0, description="refused for want of provisioned capacity (retryable); present when any were")


class StationStats(SummaryModel):
    """One station (an instance, a database node) over the measured window."""

    servers: int
    utilisation: float | None = Field(description="time-weighted busy share of its servers")
    arrival_rate_rps: float
    throughput_rps: float
    capacity_rps: float | None = Field(None, description="servers / mean service time, measured")
    mean_queue_length: float
    mean_in_system: float | None = None
    mean_wait_ms: float
    mean_response_ms: float | None = None
    dropped: int


class ComponentStats(SummaryModel):
    """One component over the measured window: its visits, and the totals of its stations."""

    kind: str
    arrival_rate_rps: float
    throughput_rps: float
    mean_in_system: float
    mean_response_ms: float
    mean_wait_ms: float = Field(description="waiting for a worker or connection")
    failed: int
    servers: int
    utilisation: float | None = Field(description="null for components that hold no servers (caches, balancers)")
    capacity_rps: float | None = None
    mean_queue_length: float
    dropped: int
    stations: dict[str, StationStats] | None = Field(None, description="per station, when there are several")
    busiest_station_utilisation: float | None = None
    imbalance: float | None = Field(None, description="busiest station's utilisation over the idlest's")


def component_stats_model(kind: str) -> type[ComponentStats]:
    """``ComponentStats`` with the kind's own statistics (e.g. a cache's ``hit_ratio``) added."""
    spec_class = KINDS.get(kind)
    fields = spec_class.stats_fields if spec_class is not None else {}
    return _stats_model(_stats_model_name(kind), tuple(fields.items())) if fields else ComponentStats


def _stats_model_name(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_")) + "Stats"


@functools.cache
def _stats_model(name: str, fields: tuple[tuple[str, tuple[type, str]], ...]) -> type[ComponentStats]:
    definitions: dict[str, Any] = {field: (field_type | None, Field(None, description=description))
                                   for field, (field_type, description) in fields}
    model = create_model(name, __base__=ComponentStats, __module__=__name__, **definitions)
    globals()[name] = model  # so pickle (the app's cache, process pools) finds the class by name
    return model


def __getattr__(name: str) -> Any:
    """Kind statistics models are made on first use; unpickling in a fresh process asks for them by name."""
    for kind in KINDS:
        if _stats_model_name(kind) == name and component_stats_model(kind) is not ComponentStats:
            return component_stats_model(kind)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Bottleneck(SummaryModel):
    """The busiest station and one plain sentence of why."""

    component: str
    reason: str


class OverloadEntry(SummaryModel):
    """A station that cannot keep up: offered load against capacity, and how fast its queue grew."""

    component: str
    station: str
    offered_rps: float
    capacity_rps: float | None
    theory_capacity_rps: float | None = None
    queue_growth_rps: float
    dropped_rps: float
    waits_on: list[str]
    message: str


class StationPredictionSummary(SummaryModel):
    """The twin's prediction for one station of a component with several."""

    utilisation: float | None
    mean_response_ms: float | None


class ComponentPrediction(SummaryModel):
    """The analytic twin's prediction for one component."""

    kind: str
    arrival_rate_rps: float
    mean_response_ms: float | None = None
    utilisation: float | None = None
    mean_wait_ms: float | None = None
    stable: bool = True
    model: str = ""
    notes: list[str] = Field(default_factory=list)
    hit_ratio: float | None = None
    offered_utilisation: float | None = None
    p99_response_ms: float | None = Field(
        default=None, description="the twin's 99th percentile of the response, where it builds the distribution "
                                  "(a service whose calls have a group step)")
    stations: dict[str, StationPredictionSummary] | None = None
    lag_messages: dict[str, float | None] | None = Field(
        default=None,
        description="a broker's: mean lag per consumer group (messages, Little's law; null when unstable)")
    drain_time_s: dict[str, float | None] | None = Field(
        default=None,
        description="a broker's: per consumer group, seconds from the peak backlog of the workload's profile until "
                    "it is back to a tenth of it (fluid model; null without a backlog)")
    publish_limit_rps: float | None = Field(
        default=None,
        description="a broker with when_full: block whose consumers cannot keep up: the publishes it admits per "
                    "second once retention is full, min over consumers of capacity / share of the messages")
    blocked_publish_ms: float | None = Field(
        default=None,
        description="then the publish latency: the publishers' concurrency (their workers) over that rate, by "
                    "Little's law (null when the publishers are unbounded)")
    cold_start_ratio: float | None = Field(
        default=None, description="a function's: share of invocations that start an instance (M/G/∞ with "
                                  "keep-alive, window maximum)")
    mean_warm_instances: float | None = Field(
        default=None, description="a function's: instances alive, busy or warm idle, on average")


class TheorySummary(SummaryModel):
    """The analytic twin: per component, and the mean end-to-end latency (None when something saturates)."""

    arrival_rate_rps: float
    components: dict[str, ComponentPrediction]
    mean_latency_ms: float | None
    notes: list[str] | None = None


class SloResult(SummaryModel):
    """One objective of the scenario's ``slos``, with its measured value and verdict."""

    slo: str
    metric: str
    value: float | None
    threshold: float
    passed: bool


class StopSummary(SummaryModel):
    """The limit that ended a run early (``sim.model.limits.Stop``): its name and value, when, and what to do."""

    limit: str = Field(description="max_events, max_wall_time_s, max_records, max_memory_mb or cancelled")
    value: float
    at_s: float = Field(description="simulated second at which the run stopped")
    message: str


class RunSummary(SummaryModel):
    """Everything a reader needs about one run (see the README's table of these keys)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "Run summary"})

    scenario: str
    seed: int
    duration_s: float
    warmup_s: float
    measured_s: float = Field(description="length of the measured window [warmup_s, end)")
    stable: bool | None = Field(description="false when a station cannot keep up; null when the run is too short "
                                            "to say")
    overflowed: list[str] = Field(description="stations that could not keep up")
    overload: list[OverloadEntry]
    requests: RequestCounts
    throughput_rps: float = Field(description="successful requests departing in the window, per second")
    error_rate: float = Field(description="share of offered requests that did not complete")
    latency_ms: LatencyStats
    mean_wait_ms: float | None = Field(description="queueing delay per request, summed over every station it waited at")
    components: dict[str, SerializeAsAny[ComponentStats]]
    bottleneck: Bottleneck | None
    theory: TheorySummary
    cost_per_hour: float
    wall_time_s: float = Field(description="how long the simulation took (the only field that varies by machine)")
    no_verdict: str | None = Field(None, description="why the run is too short for a verdict, and what to change")
    slos: list[SloResult]
    slos_passed: bool
    stopped: StopSummary | None = Field(None, description="the limit that ended the run early, if one did")
    warnings: list[str] | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RunSummary:
        """A summary from the plain data ``to_data()`` gives (components typed by their kind)."""
        components = {name: component_stats_model(stats["kind"]).model_validate(stats)
                      for name, stats in data.get("components", {}).items()}
        return cls.model_validate({**data, "components": components})


def summary_json_schema() -> dict[str, Any]:
    """The JSON Schema of a run summary (``python -m sim schema --summary``), each kind's statistics included."""
    schema = RunSummary.model_json_schema()
    variants = []
    for kind in KINDS:
        kind_schema = component_stats_model(kind).model_json_schema()
        schema["$defs"].update(kind_schema.pop("$defs", {}))
        properties = {**kind_schema["properties"], "kind": {"const": kind, "title": "Kind", "type": "string"}}
        variants.append({**kind_schema, "properties": properties, "title": f"{kind} component"})
    schema["properties"]["components"]["additionalProperties"] = {"oneOf": variants}
    return schema

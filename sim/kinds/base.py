"""The contract every component kind fulfils: one spec class that knows everything about its kind.

A kind is one module (``sim/kinds/service.py``, ``cache.py``, ...). Its spec class, a pydantic model with
``kind: Literal["..."]``, carries beside its fields the methods below; the module also holds the runtime class
the spec builds. Everything outside ``sim/kinds`` calls these methods and never asks which kind a spec is:

- wiring: ``reference_fields`` (its fields that name other components), from which ``downstream`` (the
  components it sends requests to) and ``raw_references`` (the same, read from data not yet valid) follow, and
  ``reference_problems`` (what it may not be wired to);
- runtime: ``station_names`` (used by the runtime *and* the twin, so simulation and theory meet by construction)
  and ``build`` (the runtime object for one replication);
- results: ``stats_fields`` and ``window_stats`` (statistics of its own, such as a cache's hit ratio), with
  ``event_stats`` (those that need per-event records), ``level_series`` and ``event_series`` (time series of its
  own, from its counters and from its event records);
- theory: ``route`` (the traffic it passes on) and ``predict`` (its analytic twin), see ``sim.twin``;
- money: ``hourly_cost``, ``usage_cost_per_hour`` (a run's measured per-use cost) and ``capacity``;
- monitoring: ``metric_field`` and ``metric_histograms`` (Prometheus names and labels for its own series);
- teaching: ``knobs`` (controls for the app), ``describe`` (a line for the diagram), ``difference_reasons``
  (why simulation and theory may disagree) and ``bottleneck_reason`` (why its station limits the system).

``sim.kinds.registry`` lists the kinds; a new kind is a new module registered there (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, get_args

from sim.model.base import StrictModel
from sim.model.errors import Problem
from sim.model.faults import FaultSpec
from sim.model.knobs import Knob
from sim.model.workload import WorkloadSpec

if TYPE_CHECKING:
    from sim.runtime.component import Component
    from sim.runtime.rng import RandomStreams
    from sim.runtime.scheduler import Scheduler
    from sim.theory.flows import Traffic
    from sim.theory.predictions import ComponentTheory

CAPACITY_UNITS = ("workers", "connections", "cache_keys")


class ScenarioView(Protocol):
    """What a kind may read of the scenario around it: the other components and the workload."""

    @property
    def components(self) -> Mapping[str, ComponentSpecBase]: ...

    @property
    def workload(self) -> WorkloadSpec: ...

    @property
    def warmup_s(self) -> float: ...

    @property
    def duration_s(self) -> float: ...


class StatsView(Protocol):
    """A component's measured statistics as a kind reads them: plain data or the summary's typed model."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __getitem__(self, key: str) -> Any: ...


@dataclass
class TwinContext:
    """What a kind's twin may use besides its own traffic; filled by ``sim.twin`` as it works through the graph.

    Attributes:
        scenario: The scenario (its components and workload).
        predictions: Predictions made so far; callees come before their callers, so a kind finds its own.
        concurrency: The most visits that can be inside each component at once (``sim.twin.equations``).
        routed: Whatever a kind worked out while routing (a cache's hit ratio), by component name.
    """

    scenario: ScenarioView
    predictions: dict[str, ComponentTheory] = field(default_factory=dict)
    concurrency: dict[str, float] = field(default_factory=dict)
    routed: dict[str, Any] = field(default_factory=dict)

    def callers(self, name: str) -> list[ComponentSpecBase]:
        """The specs of the components that send requests to ``name``."""
        return [spec for spec in self.scenario.components.values()
                if any(target == name for _field, target in spec.downstream())]


@dataclass(frozen=True, eq=False)
class InstanceSplit:
    """A caller's division of traffic over a callee's instances: shares, the arrival SCV each sees, a note."""

    shares: Any  # numpy array of fractions summing to 1
    arrival_scv: float
    note: str

    def same_as(self, other: InstanceSplit) -> bool:
        """Whether two callers divide traffic alike (then the callee's twin can use either)."""
        return (self.arrival_scv == other.arrival_scv and self.note == other.note
                and bool((self.shares == other.shares).all()))


class ComponentSpecBase(StrictModel):
    """Fields and behaviour every component kind shares (see the module docstring for the contract)."""

    kind: str
    summary: ClassVar[str] = ""
    reference_fields: ClassVar[tuple[str, ...]] = ()
    stats_fields: ClassVar[dict[str, tuple[type, str]]] = {}

    # --- wiring -------------------------------------------------------------------------------------

    def downstream(self) -> list[tuple[str, str]]:
        """The components this one sends requests to, as (field path suffix, component name) pairs."""
        return self.raw_references({name: getattr(self, name) for name in self.reference_fields})

    @classmethod
    def raw_references(cls, block: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """(field path suffix, value) of every component name in ``block``, a component's data as written.

        Called on data that failed validation too (to report dangling names in the same pass), so values may
        be of any type; the caller skips what is not a name.
        """
        references: list[tuple[str, Any]] = []
        for name in cls.reference_fields:
            value = block.get(name)
            if isinstance(value, list):
                references += [(f"{name}.{index}", target) for index, target in enumerate(value)]
            elif name in block:
                references.append((name, value))
        return references

    @classmethod
    def reference_problems(cls, path: str, target: str, target_class: type[ComponentSpecBase] | None) -> list[Problem]:
        """Problems with naming ``target`` (of kind class ``target_class``, None if unknown) at ``path``."""
        return []

    def bypass_target(self) -> str | None:
        """A component a caller may call instead of this one (a cache's store), for "bypass" knobs."""
        return None

    # --- runtime ------------------------------------------------------------------------------------

    def station_names(self, name: str) -> list[str]:
        """The names of this component's stations (queues with servers), shared by runtime and twin."""
        return []

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Component:
        """The runtime object that simulates this component in one replication."""
        raise NotImplementedError(f"kind {self.kind!r} has no runtime")

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        """Its own statistics over a measured window (``stats_fields``), from its runtime's counter changes."""
        return {}

    def event_stats(self, counters: Mapping[str, float], events: Mapping[str, Any], start_s: float,
                    end_s: float) -> dict[str, Any]:
        """Its own statistics that need per-event records (``Component.event_columns``, numpy columns) over the
        window ``[start_s, end_s)``, beside its counter changes; a broker's event latency and lag."""
        return {}

    def level_series(self, fields: tuple[str, ...], values: Any, widths: Any) -> dict[str, list[float]]:
        """Its own time series from its cumulative counters (rows: snapshots, columns: ``fields``; bin widths
        in seconds), e.g. a broker's lag per consumer group; ``sim.results.timeseries`` adds them."""
        return {}

    def event_series(self, events: Mapping[str, Any], edges_s: Any) -> dict[str, list[float | None]]:
        """Its own time series from its per-event records (``event_columns``), per bin between consecutive
        ``edges_s``, e.g. a broker's event latency percentiles; beside ``level_series`` in the time series."""
        return {}

    def metric_field(self, field: str) -> tuple[str, dict[str, str], str] | None:
        """The Prometheus name, extra labels and help of one of its own level fields (``extra_fields``), e.g. a
        broker's ``billing:lag_area`` as ``sim_broker_consumer_lag_messages{group="billing"}``. A time
        integral (``*_area``) becomes a gauge of that name (its mean per scrape) and the counter
        ``<name>_seconds_total``; a count, the counter ``<name>_total``. None: named from the field itself."""
        return None

    def metric_histograms(self, events: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str], Any, Any]]:
        """Histograms of its own from its event records: (name, help, extra labels, finish times in s, observed
        values in s) each, e.g. a broker's event latency per consumer group; the exporter buckets them."""
        return []

    # --- theory -------------------------------------------------------------------------------------

    def route(self, name: str, arriving: Traffic, context: TwinContext) -> list[tuple[str, Traffic]]:
        """The per-key traffic this component sends to each downstream component (callers before callees)."""
        return [(target, arriving) for _field, target in self.downstream()]

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """The analytic twin of this component, given its traffic and its callees' predictions."""
        raise NotImplementedError(f"kind {self.kind!r} has no analytic twin")

    def concurrency_passed_on(self, inside: float) -> float:
        """At most how many calls it has out at once when ``inside`` visits are inside it (workers bound it)."""
        return inside

    def instance_split(self, instances: int, traffic: Traffic) -> InstanceSplit | None:
        """How it divides its traffic over the instances of what it calls (a balancer's policy); None: no say."""
        return None

    # --- money --------------------------------------------------------------------------------------

    def hourly_cost(self) -> float:
        """What this component costs per hour, from the prices written on it."""
        return 0.0

    def usage_cost_per_hour(self, stats: StatsView) -> float:
        """What its use cost per hour over a run's window, from its statistics (a function's requests and
        GB-seconds); added to ``hourly_cost`` in the run's cost. Default: nothing beyond the hourly price."""
        return 0.0

    def capacity(self) -> dict[str, int]:
        """What it provisions, in ``CAPACITY_UNITS`` (workers, connections, cache keys)."""
        return {}

    # --- teaching -----------------------------------------------------------------------------------

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        """The main controls the app offers for this component."""
        return []

    def describe(self, stats: StatsView) -> str:
        """Its shape in a few words for the architecture diagram, e.g. ``4×16 workers``."""
        return f"{stats.get('servers', 0)} server(s)"

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        """Why its simulated numbers may differ from the twin's, in a few words each."""
        return []

    def fault_problem(self, fault: FaultSpec) -> str | None:
        """Why ``fault`` (``faults:`` in the scenario) cannot strike this component; None when it can."""
        kind = type(self).model_fields["kind"].annotation
        return f"a {get_args(kind)[0]} takes no faults"

    def bottleneck_reason(self, name: str, station: str, stats: StatsView,
                          theory: ComponentTheory | None) -> str | None:
        """Its own sentence for why its station ``station`` limits the system (a broker's hot partition), from
        its window statistics and its twin; None keeps the generic sentence."""
        return None

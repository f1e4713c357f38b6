"""The contract every component kind fulfils: one spec class that knows everything about its kind.

A kind is one module (``sim/kinds/service.py``, ``cache.py``, ...). Its spec class, a pydantic model with
``kind: Literal["..."]``, carries beside its fields the methods below; the module also holds the runtime class
the spec builds. Everything outside ``sim/kinds`` calls these methods and never asks which kind a spec is:

- wiring: ``reference_fields`` (its fields that name other components), from which ``downstream`` (the
  components it sends requests to) and ``raw_references`` (the same, read from data not yet valid) follow, and
  ``reference_problems`` (what it may not be wired to);
- runtime: ``station_names`` (used by the runtime *and* the twin, so simulation and theory meet by construction)
  and ``build`` (the runtime object for one replication);
- theory: ``route`` (the traffic it passes on) and ``predict`` (its analytic twin), see ``sim.twin``;
- money: ``hourly_cost`` and ``capacity``;
- teaching: ``knobs`` (controls for the app), ``describe`` (a line for the diagram) and ``difference_reasons``
  (why simulation and theory may disagree).

``sim.kinds.registry`` lists the kinds; a new kind is a new module registered there (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sim.model.base import StrictModel
from sim.model.errors import Problem
from sim.model.knobs import Knob
from sim.model.workload import WorkloadSpec

if TYPE_CHECKING:
    from sim.runtime.component import Component
    from sim.runtime.rng import RandomStreams
    from sim.runtime.scheduler import Scheduler
    from sim.twin.context import TwinContext
    from sim.twin.parts import ComponentTheory, Traffic

CAPACITY_UNITS = ("workers", "connections", "cache_keys")


class ScenarioView(Protocol):
    """What a kind may read of the scenario around it: the other components and the workload."""

    components: Mapping[str, ComponentSpecBase]
    workload: WorkloadSpec


class ComponentSpecBase(StrictModel):
    """Fields and behaviour every component kind shares (see the module docstring for the contract)."""

    kind: str
    summary: ClassVar[str] = ""
    reference_fields: ClassVar[tuple[str, ...]] = ()

    # --- wiring -------------------------------------------------------------------------------------

    def downstream(self) -> list[tuple[str, str]]:
        """The components this one sends requests to, as (field path suffix, component name) pairs."""
        return self.raw_references({field: getattr(self, field) for field in self.reference_fields})

    @classmethod
    def raw_references(cls, block: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """(field path suffix, value) of every component name in ``block``, a component's data as written.

        Called on data that failed validation too (to report dangling names in the same pass), so values may
        be of any type; the caller skips what is not a name.
        """
        references: list[tuple[str, Any]] = []
        for field in cls.reference_fields:
            value = block.get(field)
            if isinstance(value, list):
                references += [(f"{field}.{index}", target) for index, target in enumerate(value)]
            elif field in block:
                references.append((field, value))
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

    # --- theory -------------------------------------------------------------------------------------

    def route(self, name: str, arriving: Traffic, context: TwinContext) -> list[tuple[str, Traffic]]:
        """The per-key traffic this component sends to each downstream component (callers before callees)."""
        return [(target, arriving) for _field, target in self.downstream()]

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """The analytic twin of this component, given its traffic and its callees' predictions."""
        raise NotImplementedError(f"kind {self.kind!r} has no analytic twin")

    # --- money --------------------------------------------------------------------------------------

    def hourly_cost(self) -> float:
        """What this component costs per hour, from the prices written on it."""
        return 0.0

    def capacity(self) -> dict[str, int]:
        """What it provisions, in ``CAPACITY_UNITS`` (workers, connections, cache keys)."""
        return {}

    # --- teaching -----------------------------------------------------------------------------------

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        """The main controls the app offers for this component."""
        return []

    def describe(self, stats: Mapping[str, Any]) -> str:
        """Its shape in a few words for the architecture diagram, e.g. ``4×16 workers``."""
        return f"{stats.get('servers', 0)} server(s)"

    def difference_reasons(self, name: str, stats: Mapping[str, Any], scenario: ScenarioView) -> list[str]:
        """Why its simulated numbers may differ from the twin's, in a few words each."""
        return []

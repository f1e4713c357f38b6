"""The kinds of component a scenario may use, by their ``kind:`` name.

Each kind is one module whose spec class fulfils ``sim.kinds.base.ComponentSpecBase``. ``ComponentSpec`` is the
annotation a scenario's components use: a union tagged by ``kind`` over the registered spec classes, read when a
model's schema is built, so a kind registered later (``sim.scenario.register_kind``) joins it on a rebuild.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from sim.kinds.base import ComponentSpecBase
from sim.kinds.broker import BrokerSpec
from sim.kinds.cache import CacheSpec
from sim.kinds.database import DatabaseSpec
from sim.kinds.function import FunctionSpec
from sim.kinds.load_balancer import LoadBalancerSpec
from sim.kinds.push import PushSpec
from sim.kinds.quorum_store import QuorumStoreSpec
from sim.kinds.service import ServiceSpec
from sim.kinds.table import TableSpec

KINDS: dict[str, type[ComponentSpecBase]] = {}


def kind_name(spec_class: type[ComponentSpecBase]) -> str:
    """The ``kind:`` value a spec class answers to (its ``kind`` field is a one-value Literal)."""
    values = get_args(spec_class.model_fields["kind"].annotation)
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{spec_class.__name__}.kind must be a Literal of one string")
    return values[0]


def add_kind(spec_class: type[ComponentSpecBase]) -> str:
    """Register a spec class under its kind name (replacing a kind of the same name); returns the name."""
    if not issubclass(spec_class, ComponentSpecBase):
        raise TypeError(f"{spec_class.__name__} must subclass ComponentSpecBase")
    name = kind_name(spec_class)
    KINDS[name] = spec_class
    return name


for _spec_class in (ServiceSpec, LoadBalancerSpec, CacheSpec, DatabaseSpec, BrokerSpec, QuorumStoreSpec,
                    TableSpec, PushSpec, FunctionSpec):
    add_kind(_spec_class)


class _KindUnion:
    """Builds the tagged union over the registered kinds when pydantic builds a model's schema."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        choices = {name: handler.generate_schema(spec_class) for name, spec_class in KINDS.items()}
        return core_schema.tagged_union_schema(choices, discriminator="kind")


ComponentSpec = Annotated[ComponentSpecBase, _KindUnion]

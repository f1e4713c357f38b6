"""The ``kind: service`` component: spec (``spec``), call graph (``calls``), runtime (``runtime``), twin (``twin``)."""

from sim.kinds.service.runtime import Service
from sim.kinds.service.spec import ServiceSpec

__all__ = ["Service", "ServiceSpec"]

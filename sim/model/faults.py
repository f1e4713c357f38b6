"""Faults a scenario injects at set times (``faults:``), and the health checks that notice them.

- ``{kind: crash, component: api, instance: 0, at_s: 20, duration_s: 10}``: the instance dies. Its requests in
  flight fail at once (their callers get ``failed``; the work already running finishes unseen), new ones sent
  to it fail at once (connection refused), and ``duration_s`` later it is back, empty.
- ``{kind: slow, component: api, at_s: 20, duration_s: 5, factor: 10}``: its service times are ``factor``
  times longer (a noisy neighbour, a GC pause, a degraded disk).
- ``{kind: errors, component: api, at_s: 20, duration_s: 5, share: 0.2}``: that share of its visits fail at
  once (a bad deploy).

A component kind says which faults it can take (``fault_kinds`` on its spec). A load balancer with a
``health_check`` probes each instance every ``interval_ms`` (from a random phase) and takes it out of rotation
after ``unhealthy_threshold`` failed probes in a row, back after ``healthy_threshold`` good ones, as AWS's and
Kubernetes' checks do; until then it keeps sending to a dead instance, which is the error burst a crash makes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.model.base import ComponentName, StrictModel

FaultKind = Literal["crash", "slow", "errors"]
DAY_S = 86_400.0


class FaultSpec(StrictModel):
    """One fault: what, where, when and for how long."""

    kind: FaultKind
    component: ComponentName
    at_s: Annotated[float, Field(ge=0.0, le=DAY_S)]
    duration_s: Annotated[float, Field(gt=0.0, le=DAY_S)]
    instance: Annotated[int, Field(ge=0, le=1023, description="crash: which instance")] = 0
    factor: Annotated[float, Field(ge=1.0, le=10_000.0, description="slow: service time multiplier")] = 10.0
    share: Annotated[float, Field(gt=0.0, le=1.0, description="errors: share of visits that fail")] = 0.5


class HealthCheckSpec(StrictModel):
    """A balancer's probes of its instances: how often, and how many in a row change its mind."""

    interval_ms: Annotated[float, Field(ge=1.0, le=3_600_000.0)] = 5000.0
    unhealthy_threshold: Annotated[int, Field(ge=1, le=100)] = 2
    healthy_threshold: Annotated[int, Field(ge=1, le=100)] = 2

    def mean_detection_s(self) -> float:
        """Mean time from a crash to leaving the rotation: the wait for the next probe (uniform over an
        interval, the probes' phase being random) plus ``unhealthy_threshold - 1`` more intervals."""
        return (self.unhealthy_threshold - 0.5) * self.interval_ms / 1000.0

"""The main knobs of a scenario, derived from its components: what a control panel offers to change.

Each knob is a dotted field path (the same paths ``sim.overrides.with_overrides`` takes), a label, the kind of
widget that suits it, its bounds and its current value. Nothing here knows about a user interface.

Example:
    >>> from sim.gallery import load_gallery_scenario
    >>> [knob.path for knob in scenario_knobs(load_gallery_scenario("single-server"))]
    ['workload.rate_rps', 'components.api.instances', 'components.api.workers']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from sim.dists import from_spec
from sim.overrides import with_overrides
from sim.scenario import Scenario
from sim.sizing import expected_requests
from sim.specs import (
    LOAD_BALANCER_POLICIES,
    CacheSpec,
    DatabaseSpec,
    LoadBalancerSpec,
    ServiceSpec,
    WorkloadSpec,
    downstream_names,
)

KnobKind = Literal["int", "float", "choice", "ordered"]
TTL_CHOICES_S: tuple[float | None, ...] = (None, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
VISITS_PER_INTERACTIVE_RUN = 60_000  # about 0.3-0.6 s of engine time on a 2-core machine
MAX_VISITS_PER_INTERACTIVE_RUN = 150_000  # never more: about 1-2 s, so the page never freezes
MIN_INTERACTIVE_DURATION_S = 4.0
MIN_MEASURED_REQUESTS = 10_000  # a hundred requests beyond the p99: enough for a stable estimate
TARGET_TIME_BINS = 30


@dataclass(frozen=True)
class Knob:
    """One control: where it writes, what it is called, how it is entered and its limits.

    Attributes:
        path: Dotted field path, e.g. ``components.api.instances``.
        label: Short human label, e.g. ``api: instances``.
        kind: ``int`` or ``float`` (a slider between ``minimum`` and ``maximum`` by ``step``), ``choice``
            (unordered options, e.g. a policy) or ``ordered`` (ordered options, e.g. cache sizes).
        value: The scenario's current value.
        minimum: Lowest value (numeric kinds).
        maximum: Highest value (numeric kinds).
        step: Slider step (numeric kinds).
        options: The allowed values (choice kinds), always including ``value``.
        option_labels: Display text for each option, same order as ``options``.
        component: The component the knob belongs to; None for the workload.
        help: One sentence on what the knob does.
    """

    path: str
    label: str
    kind: KnobKind
    value: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    options: tuple[Any, ...] = ()
    option_labels: tuple[str, ...] = ()
    component: str | None = None
    help: str = ""

    def format_option(self, option: Any) -> str:
        """The display text of one option (the option itself when no label was given)."""
        if option in self.options and self.option_labels:
            return self.option_labels[self.options.index(option)]
        return str(option)


def nice_step(raw: float) -> float:
    """The 1-2-5 number (…, 0.5, 1, 2, 5, 10, …) at or below ``raw``."""
    if raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    for mantissa in (5, 2, 1):
        if mantissa * 10**exponent <= raw:
            return float(mantissa * 10**exponent)
    return float(10**exponent)


def _integer_knob(name: str, field: str, value: int, low: int, schema_max: int, help_text: str) -> Knob:
    high = min(schema_max, max(16, 2 * value))
    return Knob(f"components.{name}.{field}", f"{name}: {field.replace('_', ' ')}", "int", value,
                low, high, 1, component=name, help=help_text)


def _grid_step(value: float) -> float:
    """A 1-2-5 step near a tenth of ``value`` that divides it, so the slider grid passes through ``value``."""
    step = nice_step(value / 10)
    while step >= value / 100:
        if abs(value / step - round(value / step)) < 1e-9:
            return step
        step = nice_step(step * 0.99)
    return nice_step(value / 10)


def _rate_knob(rate: float) -> Knob:
    step = _grid_step(rate)
    minimum = rate - math.floor(rate / step - 1e-9) * step  # on the grid through ``rate``, above zero
    maximum = minimum + math.ceil((4 * rate - minimum) / step) * step
    return Knob("workload.rate_rps", "arrival rate (req/s)", "float", rate, round(minimum, 9), round(maximum, 9), step,
                help="Requests per second arriving at random (Poisson) at the entry component.")


def _cache_size_options(value: int, key_count: int) -> tuple[int, ...]:
    grid = {mantissa * 10**exponent for exponent in range(8) for mantissa in (1, 2, 5)}
    top = max(key_count, value)
    return tuple(sorted({size for size in grid if 10 <= size <= top} | {value, top}))


def _service_knobs(scenario: Scenario, name: str, spec: ServiceSpec) -> list[Knob]:
    knobs = [
        _integer_knob(name, "instances", spec.instances, 1, 1024, "Copies of the service, each with its own queue."),
        _integer_knob(name, "workers", spec.workers, 1, 4096, "Requests one instance serves at the same time."),
    ]
    for index, target in enumerate(spec.calls):
        target_spec = scenario.components[target]
        if isinstance(target_spec, CacheSpec):
            store = target_spec.store
            knobs.append(Knob(f"components.{name}.calls.{index}", f"{name}: reads via", "choice", target,
                              options=(target, store),
                              option_labels=(f"{target} (cache-aside)", f"{store} directly (no cache)"),
                              component=name, help="Send this call through the cache, or bypass it."))
    return knobs


def _component_knobs(scenario: Scenario, name: str) -> list[Knob]:
    spec = scenario.components[name]
    if isinstance(spec, ServiceSpec):
        return _service_knobs(scenario, name, spec)
    if isinstance(spec, LoadBalancerSpec):
        labels = tuple(policy.replace("_", " ") for policy in LOAD_BALANCER_POLICIES)
        return [Knob(f"components.{name}.policy", f"{name}: policy", "choice", spec.policy,
                     options=LOAD_BALANCER_POLICIES, option_labels=labels, component=name,
                     help="How the balancer picks an instance for each request.")]
    if isinstance(spec, CacheSpec):
        sizes = _cache_size_options(spec.capacity_keys, scenario.workload.keys.count)
        ttls = tuple(sorted({ttl for ttl in (*TTL_CHOICES_S, spec.ttl_s) if ttl is not None}))
        ttl_options = (None, *ttls)
        return [
            Knob(f"components.{name}.capacity_keys", f"{name}: capacity (keys)", "ordered", spec.capacity_keys,
                 options=sizes, option_labels=tuple(f"{size:,}" for size in sizes), component=name,
                 help="How many keys the cache holds (least recently used are evicted)."),
            Knob(f"components.{name}.ttl_s", f"{name}: TTL (s)", "ordered", spec.ttl_s, options=ttl_options,
                 option_labels=("no TTL", *(f"{ttl:g} s" for ttl in ttls)), component=name,
                 help="Entries older than this are treated as misses."),
        ]
    if not isinstance(spec, DatabaseSpec):
        return []  # a kind without main knobs yet
    return [
        _integer_knob(name, "shards", spec.shards, 1, 256, "Partitions of the data, chosen by key hash."),
        _integer_knob(name, "replicas", spec.replicas, 0, 32, "Read replicas per shard (writes go to the primary)."),
        _integer_knob(name, "pool_size", spec.pool_size, 1, 4096, "Connections per database node."),
    ]


def _workload_knobs(workload: WorkloadSpec) -> list[Knob]:
    """The load: an open workload's arrival rate, a closed one's users; a replayed trace has none."""
    if workload.rate_rps is not None:
        return [_rate_knob(float(workload.rate_rps))]
    if workload.users is not None:
        users = workload.users
        return [Knob("workload.users", "users (closed loop)", "int", users, 1, max(16, 4 * users), 1,
                     help="Virtual users, each sending a request, waiting for it, thinking, and repeating.")]
    return []


def scenario_knobs(scenario: Scenario) -> list[Knob]:
    """The main knobs of ``scenario``: the load (rate or users), then each component's, in the scenario's order."""
    knobs = _workload_knobs(scenario.workload)
    for name in scenario.components:
        knobs.extend(_component_knobs(scenario, name))
    return knobs


def changed_values(knobs: list[Knob], values: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` (path -> value) that differ from the knobs' current values."""
    current = {knob.path: knob.value for knob in knobs}
    return {path: value for path, value in values.items() if path in current and value != current[path]}


def alternative_value(knob: Knob) -> Any:
    """A contrasting value for an A/B comparison: double a count, raise a rate by half, the next option."""
    if knob.kind == "int":
        doubled = max(2 * knob.value, knob.value + 1)
        return int(min(doubled, knob.maximum if knob.maximum is not None else doubled))
    if knob.kind == "float":
        raised = knob.value * 1.5
        return float(min(raised, knob.maximum)) if knob.maximum is not None else raised
    index = knob.options.index(knob.value)
    return knob.options[(index + 1) % len(knob.options)]


def offered_rate_estimate(workload: WorkloadSpec) -> float | None:
    """Requests per second the workload sends at most: the peak of an open profile, or users over think time
    for a closed loop (an upper bound: responses add to the cycle). None for a replayed trace."""
    if workload.rate_rps is not None:
        profile = workload.profile
        stage_rates = [stage.rate_rps for stage in getattr(profile, "stages", [])]
        peak = max([workload.rate_rps, getattr(profile, "rate_rps", 0.0), *stage_rates])
        return float(peak * (1 + getattr(profile, "amplitude", 0.0)))
    if workload.users is not None and workload.think_time is not None:
        return workload.users * 1000.0 / max(from_spec(workload.think_time).mean_ms, 1.0)
    return None


def requests_per_second(scenario: Scenario) -> float | None:
    """Requests the workload sends per second on average over the run (an upper bound for a closed loop)."""
    expected = expected_requests(scenario, scenario.duration_s)
    if expected is not None:
        return expected / scenario.duration_s
    return offered_rate_estimate(scenario.workload)


def default_duration_s(scenario: Scenario) -> float:
    """A simulated duration that keeps an interactive run under a second or two, yet long enough to trust.

    The cost of a run grows with the number of component visits, roughly requests times components. The
    scenario's own duration is kept when it fits ``VISITS_PER_INTERACTIVE_RUN``; otherwise the run is
    shortened to that budget, but not below ``MIN_INTERACTIVE_DURATION_S`` nor below what
    ``MIN_MEASURED_REQUESTS`` after the warm-up need (for a stable p99), unless that would pass
    ``MAX_VISITS_PER_INTERACTIVE_RUN``, the ceiling no run crosses.
    """
    rate_rps = requests_per_second(scenario)
    if not rate_rps:
        return float(scenario.duration_s)
    visits_per_s = rate_rps * len(scenario.components)
    if visits_per_s * scenario.duration_s <= VISITS_PER_INTERACTIVE_RUN:
        return float(scenario.duration_s)
    measured_s = MIN_MEASURED_REQUESTS / rate_rps
    trusted_s = max(MIN_INTERACTIVE_DURATION_S, scenario.warmup_s + measured_s, 2 * measured_s)
    chosen_s = max(VISITS_PER_INTERACTIVE_RUN / visits_per_s,
                   min(trusted_s, MAX_VISITS_PER_INTERACTIVE_RUN / visits_per_s))
    return _readable(min(float(scenario.duration_s), chosen_s))


def _readable(duration_s: float) -> float:
    """Whole seconds from 2 s up; two significant digits below (never longer than asked)."""
    if duration_s >= 2.0:
        return float(math.floor(duration_s))
    unit = 10.0 ** (math.floor(math.log10(duration_s)) - 1)
    return math.floor(duration_s / unit) * unit


def shortened_note(base: Scenario, duration_s: float) -> str | None:
    """Why an interactive run is shorter than its file (None when it is not)."""
    if duration_s >= base.duration_s:
        return None
    rate_rps = requests_per_second(base) or 0.0
    return (f"Simulating {duration_s:g} s of the file's {base.duration_s:g} s: at about {rate_rps:,.0f} req/s "
            f"through {len(base.components)} component(s), the whole run would take too long for an interactive "
            "page. Move *Simulated duration* in the sidebar to run longer.")


def with_duration(scenario: Scenario, duration_s: float) -> Scenario:
    """``scenario`` run for ``duration_s``: warm-up capped at half of it, time bins fine enough for ~30 points.

    Bins are powers of two seconds so that bin edges are exact and never near-duplicate the warm-up edge.
    """
    bin_s = min(scenario.time_bin_s, 2.0 ** math.floor(math.log2(max(duration_s / TARGET_TIME_BINS, 1 / 64))))
    return with_overrides(scenario, {**scenario.duration_updates(duration_s), "time_bin_s": float(bin_s)})


def wiring(scenario: Scenario) -> list[tuple[str, str]]:
    """Every (caller, callee) pair of component names, in the scenario's order."""
    return [(name, target) for name, spec in scenario.components.items() for _field, target in downstream_names(spec)]

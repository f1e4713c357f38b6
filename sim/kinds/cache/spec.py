"""The ``kind: cache`` spec: its fields and its contract (the twin is in ``twin``, the runtime in ``runtime``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.kinds.cache.runtime import Cache
from sim.kinds.cache.server import CacheServerSpec
from sim.kinds.cache.twin import hit_ratio, store_traffic
from sim.kinds.cache.twin import predict as predict_cache
from sim.model.base import DAY_S, ComponentName, LatencyMs, Price
from sim.model.knobs import Knob
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.theory.flows import Traffic
from sim.theory.predictions import ComponentTheory

BYTES_PER_GB = 1e9
TTL_CHOICES_S: tuple[float | None, ...] = (None, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
WRITE_POLICIES = ("cache_aside", "write_through", "write_behind")
WRITE_POLICY_LABELS = ("cache-aside (invalidate)", "write-through", "write-behind (buffered)")


class CacheSpec(ComponentSpecBase):
    """A key-value cache (LRU or LFU eviction, optional TTL) in front of ``store``.

    Reads that hit return after ``hit_latency_ms``; misses pay ``miss_latency_ms``, read the store and fill
    the cache. Writes follow ``write_policy``: cache-aside writes go to the store and invalidate the key;
    write-through writes the store and then the cache; write-behind answers from memory and flushes the
    written keys to the store every ``write_behind_delay_ms``. With ``server`` every command also takes CPU time
    on the cache server (one event loop, or threads), which can then be the bottleneck. The hit ratio is never
    a setting: it emerges from the key stream, the capacity, the eviction policy and the TTL.
    """

    kind: Literal["cache"]
    store: ComponentName
    capacity_keys: Annotated[int, Field(ge=1, le=10_000_000, examples=[5000])]
    ttl_s: Annotated[float, Field(gt=0, le=DAY_S * 366)] | None = None
    hit_latency_ms: LatencyMs = 1.0
    miss_latency_ms: LatencyMs = 1.0
    value_size_bytes: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1024
    price_per_gb_hour: Price = 0.0
    coalesce_misses: bool = False
    ttl_jitter: Annotated[float, Field(ge=0, lt=1)] = 0.0
    eviction: Literal["lru", "lfu"] = "lru"
    write_policy: Literal["cache_aside", "write_through", "write_behind"] = "cache_aside"
    write_behind_delay_ms: Annotated[float, Field(gt=0, le=3_600_000)] = 100.0
    early_refresh_beta: Annotated[float, Field(gt=0, le=100)] | None = None
    server: CacheServerSpec | None = None

    summary: ClassVar[str] = "an LRU or LFU key-value cache (optional TTL) in front of a store, with a write policy"

    reference_fields: ClassVar[tuple[str, ...]] = ("store",)
    stats_fields: ClassVar[dict[str, tuple[type, str]]] = {
        "hit_ratio": (float, "share of reads that hit"),
        "store_reads_per_refill": (float, "store reads per refill of a missing key (1 with coalescing; more in a "
                                          "stampede); given when coalescing, TTL jitter or early refresh is on"),
        "early_refresh_share": (float, "share of refills started early by a read before expiry (early refresh)"),
        "store_writes_per_write": (float, "store writes per acknowledged write (write-behind: below 1 when writes "
                                          "to one key coalesce within a flush)"),
        "mean_flush_delay_ms": (float, "write-behind: how long an acknowledged write waited for its flush to the "
                                       "store, the window in which it is lost if the cache dies"),
        "lost_writes": (int, "write-behind: acknowledged writes whose flush the store refused"),
    }

    @property
    def reports_refills(self) -> bool:
        """Whether its runtime counts refills (then the summary gives store reads per refill)."""
        return self.coalesce_misses or self.ttl_jitter > 0 or self.early_refresh_beta is not None

    def station_names(self, name: str) -> list[str]:
        return [f"{name}/server"] if self.server is not None else []

    def bypass_target(self) -> str | None:
        return self.store

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Cache:
        return Cache(env, name, self, streams)

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        lookups = counters["hits"] + counters["misses"]
        stats: dict[str, Any] = {"hit_ratio": counters["hits"] / lookups if lookups else None}
        if "refills" in counters:
            refills = counters["refills"]
            stats["store_reads_per_refill"] = counters["store_reads"] / refills if refills else None
        if "early_refreshes" in counters:
            stats["early_refresh_share"] = counters["early_refreshes"] / refills if refills else None
        if "buffered_writes" in counters:
            buffered, flushed = counters["buffered_writes"], counters["flushed_writes"]
            stats["store_writes_per_write"] = counters["store_writes"] / buffered if buffered else None
            stats["mean_flush_delay_ms"] = 1000.0 * counters["flush_delay_total_s"] / flushed if flushed else None
            stats["lost_writes"] = int(counters["lost_writes"])
        return stats

    def route(self, name: str, arriving: Traffic, context: TwinContext) -> list[tuple[str, Traffic]]:
        """Reads that miss, and the writes per the write policy, go on to the store; the hit ratio is kept."""
        hits = context.routed[name] = self.hit_ratio(arriving)
        return [(self.store, store_traffic(self, arriving, hits))]

    def hit_ratio(self, traffic: Traffic) -> float:
        """The twin's share of reads that hit (``sim.kinds.cache.twin.hit_ratio``)."""
        return hit_ratio(self, traffic)

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        return predict_cache(self, name, traffic, context)

    def hourly_cost(self) -> float:
        return self.capacity_keys * self.value_size_bytes / BYTES_PER_GB * self.price_per_gb_hour

    def capacity(self) -> dict[str, int]:
        return {"cache_keys": self.capacity_keys}

    def knobs(self, name: str, scenario: ScenarioView) -> list[Knob]:
        sizes = _size_options(self.capacity_keys, scenario.workload.keys.count)
        ttls = tuple(sorted({ttl for ttl in (*TTL_CHOICES_S, self.ttl_s) if ttl is not None}))
        return [
            Knob(f"components.{name}.capacity_keys", f"{name}: capacity (keys)", "ordered", self.capacity_keys,
                 options=sizes, option_labels=tuple(f"{size:,}" for size in sizes), component=name,
                 help="How many keys the cache holds."),
            Knob(f"components.{name}.eviction", f"{name}: eviction", "choice", self.eviction,
                 options=("lru", "lfu"), option_labels=("LRU (least recently used)", "LFU (least frequently used)"),
                 component=name, help="Which key a full cache drops: the least recently or least often used."),
            Knob(f"components.{name}.ttl_s", f"{name}: TTL (s)", "ordered", self.ttl_s, options=(None, *ttls),
                 option_labels=("no TTL", *(f"{ttl:g} s" for ttl in ttls)), component=name,
                 help="Entries older than this are treated as misses."),
            Knob(f"components.{name}.coalesce_misses", f"{name}: coalesce misses", "choice", self.coalesce_misses,
                 options=(False, True), option_labels=("off", "on (single flight)"), component=name,
                 help="Concurrent misses on one key wait for a single store read instead of each reading."),
            Knob(f"components.{name}.write_policy", f"{name}: write policy", "choice", self.write_policy,
                 options=WRITE_POLICIES, option_labels=WRITE_POLICY_LABELS, component=name,
                 help="Invalidate on write, write the store then the cache, or buffer writes and flush them later."),
            *self._server_knobs(name),
        ]

    def _server_knobs(self, name: str) -> list[Knob]:
        """How the cache server runs commands, when its CPU is modelled."""
        if self.server is None:
            return []
        return [Knob(f"components.{name}.server.model", f"{name}: server", "choice", self.server.model,
                     options=("event_loop", "threads"), option_labels=("one event loop (Redis)",
                                                                       f"{self.server.threads} threads (Memcached)"),
                     component=name, help="One core runs every command, or several threads share them.")]

    def describe(self, stats: StatsView) -> str:
        hit = stats.get("hit_ratio")
        policy = "" if self.eviction == "lru" else " LFU"
        server = f", {self.server.describe()}" if self.server is not None else ""
        return f"{self.capacity_keys:,} keys{policy}{server}" + (f", hit {hit:.0%}" if hit is not None else "")

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        reasons = ["the cache starts empty, so early reads miss more than in steady state"]
        if not self.coalesce_misses:
            reasons.append("reads that miss while a key is being refilled go to the store too (a stampede), "
                           "which the hit ratio's model counts as hits")
        if self.eviction == "lfu":
            reasons.append("LFU learns popularity from counts, so until the counts settle it keeps the wrong keys")
        return reasons


def _size_options(value: int, key_count: int) -> tuple[int, ...]:
    """Cache sizes on a 1-2-5 grid up to the key space, always including the current size."""
    grid = {mantissa * 10**exponent for exponent in range(8) for mantissa in (1, 2, 5)}
    top = max(key_count, value)
    return tuple(sorted({size for size in grid if 10 <= size <= top} | {value, top}))

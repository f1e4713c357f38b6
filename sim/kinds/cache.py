"""A cache-aside key-value cache with LRU eviction and an optional TTL.

The cache itself answers in fixed time (an in-memory store is rarely the queue); what it changes is how much
traffic reaches the store behind it. Reads that hit return after ``hit_latency_ms``. Misses pay
``miss_latency_ms``, read the store and fill the cache, evicting the least recently used key when full.
Writes go to the store and invalidate the key, so the next read misses.

When a hot key expires, every read that misses before the refill returns goes to the store too: a stampede of
about 1 + r x (store response) reads per refill for a key read r times a second. ``coalesce_misses`` (single
flight) sends only the first miss to the store and answers the rest with its result; ``ttl_jitter`` spreads
expiry times so keys filled together do not expire together.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.kinds.base import ComponentSpecBase, ScenarioView, StatsView, TwinContext
from sim.model.base import DAY_S, ComponentName, LatencyMs, Price
from sim.model.distributions import batched
from sim.model.knobs import Knob
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler
from sim.theory.cache import che_characteristic_time
from sim.theory.flows import Traffic, moments
from sim.theory.predictions import ComponentTheory

BYTES_PER_GB = 1e9
TTL_CHOICES_S: tuple[float | None, ...] = (None, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


class CacheSpec(ComponentSpecBase):
    """A key-value cache with LRU eviction in front of ``store`` (cache-aside).

    Reads that hit return after ``hit_latency_ms``; misses pay ``miss_latency_ms``, read the store and
    fill the cache. Writes go to the store and invalidate the key. The hit ratio is never a setting:
    it emerges from the key stream, the capacity and the TTL.
    """

    kind: Literal["cache"]
    store: ComponentName
    capacity_keys: Annotated[int, Field(ge=1, le=10_000_000)]
    ttl_s: Annotated[float, Field(gt=0, le=DAY_S * 366)] | None = None
    hit_latency_ms: LatencyMs = 1.0
    miss_latency_ms: LatencyMs = 1.0
    value_size_bytes: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1024
    price_per_gb_hour: Price = 0.0
    coalesce_misses: bool = False
    ttl_jitter: Annotated[float, Field(ge=0, lt=1)] = 0.0

    summary: ClassVar[str] = "an LRU key-value cache (optional TTL) in front of a store, cache-aside"

    reference_fields: ClassVar[tuple[str, ...]] = ("store",)
    stats_fields: ClassVar[dict[str, tuple[type, str]]] = {
        "hit_ratio": (float, "share of reads that hit"),
        "store_reads_per_refill": (float, "store reads per refill of a missing key (1 with coalescing; more in a "
                                          "stampede); given when coalescing or TTL jitter is on"),
    }

    def bypass_target(self) -> str | None:
        return self.store

    def build(self, env: Scheduler, name: str, streams: RandomStreams) -> Cache:
        return Cache(env, name, self, streams)

    def window_stats(self, counters: Mapping[str, float]) -> dict[str, Any]:
        lookups = counters["hits"] + counters["misses"]
        stats = {"hit_ratio": counters["hits"] / lookups if lookups else None}
        if "refills" in counters:
            refills = counters["refills"]
            stats["store_reads_per_refill"] = counters["store_reads"] / refills if refills else None
        return stats

    def route(self, name: str, arriving: Traffic, context: TwinContext) -> list[tuple[str, Traffic]]:
        """Reads that miss, and every write, go on to the store; the hit ratio is kept for ``predict``."""
        hits = context.routed[name] = self.hit_ratio(arriving)
        return [(self.store, Traffic(arriving.read_rps * (1 - hits), arriving.write_rps))]

    def hit_ratio(self, traffic: Traffic) -> float:
        """Che's approximation on the read stream, with TTL and write invalidation.

        A read hits when the key's last event was a read (a write invalidates it) no longer ago than the
        characteristic time (or the TTL, if shorter). With Poisson events per key this gives, for key i,
        r_i / (r_i + w_i) * (1 - exp(-(r_i + w_i) * tau)); without writes it is Che's formula.
        """
        read_rate = float(traffic.read_rps.sum())
        if read_rate <= 0:
            return 0.0
        popularity = np.round(traffic.read_rps / read_rate, 15).tobytes()
        characteristic_s = _characteristic_requests(self.capacity_keys, popularity) / read_rate
        if self.ttl_s is not None:
            characteristic_s = min(characteristic_s, self.ttl_s)
        events = traffic.read_rps + traffic.write_rps
        with np.errstate(invalid="ignore", divide="ignore"):
            fresh = -np.expm1(-events * characteristic_s) if np.isfinite(characteristic_s) else 1.0
            per_key = np.where(events > 0, traffic.read_rps / events * fresh, 0.0)
        return float((traffic.read_rps * per_key).sum() / read_rate)

    def predict(self, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
        """No queue of its own: hits answer in ``hit_latency_ms``; misses and writes add the store's response."""
        hit_ratio, store = context.routed[name], context.predictions[self.store]
        reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())

        def outcomes(store_ms: float) -> list[tuple[float, float, float]]:  # (rate, mean ms, variance ms²)
            return [(reads * hit_ratio, self.hit_latency_ms, 0.0),
                    (reads * (1 - hit_ratio), self.miss_latency_ms + store_ms, store.response_variance_ms2),
                    (writes, store_ms, store.response_variance_ms2)]

        response, variance = None, 0.0
        if store.mean_response_ms is not None and reads + writes > 0:
            response, variance = moments(outcomes(store.mean_response_ms))
        notes = ["hit ratio from Che's approximation for LRU"]
        if writes > 0:
            notes.append("writes invalidate keys, so the real hit ratio is a little lower")
        unloaded = moments(outcomes(store.unloaded_response_ms))[0] if reads + writes > 0 else self.hit_latency_ms
        return ComponentTheory("cache", reads + writes, response, model="Che (LRU)", notes=notes, hit_ratio=hit_ratio,
                               response_variance_ms2=variance, unloaded_response_ms=unloaded)

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
                 help="How many keys the cache holds (least recently used are evicted)."),
            Knob(f"components.{name}.ttl_s", f"{name}: TTL (s)", "ordered", self.ttl_s, options=(None, *ttls),
                 option_labels=("no TTL", *(f"{ttl:g} s" for ttl in ttls)), component=name,
                 help="Entries older than this are treated as misses."),
            Knob(f"components.{name}.coalesce_misses", f"{name}: coalesce misses", "choice", self.coalesce_misses,
                 options=(False, True), option_labels=("off", "on (single flight)"), component=name,
                 help="Concurrent misses on one key wait for a single store read instead of each reading."),
        ]

    def describe(self, stats: StatsView) -> str:
        hit = stats.get("hit_ratio")
        return f"{self.capacity_keys:,} keys" + (f", hit {hit:.0%}" if hit is not None else "")

    def difference_reasons(self, name: str, stats: StatsView, scenario: ScenarioView) -> list[str]:
        reasons = ["the cache starts empty, so early reads miss more than in steady state"]
        if not self.coalesce_misses:
            reasons.append("reads that miss while a key is being refilled go to the store too (a stampede), "
                           "which Che's approximation counts as hits")
        return reasons


@functools.lru_cache(maxsize=32)
def _characteristic_requests(capacity_keys: int, popularity: bytes) -> float:
    """Che's characteristic time in requests; it depends on popularity only, not on the rate, so a search over
    rates (the closed-workload fixed point, sweeps of the load) computes it once."""
    return che_characteristic_time(np.frombuffer(popularity, dtype=np.float64), capacity_keys)


def _size_options(value: int, key_count: int) -> tuple[int, ...]:
    """Cache sizes on a 1-2-5 grid up to the key space, always including the current size."""
    grid = {mantissa * 10**exponent for exponent in range(8) for mantissa in (1, 2, 5)}
    top = max(key_count, value)
    return tuple(sorted({size for size in grid if 10 <= size <= top} | {value, top}))


class LruCache:
    """Keys with expiry times, least recently used first; ``capacity`` keys at most."""

    def __init__(self, capacity: int, ttl_s: float | None, jitter: Any = None) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.jitter = jitter  # a zero-argument function giving the TTL's factor, None for the TTL as written
        self.entries: OrderedDict[int, float] = OrderedDict()
        self.evictions = 0

    def lookup(self, key: int, now: float) -> bool:
        """True on a hit (present and fresh); a hit makes the key most recently used."""
        expires_s = self.entries.get(key)
        if expires_s is None:
            return False
        if expires_s <= now:
            del self.entries[key]
            return False
        self.entries.move_to_end(key)
        return True

    def insert(self, key: int, now: float) -> None:
        """Store ``key`` as most recently used, evicting the least recently used beyond capacity."""
        if self.ttl_s is None:
            self.entries[key] = float("inf")
        else:
            self.entries[key] = now + self.ttl_s * (self.jitter() if self.jitter is not None else 1.0)
        self.entries.move_to_end(key)
        if len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
            self.evictions += 1

    def invalidate(self, key: int) -> None:
        self.entries.pop(key, None)


class Cache(Component):
    """Runtime of a ``kind: cache`` component.

    ``refilling`` holds, per key with a store read in flight, the misses waiting for it (coalescing) or how
    many store reads are out (without), so a refill and its stampede are counted either way.
    """

    kind = "cache"

    def __init__(self, env: Scheduler, name: str, spec: CacheSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.store: Component | None = None
        jitter = None
        if spec.ttl_jitter > 0:
            rng = streams.stream(f"component/{name}/ttl-jitter")
            jitter = batched(lambda size: rng.uniform(1 - spec.ttl_jitter, 1 + spec.ttl_jitter, size), 1024)
        self.lru = LruCache(spec.capacity_keys, spec.ttl_s, jitter)
        self.hit_latency_s = spec.hit_latency_ms / 1000.0
        self.miss_latency_s = spec.miss_latency_ms / 1000.0
        self.hits = self.misses = self.refills = self.store_reads = 0
        self.refilling: dict[int, list[Visit]] = {}
        self.reports_refills = spec.coalesce_misses or spec.ttl_jitter > 0

    def connect(self, components: dict[str, Component]) -> None:
        self.store = components[self.spec.store]

    def extra_fields(self) -> dict[str, float]:
        fields: dict[str, float] = {"hits": self.hits, "misses": self.misses}
        if self.reports_refills:
            fields.update(refills=self.refills, store_reads=self.store_reads)
        return fields

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if request.is_write:
            self.lru.invalidate(request.key)
            self._forward(visit)
        elif self.lru.lookup(request.key, self.env.now):
            self.hits += 1
            self.env.call_later(self.hit_latency_s, self._hit_done, visit)
        else:
            self.misses += 1
            self.env.call_later(self.miss_latency_s, self._read_store, visit)

    def _hit_done(self, visit: Visit) -> None:
        self._settle(visit, OK)

    def _read_store(self, visit: Visit) -> None:
        """A miss reads the store, unless (coalescing) a read of its key is already out: then it waits for that."""
        key = visit.request.key
        waiting = self.refilling.get(key)
        if waiting is None:
            self.refills += 1
            waiting = self.refilling[key] = []
        elif self.spec.coalesce_misses:
            waiting.append(visit)
            return
        else:
            waiting.append(visit)  # without coalescing it only marks another store read out for this key
        self.store_reads += 1
        self._forward(visit)

    def _forward(self, visit: Visit) -> None:
        assert self.store is not None
        self.store.accept(visit.request, self._stored, visit)

    def _stored(self, visit: Visit, status: int) -> None:
        request = visit.request
        if request.is_write:
            self._settle(visit, status)
            return
        if status == OK:
            self.lru.insert(request.key, self.env.now)
        waiting = self.refilling.get(request.key)
        if self.spec.coalesce_misses:
            del self.refilling[request.key]
            for follower in waiting or ():
                self._settle(follower, status)
        elif waiting:
            waiting.pop()
        else:
            del self.refilling[request.key]
        self._settle(visit, status)

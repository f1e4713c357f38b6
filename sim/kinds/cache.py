"""A cache-aside key-value cache with LRU eviction and an optional TTL.

The cache itself answers in fixed time (an in-memory store is rarely the queue); what it changes is how much
traffic reaches the store behind it. Reads that hit return after ``hit_latency_ms``. Misses pay
``miss_latency_ms``, read the store and fill the cache, evicting the least recently used key when full.
Writes go to the store and invalidate the key, so the next read misses.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sim.model.specs import CacheSpec
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler


class LruCache:
    """Keys with expiry times, least recently used first; ``capacity`` keys at most."""

    def __init__(self, capacity: int, ttl_s: float | None) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
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
        self.entries[key] = now + self.ttl_s if self.ttl_s is not None else float("inf")
        self.entries.move_to_end(key)
        if len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
            self.evictions += 1

    def invalidate(self, key: int) -> None:
        self.entries.pop(key, None)


class Cache(Component):
    """Runtime of a ``kind: cache`` component."""

    kind = "cache"

    def __init__(self, env: Scheduler, name: str, spec: CacheSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.store: Component | None = None
        self.lru = LruCache(spec.capacity_keys, spec.ttl_s)
        self.hit_latency_s = spec.hit_latency_ms / 1000.0
        self.miss_latency_s = spec.miss_latency_ms / 1000.0
        self.hits = self.misses = 0

    def connect(self, components: dict[str, Component]) -> None:
        self.store = components[self.spec.store]

    def extra_fields(self) -> dict[str, float]:
        return {"hits": self.hits, "misses": self.misses}

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
            self.env.call_later(self.miss_latency_s, self._forward, visit)

    def _hit_done(self, visit: Visit) -> None:
        self._settle(visit, OK)

    def _forward(self, visit: Visit) -> None:
        assert self.store is not None
        self.store.accept(visit.request, self._stored, visit)

    def _stored(self, visit: Visit, status: int) -> None:
        if status == OK and not visit.request.is_write:
            self.lru.insert(visit.request.key, self.env.now)
        self._settle(visit, status)

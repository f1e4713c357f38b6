"""Runtime of a ``kind: cache`` component: lookups, refills and their stampedes, early refresh, write policies.

When a hot key expires, every read that misses before the refill returns goes to the store too: a stampede of
about 1 + r x (store response) reads per refill for a key read r times a second. ``coalesce_misses`` (single
flight) sends only the first miss to the store and answers the rest with its result; ``ttl_jitter`` spreads
expiry times so keys filled together do not expire together; ``early_refresh_beta`` (XFetch) lets a read shortly
before expiry refresh the key in the background, so it rarely expires at all.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sim.kinds.cache.server import CacheServer
from sim.kinds.cache.stores import key_store
from sim.model.distributions import batched
from sim.model.status import OK
from sim.runtime.component import Component
from sim.runtime.requests import Reply, Request, Visit
from sim.runtime.rng import RandomStreams
from sim.runtime.scheduler import Scheduler

if TYPE_CHECKING:
    from sim.kinds.cache.spec import CacheSpec


def _ignore(_argument: Any, _waited_s: float) -> None:
    """A background refresh's SET answers nobody."""


class _Refill:
    """A refill of one key in flight: when it started, how many store reads are out, who waits for it."""

    __slots__ = ("followers", "outstanding", "started_s")

    def __init__(self, started_s: float) -> None:
        self.started_s = started_s
        self.outstanding = 0
        self.followers: list[Visit] = []


class WriteBuffer:
    """Write-behind: acknowledged writes per key, flushed to the store at every multiple of the interval.

    Per dirty key it keeps how many writes it holds and the sum of their acknowledgement times, so the time
    each waited for its flush (the window in which it would be lost) is summed without a list per key.
    """

    def __init__(self, env: Scheduler, interval_s: float, send: Any) -> None:
        self.env = env
        self.interval_s = interval_s
        self.send = send  # send(key, writes): one store write carrying ``writes`` acknowledged writes
        self.dirty: dict[int, list[float]] = {}
        self.scheduled = False
        self.buffered_writes = self.store_writes = self.flushed_writes = self.lost_writes = 0
        self.flush_delay_total_s = 0.0

    def add(self, key: int, now: float) -> None:
        """Hold an acknowledged write of ``key`` until the next flush (scheduled only while writes wait)."""
        self.buffered_writes += 1
        entry = self.dirty.get(key)
        if entry is None:
            self.dirty[key] = [1.0, now]
        else:
            entry[0] += 1.0
            entry[1] += now
        if not self.scheduled:
            self.scheduled = True
            next_tick_s = (math.floor(now / self.interval_s) + 1) * self.interval_s
            self.env.call_later(max(next_tick_s - now, 0.0), self._flush, None)

    def _flush(self, _unused: Any) -> None:
        now, dirty = self.env.now, self.dirty
        self.dirty, self.scheduled = {}, False
        for key, (writes, acknowledged_sum_s) in dirty.items():
            self.flush_delay_total_s += writes * now - acknowledged_sum_s
            self.flushed_writes += int(writes)
            self.store_writes += 1
            self.send(key, int(writes))

    def flushed(self, writes: int, status: int) -> None:
        """The store answered one flush write: acknowledged writes it refused are lost."""
        if status != OK:
            self.lost_writes += writes

    def counters(self) -> dict[str, float]:
        return {"buffered_writes": self.buffered_writes, "store_writes": self.store_writes,
                "flushed_writes": self.flushed_writes, "flush_delay_total_s": self.flush_delay_total_s,
                "lost_writes": self.lost_writes}


class Cache(Component):
    """Runtime of a ``kind: cache`` component.

    ``refilling`` holds, per key with a store read in flight, its refill: the misses waiting for it
    (coalescing) and how many store reads are out, so a refill and its stampede are counted either way.
    """

    kind = "cache"

    def __init__(self, env: Scheduler, name: str, spec: CacheSpec, streams: RandomStreams) -> None:
        super().__init__(env, name, spec)
        self.store: Component | None = None
        jitter = None
        if spec.ttl_jitter > 0:
            rng = streams.stream(f"component/{name}/ttl-jitter")
            jitter = batched(lambda size: rng.uniform(1 - spec.ttl_jitter, 1 + spec.ttl_jitter, size), 1024)
        self.keys = key_store(spec.eviction, spec.capacity_keys, spec.ttl_s, jitter)
        self.hit_latency_s = spec.hit_latency_ms / 1000.0
        self.miss_latency_s = spec.miss_latency_ms / 1000.0
        self.hits = self.misses = self.refills = self.store_reads = self.early_refreshes = 0
        self.refilling: dict[int, _Refill] = {}
        self.refill_s: dict[int, float] = {}  # per key, how long its last refill took (early refresh's delta)
        self.uniform = None
        if spec.early_refresh_beta is not None:
            refresh_rng = streams.stream(f"component/{name}/early-refresh")
            self.uniform = batched(lambda size: 1.0 - refresh_rng.random(size), 1024)  # in (0, 1]: log is finite
        self.server = (CacheServer(env, spec.station_names(name)[0], spec.server, streams, name)
                       if spec.server is not None else None)
        self.stations = [self.server.station] if self.server is not None else []
        self.buffer = (WriteBuffer(env, spec.write_behind_delay_ms / 1000.0, self._flush_key)
                       if spec.write_policy == "write_behind" else None)

    def connect(self, components: dict[str, Component]) -> None:
        self.store = components[self.spec.store]

    def extra_fields(self) -> dict[str, float]:
        fields: dict[str, float] = {"hits": self.hits, "misses": self.misses}
        if self.spec.reports_refills:
            fields.update(refills=self.refills, store_reads=self.store_reads)
        if self.uniform is not None:
            fields["early_refreshes"] = self.early_refreshes
        if self.buffer is not None:
            fields.update(self.buffer.counters())
        return fields

    def accept(self, request: Request, reply: Reply, token: Any) -> None:
        visit = self._enter(request, reply, token)
        if self.server is None:
            self._command(visit, 0.0)
        elif not self.server.run(request, self._command, visit):
            self._reject(visit)

    def _command(self, visit: Visit, waited_s: float) -> None:
        """The command runs (after ``waited_s`` in the server's queue): look the key up, or write it."""
        visit.started_s = visit.arrived_s + waited_s
        request = visit.request
        key = request.key
        if request.is_write:
            self._write(visit)
        elif self.keys.lookup(key, self.env.now) or (self.buffer is not None and key in self.buffer.dirty):
            self.hits += 1
            if self.uniform is not None:
                self._maybe_refresh(key)
            self.env.call_later(self.hit_latency_s, self._hit_done, visit)
        else:
            self.misses += 1
            self.env.call_later(self.miss_latency_s, self._read_store, visit)

    def _write(self, visit: Visit) -> None:
        """Cache-aside invalidates and writes the store; write-through writes the store, then the cache;
        write-behind updates the cache, answers, and leaves the store write to the next flush."""
        policy, key = self.spec.write_policy, visit.request.key
        if policy == "cache_aside":
            self.keys.invalidate(key)
            self._forward(visit)
        elif policy == "write_through":
            self.env.call_later(self.hit_latency_s, self._forward, visit)
        else:
            assert self.buffer is not None
            self._update(key)
            self.buffer.add(key, self.env.now)
            self.env.call_later(self.hit_latency_s, self._hit_done, visit)

    def _update(self, key: int) -> None:
        """A write puts the new value in the cache (counted as an access by LFU)."""
        self.keys.touch(key)
        self.keys.insert(key, self.env.now)

    def _hit_done(self, visit: Visit) -> None:
        self._settle(visit, OK)

    def _maybe_refresh(self, key: int) -> None:
        """XFetch: refresh in the background when now - delta x beta x ln U reaches the key's expiry."""
        delta_s = self.refill_s.get(key)
        if delta_s is None or key in self.refilling or self.uniform is None:
            return
        remaining_s = self.keys.expires_s(key) - self.env.now
        if -delta_s * self.spec.early_refresh_beta * math.log(self.uniform()) < remaining_s:
            return
        self.early_refreshes += 1
        self._start_refill(key).outstanding += 1
        self.store_reads += 1
        assert self.store is not None
        self.store.accept(Request(self.env.now, 0, False, key), self._refreshed, key)

    def _start_refill(self, key: int) -> _Refill:
        self.refills += 1
        refill = self.refilling[key] = _Refill(self.env.now)
        return refill

    def _read_store(self, visit: Visit) -> None:
        """A miss reads the store, unless (coalescing) a read of its key is already out: then it waits for that."""
        key = visit.request.key
        refill = self.refilling.get(key)
        if refill is None:
            refill = self._start_refill(key)
        elif self.spec.coalesce_misses:
            refill.followers.append(visit)
            return
        refill.outstanding += 1
        self.store_reads += 1
        self._forward(visit)

    def _forward(self, visit: Visit) -> None:
        assert self.store is not None
        self.store.accept(visit.request, self._stored, visit)

    def _flush_key(self, key: int, writes: int) -> None:
        assert self.store is not None and self.buffer is not None
        self.store.accept(Request(self.env.now, 0, True, key), self.buffer.flushed, writes)

    def _stored(self, visit: Visit, status: int) -> None:
        request = visit.request
        if request.is_write:
            if status == OK and self.spec.write_policy == "write_through":
                self._update(request.key)
        else:
            self._refilled(request.key, status)
            if status == OK and self.server is not None and self.server.run(request, self._answer, visit):
                return  # the fill's SET is a command of its own before the caller has its answer
        self._settle(visit, status)

    def _answer(self, visit: Visit, _waited_s: float) -> None:
        self._settle(visit, OK)

    def _refreshed(self, key: int, status: int) -> None:
        self._refilled(key, status)
        if status == OK and self.server is not None:
            self.server.run(Request(self.env.now, 0, False, key), _ignore, None)

    def _refilled(self, key: int, status: int) -> None:
        """A store read of a refill answered: fill the cache, answer the misses that waited for it."""
        now = self.env.now
        if status == OK:
            self.keys.insert(key, now)
        refill = self.refilling[key]
        if self.uniform is not None and refill.started_s >= 0:  # the first answer times the recomputation
            self.refill_s[key], refill.started_s = now - refill.started_s, -1.0
        refill.outstanding -= 1
        if self.spec.coalesce_misses or refill.outstanding == 0:
            del self.refilling[key]
            for follower in refill.followers:
                self._settle(follower, status)

"""The cache's analytic twin: its hit ratio (Che for LRU, the top keys' mass for LFU), what reaches the store
under each write policy, and its response as a mix of hits, misses and writes."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from sim.kinds.base import TwinContext
from sim.model.distributions import from_spec
from sim.theory.cache import che_characteristic_time, write_behind_store_writes_rps
from sim.theory.flows import Traffic, moments
from sim.theory.predictions import ComponentTheory, combine, station

if TYPE_CHECKING:
    from sim.kinds.cache.spec import CacheSpec


def access_rps(spec: CacheSpec, traffic: Traffic) -> np.ndarray:
    """Per-key rate of the accesses that keep a key cached: reads, plus writes unless writes invalidate."""
    return traffic.read_rps if spec.write_policy == "cache_aside" else traffic.read_rps + traffic.write_rps


def hit_ratio(spec: CacheSpec, traffic: Traffic) -> float:
    """Share of reads that hit, from the key stream, the capacity, the TTL, the eviction and the write policy."""
    read_rate = float(traffic.read_rps.sum())
    if read_rate <= 0:
        return 0.0
    per_key = _lfu_per_key(spec, traffic) if spec.eviction == "lfu" else _lru_per_key(spec, traffic)
    return float((traffic.read_rps * per_key).sum() / read_rate)


def _lru_per_key(spec: CacheSpec, traffic: Traffic) -> np.ndarray:
    """Che's approximation per key, with TTL and writes.

    A read hits when the key's last access was no longer ago than the characteristic time (or the TTL, if
    shorter) and no write invalidated it since: with Poisson events per key, for cache-aside
    r_i / (r_i + w_i) x (1 - exp(-(r_i + w_i) tau)); when writes update the cache, 1 - exp(-(r_i + w_i) tau).
    """
    accesses = access_rps(spec, traffic)
    access_rate = float(accesses.sum())
    popularity = np.round(accesses / access_rate, 15).tobytes()
    characteristic_s = _characteristic_requests(spec.capacity_keys, popularity) / access_rate
    if spec.ttl_s is not None:
        characteristic_s = min(characteristic_s, spec.ttl_s)
    events = traffic.read_rps + traffic.write_rps
    with np.errstate(invalid="ignore", divide="ignore"):
        fresh = -np.expm1(-events * characteristic_s) if np.isfinite(characteristic_s) else 1.0
        return np.where(events > 0, _last_event_kept(spec, traffic, events) * fresh, 0.0)


def _lfu_per_key(spec: CacheSpec, traffic: Traffic) -> np.ndarray:
    """Perfect LFU keeps the ``capacity_keys`` most accessed keys; each hits unless a write or the TTL emptied it.

    Without TTL and writes this is exact under the independent reference model (the top keys' popularity mass).
    A TTL costs one miss per life of the entry: r ttl / (1 + r ttl) of a kept key's reads hit (renewal).
    """
    accesses = access_rps(spec, traffic)
    kept = np.zeros(accesses.size, dtype=bool)
    kept[np.argsort(-accesses, kind="stable")[:spec.capacity_keys]] = True
    kept &= accesses > 0
    events = traffic.read_rps + traffic.write_rps
    with np.errstate(invalid="ignore", divide="ignore"):
        per_key = np.where(kept & (events > 0), _last_event_kept(spec, traffic, events), 0.0)
        if spec.ttl_s is not None:
            lives = accesses * spec.ttl_s
            per_key = per_key * lives / (1.0 + lives)
    return per_key


def _last_event_kept(spec: CacheSpec, traffic: Traffic, events: np.ndarray) -> np.ndarray | float:
    """Share of a key's reads whose previous event left the key cached: all of them unless writes invalidate."""
    if spec.write_policy != "cache_aside":
        return 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return traffic.read_rps / events


@functools.lru_cache(maxsize=32)
def _characteristic_requests(capacity_keys: int, popularity: bytes) -> float:
    """Che's characteristic time in requests; it depends on popularity only, not on the rate, so a search over
    rates (the closed-workload fixed point, sweeps of the load) computes it once."""
    return che_characteristic_time(np.frombuffer(popularity, dtype=np.float64), capacity_keys)


def store_traffic(spec: CacheSpec, traffic: Traffic, hits: float) -> Traffic:
    """What reaches the store: the reads that miss, and the writes (coalesced per flush behind a write buffer)."""
    writes = traffic.write_rps
    if spec.write_policy == "write_behind":
        writes = write_behind_store_writes_rps(writes, spec.write_behind_delay_ms)
    return Traffic(traffic.read_rps * (1 - hits), writes)


def write_cost_ms(spec: CacheSpec, store_ms: float) -> tuple[float, bool]:
    """What a write costs its caller (ms) and whether that includes the store's response."""
    if spec.write_policy == "write_behind":
        return spec.hit_latency_ms, False
    if spec.write_policy == "write_through":
        return spec.hit_latency_ms + store_ms, True
    return store_ms, True


def predict(spec: CacheSpec, name: str, traffic: Traffic, context: TwinContext) -> ComponentTheory:
    """No queue of its own: hits answer in ``hit_latency_ms``; misses add the store's response, writes per policy."""
    hits, store = context.routed[name], context.predictions[spec.store]
    reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())
    result, command_ms = _server(spec, name, traffic, hits, context)

    def outcomes(store_ms: float, command_ms: float) -> list[tuple[float, float, float]]:  # (rate, ms, ms²)
        write_ms, waits_for_store = write_cost_ms(spec, store_ms)
        return [(reads * hits, command_ms + spec.hit_latency_ms, 0.0),
                (reads * (1 - hits), 2 * command_ms + spec.miss_latency_ms + store_ms, store.response_variance_ms2),
                (writes, command_ms + write_ms, store.response_variance_ms2 if waits_for_store else 0.0)]

    # a store that gets no traffic has no mean response of its own; a miss would meet it unloaded
    store_ms = store.mean_response_ms if store.mean_response_ms is not None or not store.stable \
        else store.unloaded_response_ms
    if store_ms is not None and command_ms is not None and reads + writes > 0:
        result.mean_response_ms, result.response_variance_ms2 = moments(outcomes(store_ms, command_ms))
    else:
        result.mean_response_ms = None
    unloaded_command_ms = from_spec(spec.server.operation_time).mean_ms if spec.server is not None else 0.0
    result.unloaded_response_ms = (moments(outcomes(store.unloaded_response_ms, unloaded_command_ms))[0]
                                   if reads + writes > 0 else spec.hit_latency_ms)
    result.model = ", ".join(part for part in ("top-C popularity (LFU)" if spec.eviction == "lfu" else "Che (LRU)",
                                               result.model) if part)
    result.notes = _notes(spec, writes)
    result.hit_ratio = hits
    return result


def _server(spec: CacheSpec, name: str, traffic: Traffic, hits: float,
            context: TwinContext) -> tuple[ComponentTheory, float | None]:
    """The cache server's station, if it has one, and a command's response on it (ms; None when saturated).

    Commands arrive at the rate of reads, fills (one per miss) and writes, each holding the event loop (M/G/1)
    or one of the threads (M/G/c) for the operation time.
    """
    reads, writes = float(traffic.read_rps.sum()), float(traffic.write_rps.sum())
    if spec.server is None:
        return ComponentTheory("cache", reads + writes, None), 0.0
    operation = from_spec(spec.server.operation_time)
    commands_rps = reads * (2 - hits) + writes
    station_name = spec.station_names(name)[0]
    prediction = station(commands_rps, (operation.mean_ms, operation.variance_ms2), spec.server.servers,
                         spec.server.queue_capacity)
    result = combine("cache", traffic, {station_name: prediction})
    result.arrival_rate_rps = reads + writes
    wait_ms = prediction.queue.mean_wait_ms
    return result, (wait_ms + operation.mean_ms if wait_ms is not None else None)


def _notes(spec: CacheSpec, writes: float) -> list[str]:
    notes = ["hit ratio from the top keys' popularity (perfect LFU)" if spec.eviction == "lfu"
             else "hit ratio from Che's approximation for LRU"]
    if writes > 0 and spec.write_policy == "cache_aside":
        notes.append("writes invalidate keys, so the real hit ratio is a little lower")
    if spec.write_policy == "write_behind":
        notes.append(f"writes are acknowledged from memory and reach the store at the next flush "
                     f"(every {spec.write_behind_delay_ms:g} ms, {spec.write_behind_delay_ms / 2:g} ms later on "
                     f"average): that is the window of writes lost if the cache dies")
    if spec.server is not None:
        notes.append(f"every command takes CPU time on the server's {spec.server.describe()}: "
                     f"{'M/G/1' if spec.server.servers == 1 else 'M/G/c'} on its operation time")
    if spec.early_refresh_beta is not None:
        notes.append("early refresh replaces most TTL expiries by background store reads; the hit ratio here "
                     "still counts each expiry as a miss")
    return notes

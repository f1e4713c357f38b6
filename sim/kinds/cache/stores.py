"""The key stores a cache runs on: which keys it holds, when they expire, and which one it evicts when full.

``LruCache`` evicts the least recently used key. ``LfuCache`` is perfect LFU: it counts every key's accesses
(cached or not) and holds the most frequently used ones, so with stationary popularity it keeps the top keys.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable

Jitter = Callable[[], float] | None  # a zero-argument function giving the TTL's factor, None for the TTL as written


class _ExpiringStore:
    """What both policies share: expiry times per cached key, the TTL and its jitter, and the eviction count."""

    entries: dict[int, float]

    def __init__(self, capacity: int, ttl_s: float | None, jitter: Jitter = None) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.jitter = jitter
        self.evictions = 0

    def _expiry(self, now: float) -> float:
        if self.ttl_s is None:
            return float("inf")
        return now + self.ttl_s * (self.jitter() if self.jitter is not None else 1.0)

    def _fresh(self, key: int, now: float) -> bool:
        """True when ``key`` is cached and not expired; an expired entry is dropped."""
        expires_s = self.entries.get(key)
        if expires_s is None:
            return False
        if expires_s <= now:
            del self.entries[key]
            return False
        return True

    def expires_s(self, key: int) -> float:
        """When the cached ``key`` expires (infinity without a TTL or when absent)."""
        return self.entries.get(key, float("inf"))

    def invalidate(self, key: int) -> None:
        self.entries.pop(key, None)


class LruCache(_ExpiringStore):
    """Keys with expiry times, least recently used first; ``capacity`` keys at most."""

    def __init__(self, capacity: int, ttl_s: float | None, jitter: Jitter = None) -> None:
        super().__init__(capacity, ttl_s, jitter)
        self.entries: OrderedDict[int, float] = OrderedDict()

    def lookup(self, key: int, now: float) -> bool:
        """True on a hit (present and fresh); a hit makes the key most recently used."""
        if not self._fresh(key, now):
            return False
        self.entries.move_to_end(key)
        return True

    def touch(self, key: int) -> None:
        """An access that is not a lookup (a write that updates the cache); LRU needs nothing beyond ``insert``."""

    def insert(self, key: int, now: float) -> None:
        """Store ``key`` as most recently used, evicting the least recently used beyond capacity."""
        self.entries[key] = self._expiry(now)
        self.entries.move_to_end(key)
        if len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
            self.evictions += 1


class LfuCache(_ExpiringStore):
    """Perfect LFU: access counts for every key seen; the cache holds the keys counted most often.

    A key is admitted when the cache has room or when it has been accessed more often than the least frequently
    used cached key (which it then evicts; ties go to the key admitted first). The heap holds (count when pushed,
    admission order, key); counts only grow, so a popped entry whose count is out of date is pushed again with
    its current count, and the first up-to-date entry popped is the true minimum.
    """

    def __init__(self, capacity: int, ttl_s: float | None, jitter: Jitter = None) -> None:
        super().__init__(capacity, ttl_s, jitter)
        self.entries: dict[int, float] = {}
        self.counts: dict[int, int] = {}
        self.heap: list[tuple[int, int, int]] = []
        self.admitted = 0

    def lookup(self, key: int, now: float) -> bool:
        """Count an access to ``key``; True when it is cached and fresh."""
        self.touch(key)
        return self._fresh(key, now)

    def touch(self, key: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def insert(self, key: int, now: float) -> None:
        """Cache ``key`` if it has room or is used more often than the least used cached key."""
        if key not in self.entries and len(self.entries) >= self.capacity:
            least = self._least_used()
            if least is None or self.counts.get(key, 0) <= self.counts[least]:
                return
            del self.entries[least]
            self.evictions += 1
        if key not in self.entries:
            self.admitted += 1
            heapq.heappush(self.heap, (self.counts.get(key, 0), self.admitted, key))
            if len(self.heap) > 2 * self.capacity + 64:
                self._compact()
        self.entries[key] = self._expiry(now)

    def _least_used(self) -> int | None:
        """The cached key with the smallest count (its heap entry stays on the heap)."""
        heap, counts, entries = self.heap, self.counts, self.entries
        while heap:
            count, order, key = heap[0]
            if key not in entries:
                heapq.heappop(heap)
            elif count < counts[key]:
                heapq.heapreplace(heap, (counts[key], order, key))
            else:
                return key
        return None

    def _compact(self) -> None:
        """Rebuild the heap from the cached keys (dropping entries of evicted or invalidated keys)."""
        latest = {key: (count, order) for count, order, key in self.heap if key in self.entries}
        self.heap = [(self.counts[key], order, key) for key, (_count, order) in latest.items()]
        heapq.heapify(self.heap)


def key_store(eviction: str, capacity: int, ttl_s: float | None, jitter: Jitter = None) -> LruCache | LfuCache:
    """The store for an ``eviction`` policy name ("lru" or "lfu")."""
    return (LfuCache if eviction == "lfu" else LruCache)(capacity, ttl_s, jitter)

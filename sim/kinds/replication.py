"""Asynchronous primary-to-replica replication: per-key versions, so a replica read can be found stale.

The primary commits a write (its query finishes) and ships it to each replica, which applies it after a lag.
A read served by a replica is stale when the replica's applied version of the key is older than the newest
version committed at the primary at that moment; its age is how long ago that newest write committed. Only
keys with a write not yet applied everywhere have an entry, so the state stays bounded by recent writes.
"""

from __future__ import annotations

CLASS_FIELDS = ("replica_reads", "stale_reads", "stale_age_total_s")  # also per request class, "<field>@<class>"


def staleness(reads: float, stale: float, age_total_s: float) -> dict[str, float | None]:
    """The share of replica reads that were stale and their mean age (ms), from a window's counts."""
    return {"stale_read_ratio": stale / reads if reads else None,
            "mean_stale_age_ms": 1000.0 * age_total_s / stale if stale else None}


class ReplicationLog:
    """Versions per key for one shard: ``[newest committed, its commit time (s), applied at replica 0, 1, ...]``."""

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.entries: dict[int, list[float]] = {}
        self.last_version = 0
        self.stale_reads = self.replica_reads = 0
        self.stale_age_total_s = 0.0
        self.by_class: dict[int, list[float]] = {}  # per request class: [replica reads, stale reads, stale age s]

    def commit(self, key: int, now: float) -> int:
        """Record a write committed at the primary; returns its version, which each replica must apply."""
        self.last_version += 1
        entry = self.entries.get(key)
        if entry is None:  # every replica holds all older writes of this key
            entry = self.entries[key] = [0.0, 0.0] + [float(self.last_version - 1)] * self.replicas
        entry[0], entry[1] = float(self.last_version), now
        return self.last_version

    def apply(self, key: int, replica: int, version: int) -> None:
        """Replica ``replica`` applied ``version`` of ``key`` (versions may arrive out of order)."""
        entry = self.entries[key]
        entry[2 + replica] = max(entry[2 + replica], float(version))
        if min(entry[2:]) >= entry[0]:
            del self.entries[key]

    def read(self, key: int, replica: int, now: float, class_index: int = 0) -> None:
        """A read of ``key`` (of request class ``class_index``) served by ``replica`` at ``now``: count it, and
        whether (and how long) it is stale, in total and for its class."""
        self.replica_reads += 1
        counts = self.by_class.get(class_index)
        if counts is None:
            counts = self.by_class[class_index] = [0.0, 0.0, 0.0]
        counts[0] += 1
        entry = self.entries.get(key)
        if entry is not None and entry[2 + replica] < entry[0]:
            age_s = now - entry[1]
            self.stale_reads += 1
            self.stale_age_total_s += age_s
            counts[1] += 1
            counts[2] += age_s

"""The ``kind: cache`` package: its spec and contract (``spec``), key stores with LRU or LFU eviction
(``stores``), the runtime with write policies and early refresh (``runtime``) and the twin (``twin``)."""

from sim.kinds.cache.spec import CacheSpec
from sim.kinds.cache.stores import LfuCache, LruCache

__all__ = ["CacheSpec", "LfuCache", "LruCache"]

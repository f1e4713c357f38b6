"""One seed per run, split into named, independent random streams.

Each stream is keyed by its name, not by creation order, so adding a component never changes the draws of
another: two variants of a scenario see the same arrivals (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 64-bit integer for a stream name (the same in every process and Python version)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


class RandomStreams:
    """Named random generators derived from one seed with ``numpy.random.SeedSequence``."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer (got {seed})")
        self.seed = seed

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name``; asking twice gives two generators with identical draws."""
        sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),))
        return np.random.Generator(np.random.PCG64(sequence))

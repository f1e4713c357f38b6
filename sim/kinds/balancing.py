"""Load-balancing policies: small objects with one method, testable on hand-made inputs.

``choose(key, loads)`` returns the index of the instance to use, given the request's key and the number of
requests each instance holds right now (waiting plus in service).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from sim.model.keys import mix_key
from sim.runtime.rng import stream_key


class RoundRobin:
    """Instances in turn: 0, 1, ..., n-1, 0, ..."""

    def __init__(self, instance_count: int) -> None:
        self.instance_count = instance_count
        self.next_index = 0

    def choose(self, key: int, loads: Sequence[int]) -> int:
        index = self.next_index
        self.next_index = (index + 1) % self.instance_count
        return index


class RandomChoice:
    """Any instance with equal probability (Poisson traffic splits into independent Poisson streams)."""

    def __init__(self, instance_count: int, rng: np.random.Generator) -> None:
        self.instance_count = instance_count
        self.rng = rng

    def choose(self, key: int, loads: Sequence[int]) -> int:
        return int(self.rng.integers(self.instance_count))


class LeastConnections:
    """The instance holding the fewest requests; ties go to the lowest index."""

    def choose(self, key: int, loads: Sequence[int]) -> int:
        return min(range(len(loads)), key=loads.__getitem__)


class PowerOfTwoChoices:
    """Two distinct instances at random, then the less loaded one (ties go to the first drawn)."""

    def __init__(self, instance_count: int, rng: np.random.Generator) -> None:
        self.instance_count = instance_count
        self.rng = rng

    def choose(self, key: int, loads: Sequence[int]) -> int:
        if self.instance_count == 1:
            return 0
        first = int(self.rng.integers(self.instance_count))
        second = int(self.rng.integers(self.instance_count - 1))
        second += second >= first
        return second if loads[second] < loads[first] else first


class ConsistentHash:
    """A hash ring with ``virtual_nodes`` points per instance; a key goes to the next point clockwise."""

    def __init__(self, instance_count: int, virtual_nodes: int) -> None:
        points = sorted(
            (stream_key(f"instance-{instance}/vnode-{vnode}"), instance)
            for instance in range(instance_count)
            for vnode in range(virtual_nodes)
        )
        self.ring_hashes = [point for point, _instance in points]
        self.ring_instances = [instance for _point, instance in points]

    def choose(self, key: int, loads: Sequence[int]) -> int:
        position = bisect.bisect_left(self.ring_hashes, mix_key(key))
        return self.ring_instances[position % len(self.ring_instances)]


Policy = RoundRobin | RandomChoice | LeastConnections | PowerOfTwoChoices | ConsistentHash


def make_policy(name: str, instance_count: int, rng: np.random.Generator, virtual_nodes: int = 64) -> Policy:
    """The policy called ``name`` (as written in a scenario) for ``instance_count`` instances."""
    if name == "round_robin":
        return RoundRobin(instance_count)
    if name == "random":
        return RandomChoice(instance_count, rng)
    if name == "least_connections":
        return LeastConnections()
    if name == "power_of_two":
        return PowerOfTwoChoices(instance_count, rng)
    if name == "consistent_hash":
        return ConsistentHash(instance_count, virtual_nodes)
    raise ValueError(f"unknown load-balancing policy {name!r}")

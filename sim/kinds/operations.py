"""What the data kinds share: read and write time samplers, and traffic summed per partition by the key hash."""

from __future__ import annotations

import numpy as np

from sim.model.distributions import DistributionSpec, Sampler, from_spec
from sim.model.keys import mix_keys
from sim.runtime.rng import RandomStreams


def operation_samplers(read_time: DistributionSpec, write_time: DistributionSpec, name: str,
                       streams: RandomStreams) -> tuple[Sampler, Sampler]:
    """Samplers (seconds) of a read's and a write's service time, on the component's own named streams."""
    return (from_spec(read_time).sampler(streams.stream(f"component/{name}/read")),
            from_spec(write_time).sampler(streams.stream(f"component/{name}/write")))


def by_partition(rates: list[np.ndarray], partitions: int) -> list[np.ndarray]:
    """Per-key rates summed per partition, a key's partition being the engine's key hash modulo ``partitions``."""
    if partitions == 1:
        return [np.array([rate.sum()]) for rate in rates]
    partition_of_key = (mix_keys(np.arange(rates[0].size)) % np.uint64(partitions)).astype(np.int64)
    return [np.bincount(partition_of_key, weights=rate, minlength=partitions) for rate in rates]

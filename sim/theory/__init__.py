"""Closed forms: queueing formulas and cache hit ratios, the ground truth the simulation is checked against.

Pure mathematics over plain numbers and numpy arrays: nothing here knows a scenario or the engine, and nothing
imports SimPy. ``queues`` holds the station formulas (M/M/1, M/M/c, M/G/1, M/D/1, Erlang B and C, M/M/c/K and
percentiles), ``cache`` Che's approximation for LRU caches.
"""

from sim.theory.queues import (
    QueuePrediction,
    erlang_b,
    erlang_c,
    erlang_loss,
    littles_law_in_system,
    md1,
    mg1,
    mgc,
    mm1,
    mm1_response_percentile,
    mmc,
    mmc_wait_percentile,
    mmck,
    station,
)

__all__ = [
    "QueuePrediction",
    "erlang_b",
    "erlang_c",
    "erlang_loss",
    "littles_law_in_system",
    "md1",
    "mg1",
    "mgc",
    "mm1",
    "mm1_response_percentile",
    "mmc",
    "mmc_wait_percentile",
    "mmck",
    "station",
]

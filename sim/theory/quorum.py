"""Quorums and staleness: k-of-n order statistics of replica latencies, and the chance a read is stale.

A leaderless store (Cassandra, Dynamo) sends each operation to its ``n`` replicas and answers after the ``k``-th
reply, so its latency is the k-th order statistic of the replicas' latencies. For independent exponential
replicas (mean ``m``) the k-th smallest of n is a sum of exponential gaps (Rényi): mean m Σ 1/i and variance
m² Σ 1/i² over i = n-k+1 … n, and its quantile follows from the Beta(k, n-k+1) law of the k-th smallest uniform.

Staleness: with asynchronous replication at a fixed lag ``d`` and Poisson writes of rate ``w`` to a key, a read
at a random time is stale when a write came in the last ``d``: probability 1 - exp(-w d). For partial quorums
(R + W <= N) the reference is the Monte Carlo of Probabilistically Bounded Staleness (Bailis et al., the WARS
model), written out here for exponential replica latencies.
"""

from __future__ import annotations

import math

import numpy as np


def order_statistic_mean(k: int, n: int, mean: float) -> float:
    """Mean of the k-th smallest of ``n`` independent exponentials of mean ``mean``."""
    _check(k, n)
    return mean * sum(1.0 / index for index in range(n - k + 1, n + 1))


def order_statistic_variance(k: int, n: int, mean: float) -> float:
    """Variance of the k-th smallest of ``n`` independent exponentials of mean ``mean``."""
    _check(k, n)
    return mean**2 * sum(1.0 / index**2 for index in range(n - k + 1, n + 1))


def order_statistic_quantile(k: int, n: int, mean: float, probability: float) -> float:
    """The ``probability`` quantile of the k-th smallest of ``n`` independent exponentials of mean ``mean``."""
    from scipy import stats  # here, not at the top: scipy.stats takes seconds to import and kinds load this module

    _check(k, n)
    uniform = float(stats.beta.ppf(probability, k, n - k + 1))
    return -mean * math.log1p(-uniform)


def stale_read_probability_fixed_lag(read_rps: np.ndarray, write_rps: np.ndarray, lag_s: float) -> float:
    """Share of reads that are stale with Poisson writes per key and a fixed replication lag (reads Poisson too).

    A read of key i is stale when key i was written within the last ``lag_s``: 1 - exp(-w_i lag). The share
    over all reads weights each key by its read rate.
    """
    total = float(read_rps.sum())
    if total <= 0:
        return 0.0
    return float((read_rps * -np.expm1(-write_rps * lag_s)).sum() / total)


def pbs_stale_probability(n: int, read_quorum: int, write_quorum: int, read_mean_ms: float, write_mean_ms: float,
                          write_rps: float, rng: np.random.Generator, reads: int = 200_000,
                          lookback: int = 12) -> float:
    """Monte Carlo (PBS, WARS model) share of stale reads of one key with Poisson writes (reads see time averages).

    Each write reaches replica j after an exponential delay (mean ``write_mean_ms``) and commits at its
    ``write_quorum``-th acknowledgement. Each read is answered by the ``read_quorum`` replicas that reply first
    (exponential delays, mean ``read_mean_ms``); a replica returns the newest write it has applied when it
    replies. A read is stale when the newest version returned is older than the newest write committed when
    the read began. Only the ``lookback`` writes before each read are followed: older ones have been applied
    everywhere except with a negligible probability (``lookback`` gaps against one delay).
    """
    _check(read_quorum, n)
    _check(write_quorum, n)
    write_gaps_s = rng.exponential(1.0 / write_rps, (reads, lookback))
    ages_s = np.cumsum(write_gaps_s, axis=1)  # how long before the read each earlier write arrived, newest first
    # the read's arrival splits a write gap: by memorylessness its distance to the previous write is exponential
    apply_s = -ages_s[:, :, None] + rng.exponential(write_mean_ms / 1000.0, (reads, lookback, n))
    commit_s = np.sort(apply_s, axis=2)[:, :, write_quorum - 1]
    reply_s = rng.exponential(read_mean_ms / 1000.0, (reads, n))
    first = np.argsort(reply_s, axis=1)[:, :read_quorum]
    reply_first_s = np.take_along_axis(reply_s, first, axis=1)  # (reads, R)
    applied_first_s = np.take_along_axis(apply_s, first[:, None, :], axis=2)  # (reads, lookback, R)
    # version index 0 is the newest write; a smaller index is newer
    seen = applied_first_s <= reply_first_s[:, None, :]
    newest_seen = np.where(seen.any(axis=(1, 2)), np.argmax(seen.any(axis=2), axis=1), lookback)
    committed = commit_s <= 0.0
    newest_committed = np.where(committed.any(axis=1), np.argmax(committed, axis=1), lookback)
    return float(np.mean(newest_seen > newest_committed))


def _check(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")

"""Parallel efficiency of a sweep: the same 20-point sweep on 1 worker and on 2 local worker processes.

One worker runs every replication in this process (no pool, no pickling): the baseline a user gets with
``--workers 1``. Two workers use the default executor, a process pool. Both runs use the same seeds, and the
benchmark checks that they return identical rows before it reports anything. It prints the wall time of each
(best of the repeats, the two alternated so both see the same machine), the speed-up T1 / T2 (target >= 1.7 on
2 cores) and the parallel efficiency, speed-up / 2.

Run ``python benchmarks/sweep_parallel.py`` (about 30 s on 2 cores) or add ``--quick`` for a 3x shorter run.
"""

from __future__ import annotations

import argparse
import os
import time

import sim

POINTS = 20
RATE_STEP_RPS = 150  # rates 150, 300, ..., 3000 req/s into 4 workers of 1 ms: utilisation 4% to 75%
FULL_DURATION_S = 30.0
QUICK_DIVISOR = 3
REPEATS = 2
TARGET_SPEEDUP = 1.7


def scenario(duration_s: float) -> sim.Scenario:
    return sim.parse_scenario({
        "name": "sweep-benchmark", "duration_s": duration_s, "warmup_s": 1,
        "workload": {"rate_rps": RATE_STEP_RPS, "entry": "api"},
        "components": {"api": {"kind": "service", "workers": 4,
                               "service_time": {"distribution": "exponential", "mean_ms": 1}}},
    })


def timed_sweep(base: sim.Scenario, workers: int) -> tuple[float, list[dict]]:
    vary = {"workload.rate_rps": [RATE_STEP_RPS * (index + 1) for index in range(POINTS)]}
    started = time.perf_counter()
    result = sim.sweep(base, vary, 1, workers=workers)
    return time.perf_counter() - started, result.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3x shorter simulated runs")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per mode; the fastest counts")
    options = parser.parse_args()
    base = scenario(FULL_DURATION_S / (QUICK_DIVISOR if options.quick else 1))
    best = {1: float("inf"), 2: float("inf")}
    rows: dict[int, list[dict]] = {}
    for _repeat in range(options.repeats):
        for workers in (1, 2):
            elapsed, rows[workers] = timed_sweep(base, workers)
            best[workers] = min(best[workers], elapsed)
    assert rows[1] == rows[2], "the pool returned different rows from the serial run"
    requests = sum(row["offered"] for row in rows[1])
    speedup = best[1] / best[2]
    print(f"{POINTS}-point sweep, {requests:,} measured requests, {os.cpu_count()} cores, "
          f"best of {options.repeats}")
    print(f"1 worker : {best[1]:6.2f} s")
    print(f"2 workers: {best[2]:6.2f} s")
    print(f"speed-up : {speedup:.2f}x (target >= {TARGET_SPEEDUP}x); parallel efficiency {speedup / 2:.0%}")
    print("rows identical: yes")


if __name__ == "__main__":
    main()

"""A sweep on a Dask cluster gives exactly the rows of the local executor (same seeds, same numbers).

The test starts its own two-worker cluster on 127.0.0.1 (dashboard off) and stops it at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sim
from sim.experiments.executors import DaskExecutor
from tests.conftest import single_service

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    # No dashboard; the scheduler's bare HTTP server (health checks) goes to a free port on 127.0.0.1.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       scheduler_port=0, dashboard_address="127.0.0.1:0",
                                       scheduler_kwargs={"dashboard": False})
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_sweep_equals_local_sweep(scheduler_address: str) -> None:
    scenario = sim.parse_scenario({**single_service(mean_ms=1), "duration_s": 4, "warmup_s": 1})
    vary = {"workload.rate_rps": [200, 500, 800], "components.api.workers": [1, 2]}
    local = sim.sweep(scenario, vary, 2, warmup="auto", workers=2)
    remote = sim.sweep(scenario, vary, 2, warmup="auto", scheduler=scheduler_address)
    assert len(remote.rows) == 12
    assert remote.rows == local.rows
    assert len({row["latency_p99_ms"] for row in remote.rows}) == 12  # real, distinct measurements


def test_dask_executor_reports_progress_and_parallelism(scheduler_address: str) -> None:
    scenario = sim.parse_scenario({**single_service(mean_ms=1), "duration_s": 3, "warmup_s": 1})
    seen: list[tuple[int, int]] = []
    with DaskExecutor(scheduler_address) as executor:
        assert executor.parallelism == 2
        report = sim.replicate(scenario, 3, executor=executor, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3) and [done for done, _total in seen] == [1, 2, 3]
    assert report.rows == sim.replicate(scenario, 3, workers=1).rows

"""The app's worker pool: runs off the caller's process, one per owner, cancelled on request or by a new one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sim
from sim.experiments.pool import SimulationPool, run_digest
from tests.app_helpers import HEAVY

LONG_BUDGET = {"max_wall_time_s": 60.0}  # long enough that only a cancel can stop the heavy run early
ANSWER_S = 60.0  # a spawned worker imports the package first: a generous bound for its answer


@pytest.fixture(scope="module")
def pool() -> Iterator[SimulationPool]:
    workers = SimulationPool(workers=2)
    yield workers
    workers.close()


def heavy_json() -> str:
    return sim.parse_scenario_text(HEAVY).model_dump_json()


def test_a_new_task_of_the_same_owner_cancels_the_previous_one(pool: SimulationPool) -> None:
    first = pool.submit("learner", run_digest, heavy_json(), 1, LONG_BUDGET)
    light = sim.load_scenario("scenarios/single-server.yaml")
    second = pool.submit("learner", run_digest, light.model_dump_json(), 1, None)
    cancelled = first.future.result(timeout=ANSWER_S) if not first.future.cancelled() else None
    if cancelled is not None:  # it had started: its watchdog saw the flag
        assert cancelled["summary"]["stopped"]["limit"] == "cancelled"
    answer = second.future.result(timeout=ANSWER_S)["summary"].to_data()
    expected = sim.run(light, seed=1).summary.to_data()
    for summary in (answer, expected):
        summary.pop("wall_time_s")
    assert answer == expected  # the same seed gives the same numbers in a worker process


def test_cancel_stops_a_running_task_and_owners_do_not_cancel_each_other(pool: SimulationPool) -> None:
    mine = pool.submit("one", run_digest, heavy_json(), 1, LONG_BUDGET)
    other = pool.submit("two", run_digest, heavy_json(), 2, {"max_events": 100_000})
    assert pool.busy() == 2
    pool.cancel(mine)
    if not mine.future.cancelled():
        assert mine.future.result(timeout=ANSWER_S)["summary"]["stopped"]["limit"] == "cancelled"
    assert other.future.result(timeout=ANSWER_S)["summary"]["stopped"]["limit"] == "max_events"
    assert pool.busy() == 0


def test_replacing_a_queued_task_does_not_deadlock() -> None:
    """Cancelling a task that has not started runs its done-callback at once, inside the pool's lock (a busy
    server: the owner's previous task still waits behind another session's)."""
    single = SimulationPool(workers=1)
    try:
        busy = single.submit("other", run_digest, heavy_json(), 1, LONG_BUDGET)
        light = sim.load_scenario("scenarios/single-server.yaml").model_dump_json()
        queued = single.submit("learner", run_digest, light, 1, None)
        replacement = single.submit("learner", run_digest, light, 2, None)  # deadlocked with a plain Lock
        assert queued.future.cancelled()
        single.cancel(busy)
        assert replacement.future.result(timeout=ANSWER_S)["summary"]["seed"] == 2
    finally:
        single.close()

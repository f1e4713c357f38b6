"""A small pool of worker processes for an interactive front end: runs off the caller's thread, cancellable.

The app serves many sessions from one server process. Simulating there would hold the server's interpreter lock
and starve every other session's page, so each run goes to a worker process instead, under the app's budget.
Every task holds a ticket whose cancel flag (one byte of shared memory) the run's watchdog reads every few
thousand events, so a run whose session reruns or ends stops within milliseconds. A session has at most one
running task: submitting another cancels the previous one.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model.limits import Cancel
from sim.results import run
from sim.scenario.scenario import scenario_from_json

SLOTS = 1024  # cancel flags: tasks queued or running at once, across every session
_worker_flags: Any = None  # in a worker process: the shared cancel flags, set by the pool's initializer


def _initialise(flags: Any) -> None:
    global _worker_flags
    _worker_flags = flags


def _warm() -> None:
    """A worker's first task: nothing, so that it starts (and imports the engine) before the first real run."""


def _call(slot: int, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """In a worker: run ``function(*args, cancel=...)`` with the ticket's cancel flag."""
    flags = _worker_flags
    return function(*args, cancel=lambda: bool(flags[slot]))


@dataclass
class Ticket:
    """One submitted task: its future and its cancel flag's slot."""

    future: Future[Any]
    slot: int


class SimulationPool:
    """Worker processes (spawned, so they share no state or locks with the server) running cancellable tasks."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._context = multiprocessing.get_context("spawn")
        self._flags = self._context.Array("b", SLOTS, lock=False)
        # re-entrant: cancelling a queued future runs its done-callback (``_release``) at once, in this thread
        self._lock = threading.RLock()
        self._free = list(range(SLOTS))
        self._running: dict[Hashable, Ticket] = {}
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        """A fresh executor whose workers start now (importing the engine takes seconds on a busy machine)."""
        executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context, initializer=_initialise,
                                       initargs=(self._flags,))
        for _worker in range(self.workers):
            executor.submit(_warm)
        return executor

    def submit(self, owner: Hashable, function: Callable[..., Any], *args: Any) -> Ticket:
        """Run ``function(*args, cancel=...)`` in a worker; cancels ``owner``'s previous task first."""
        with self._lock:
            previous = self._running.pop(owner, None)
            if previous is not None:
                self._cancel(previous)
            if not self._free:
                raise RuntimeError("the server is busy: too many simulations are waiting; try again shortly")
            slot = self._free.pop()
            self._flags[slot] = 0
            try:
                future = self._start(slot, function, args)
            except BaseException:
                self._free.append(slot)
                raise
            ticket = Ticket(future, slot)
            self._running[owner] = ticket
        future.add_done_callback(lambda _done: self._release(owner, ticket))
        return ticket

    def _start(self, slot: int, function: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        try:
            return self._executor.submit(_call, slot, function, args)
        except BrokenProcessPool:  # a worker died (e.g. killed by the system): start a fresh pool
            self._executor = self._new_executor()
            return self._executor.submit(_call, slot, function, args)

    def busy(self) -> int:
        """Tasks queued or running now."""
        with self._lock:
            return sum(not ticket.future.done() for ticket in self._running.values())

    def cancel(self, ticket: Ticket) -> None:
        """Ask the task to stop (a queued task never starts); harmless once it finished."""
        with self._lock:
            self._cancel(ticket)

    def _cancel(self, ticket: Ticket) -> None:
        if not ticket.future.done():
            self._flags[ticket.slot] = 1
            ticket.future.cancel()

    def _release(self, owner: Hashable, ticket: Ticket) -> None:
        with self._lock:
            if self._running.get(owner) is ticket:
                del self._running[owner]
            self._free.append(ticket.slot)

    def close(self) -> None:
        with self._lock:
            for ticket in self._running.values():
                self._cancel(ticket)
        self._executor.shutdown(wait=False, cancel_futures=True)


class PoolExecutor:
    """An experiment executor (``sim.experiments.executors.Executor``) running one task at a time in the pool
    for one owner.

    ``wait`` blocks until a ticket's result is in (a front end polls there, so it can notice a rerun and cancel).
    """

    parallelism = 1

    def __init__(self, pool: SimulationPool, owner: Hashable, wait: Callable[[Ticket], Any]) -> None:
        self.pool = pool
        self.owner = owner
        self.wait = wait

    def map(self, function: Callable[..., Any], tasks: Any, progress: Callable[[int, int], None] | None = None
            ) -> list[Any]:
        results = []
        for done, task in enumerate(tasks, start=1):
            results.append(self.wait(self.pool.submit(self.owner, function, *task)))
            if progress is not None:
                progress(done, len(tasks))
        return results

    def close(self) -> None:
        return None


# --- tasks (top-level functions, so a worker process can import them) ---------------------------------


def run_digest(scenario_json: str, seed: int, limits: dict[str, float] | None,
               cancel: Cancel | None = None) -> dict[str, Any]:
    """One replication as plain data: summary, time series, latencies and the time-series CSV."""
    from sim.results.timeseries import timeseries_frame

    result = run(scenario_from_json(scenario_json), seed=seed, limits=limits, cancel=cancel)
    return {
        "summary": result.summary,
        "timeseries": result.timeseries(),
        "latencies_ms": np.array(result.ok_latencies_ms(), dtype=np.float32),
        "timeseries_csv": timeseries_frame(result).to_csv(index=False),
    }


def run_records_csv(scenario_json: str, seed: int, limits: dict[str, float] | None,
                    cancel: Cancel | None = None) -> str:
    """One replication's per-request records as CSV."""
    result = run(scenario_from_json(scenario_json), seed=seed, limits=limits, cancel=cancel)
    return str(result.to_pandas().to_csv(index=False))

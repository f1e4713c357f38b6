"""``sim serve``: replay a finished run in scaled real time on a live ``/metrics`` endpoint (prometheus_client).

The run is simulated first; then simulated second ``t`` is shown at wall-clock second ``t / speed``. Each scrape
sees the metric families of ``sim.interop.metrics_table`` at the latest snapshot already reached, plus
``sim_replay_simulated_seconds`` (where the replay is). Counters count simulated requests, but Prometheus
divides by wall-clock seconds, so ``rate()`` shows ``speed`` times the simulated rates; gauges (utilisation,
queue length) are unaffected. At the end of the run the endpoint keeps the final values for ``linger_s``
seconds, so a last scrape sees them, then stops by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry

from sim.interop.metrics_table import MetricsTable, build_metrics_table
from sim.interop.openmetrics import prometheus_metrics
from sim.results.result import Result

Clock = Callable[[], float]
POLL_S = 0.05


class ReplayCollector:
    """Serves the table's values at the snapshot the replay has reached."""

    def __init__(self, table: MetricsTable, speed: float, clock: Clock = time.monotonic) -> None:
        self.table = table
        self.speed = speed
        self.clock = clock
        self.started = clock()

    def simulated_s(self) -> float:
        """Simulated seconds reached so far (capped at the run's end)."""
        return min((self.clock() - self.started) * self.speed, float(self.table.times_s[-1]))

    def row(self) -> int:
        """The latest snapshot at or before the replay's simulated time."""
        return max(0, int(np.searchsorted(self.table.times_s, self.simulated_s(), side="right")) - 1)

    def finished(self) -> bool:
        return self.row() == len(self.table.times_s) - 1

    def collect(self) -> Iterator[Metric]:
        yield from prometheus_metrics(self.table, [self.row()], None)
        position = Metric("sim_replay_simulated_seconds", "Simulated time the replay has reached", "gauge")
        position.add_sample("sim_replay_simulated_seconds", {}, self.simulated_s())
        yield position
        speed = Metric("sim_replay_speed", "Simulated seconds shown per wall-clock second", "gauge")
        speed.add_sample("sim_replay_speed", {}, self.speed)
        yield speed


def serve(result: Result, speed: float, host: str, port: int, linger_s: float,
          announce: Callable[[str], None]) -> None:
    """Replay ``result`` on ``http://host:port/metrics`` until its end plus ``linger_s``, then stop.

    Args:
        result: The finished run to replay.
        speed: Simulated seconds per wall-clock second.
        host: Address to listen on (127.0.0.1 keeps it on this machine).
        port: TCP port; 0 lets the system choose a free one (the announcement names it).
        linger_s: Seconds to keep serving the final values after the run's end.
        announce: Called once with a line naming the URL, as soon as the endpoint answers.
    """
    from prometheus_client.exposition import start_http_server

    collector = ReplayCollector(build_metrics_table(result), speed)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]  # any object with collect() is a collector
    server, thread = start_http_server(port, host, registry)
    try:
        wall_s = float(collector.table.times_s[-1]) / speed
        announce(f"serving http://{host}:{server.server_port}/metrics: {result.scenario.name!r}, "
                 f"{collector.table.times_s[-1]:g} simulated s at {speed:g}x (about {wall_s:.1f} s), "
                 f"then {linger_s:g} s more with the final values")
        while not collector.finished():
            time.sleep(POLL_S)
        time.sleep(linger_s)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

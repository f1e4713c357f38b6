"""A run's time series as OpenMetrics text, loadable by ``promtool tsdb create-blocks-from openmetrics``.

Timestamps are simulated seconds counted from a fixed epoch, ``SIM_EPOCH_S`` = 2024-01-01T00:00:00Z: a run's
second 0 is at 00:00:00 UTC on that day, so in Grafana or the Prometheus UI you look at that date (and keep
the blocks with ``--storage.tsdb.retention.time=100000d``, or Prometheus deletes them as too old at start).
The text itself is written by ``prometheus_client``'s OpenMetrics exposition, with a timestamp on every sample.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import generate_latest

from sim.interop.metrics_table import Family, MetricsTable, Series, build_metrics_table
from sim.model.outputs import write_atomically
from sim.results.result import Result

SIM_EPOCH_S = 1_704_067_200  # 2024-01-01T00:00:00Z


def prometheus_metrics(table: MetricsTable, rows: Sequence[int], epoch_s: float | None) -> list[Metric]:
    """``prometheus_client`` metric families holding the table's values at ``rows``.

    Args:
        table: The run's metric families.
        rows: Which scrapes to include, in time order.
        epoch_s: Unix time of simulated second 0 for sample timestamps; None for no timestamps (a live scrape).
    """
    metrics = []
    for family in table.families:
        metric = Metric(family.name, family.help, family.kind, family.unit)
        groups = _point_groups(family) if family.kind == "histogram" else [[series] for series in family.series]
        for group in groups:
            for row in rows:
                stamp = None if epoch_s is None else round(epoch_s + float(table.times_s[row]), 3)
                for series in group:
                    metric.add_sample(series.sample, series.labels, float(series.values[row]), stamp)
        metrics.append(metric)
    return metrics


def _point_groups(family: Family) -> list[list[Series]]:
    """A histogram's series grouped by label set (without ``le``), so each scrape's buckets, count and sum
    are written together, as OpenMetrics asks."""
    groups: dict[tuple[tuple[str, str], ...], list[Series]] = {}
    for series in family.series:
        key = tuple(sorted((name, value) for name, value in series.labels.items() if name != "le"))
        groups.setdefault(key, []).append(series)
    return list(groups.values())


class FrozenCollector:
    """A collector that yields fixed metrics (what ``generate_latest`` reads)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


def openmetrics_text(result: Result, epoch_s: float = SIM_EPOCH_S) -> str:
    """Every series of the run at every snapshot time, as OpenMetrics text ending in ``# EOF``."""
    table = build_metrics_table(result)
    metrics = prometheus_metrics(table, range(len(table.times_s)), epoch_s)
    return generate_latest(FrozenCollector(metrics)).decode("utf-8")


def write_openmetrics(result: Result, path: str | Path, epoch_s: float = SIM_EPOCH_S) -> Path:
    """Write :func:`openmetrics_text` to ``path`` atomically; returns the path."""
    write_atomically(path, openmetrics_text(result, epoch_s))
    return Path(path)

"""A run's measurements as Prometheus metric families: one value per series at every snapshot time.

Everything here is derived from what a ``Result`` already holds, generically:

- every component and station level history becomes metrics, field by field (``NAMES`` gives the conventional
  name of the fields known today; a field a new kind adds gets a name from its suffix, so new kinds need no
  code here): counters for cumulative counts and time integrals, and for each time integral (``*_area``) a
  gauge of its average over the scrape interval; a field ``<base>-<n>`` (a table's ``throttled-3``) is one
  metric for ``<base>`` with a ``partition`` label, a field ``<base>@<class>`` (a database's stale reads per
  request class) one with a ``class`` label;
- the front door (a workload entry no component calls) gets ``http_requests_total`` by status code and the
  ``http_request_duration_seconds`` histogram from the per-request records, by finish time;
- other components get the same two names from their level histories (status from drops, throttling (429) and
  failures; the histogram has only its ``+Inf`` bucket, since per-visit latencies are not recorded inside the
  system).

Scrapes are the snapshot times (``time_bin_s`` apart, plus the end of warm-up). Labels are ``component`` and,
per station (an instance or a database node), ``station``. There is no ``instance`` label: Prometheus sets that
one itself to the scrape target when it scrapes ``sim serve``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from sim.model.status import DROPPED, FAILED, OK, THROTTLED, TIMED_OUT
from sim.results.result import Result

STATUS_CODES = {OK: "200", FAILED: "500", DROPPED: "503", TIMED_OUT: "504", THROTTLED: "429"}
# A component field named "<base>-<n>" is partition n's share of the counter <base> (a table's "throttled-3"):
# one metric for <base>, labelled by partition.
PARTITION_FIELD = re.compile(r"^([a-z_]+)-(\d+)$")
# Request duration buckets (seconds): a 1-1.5-2-3-5-7 ladder from 0.5 ms to 60 s, so a quantile read from them
# is within one bucket (at most a factor 1.5 wide above 1 ms) of the true value.
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.03, 0.05, 0.07, 0.1,
                     0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 60.0)
REQUESTS = "http_requests"
DURATION = "http_request_duration_seconds"
# Conventional names for the level fields known today: field -> (metric name, help). Time integrals ("_area")
# also give a gauge named by GAUGES.
NAMES = {
    "component": {
        "in_system_area": ("sim_component_in_flight_seconds", "Integral of requests in the component over time"),
        "entered": ("sim_component_arrivals", "Requests that reached the component"),
        "hits": ("cache_hits", "Cache lookups that found a fresh key"),
        "misses": ("cache_misses", "Cache lookups that went to the store"),
        "throttled": ("sim_partition_throttled", "Requests a partition throttled (429-like) for want of capacity"),
        "offered": ("sim_partition_offered", "Requests that reached a partition, throttled or not"),
    },
    "station": {
        "busy_area": ("sim_station_busy_seconds", "Worker-seconds spent serving (busy workers integrated over time)"),
        "queue_area": ("sim_station_queued_seconds", "Request-seconds spent waiting (queue length integrated)"),
        "arrivals": ("sim_station_arrivals", "Requests that reached the station"),
        "drops": ("sim_station_dropped", "Requests turned away by a full queue"),
        "starts": ("sim_station_started", "Requests that got a worker"),
        "wait_total_s": ("sim_station_wait_seconds", "Total time requests waited for a worker"),
        "completions": ("sim_station_completed", "Requests whose service ended"),
    },
}
GAUGES = {
    "in_system_area": ("sim_component_in_flight", "Mean requests in the component over the scrape interval"),
    "busy_area": ("sim_station_busy_workers", "Mean busy workers over the scrape interval"),
    "queue_area": ("sim_station_queue_length", "Mean requests waiting over the scrape interval"),
}
USED_FOR_REQUESTS = ("settled", "failed", "response_total_s")  # become http_requests_total and the histogram


@dataclass
class Series:
    """One time series: a sample name, its labels and one value per scrape."""

    sample: str
    labels: dict[str, str]
    values: np.ndarray


@dataclass
class Family:
    """A metric family as Prometheus types it (a counter's name is without ``_total``)."""

    name: str
    kind: str
    help: str
    unit: str = ""
    series: list[Series] = field(default_factory=list)


@dataclass
class MetricsTable:
    """Every family of a run, sampled at ``times_s`` (simulated seconds since the run began)."""

    times_s: np.ndarray
    families: list[Family]

    def family(self, name: str) -> Family:
        return next(family for family in self.families if family.name == name)


def counter_values(values: np.ndarray) -> np.ndarray:
    """Cumulative values made non-decreasing: running sums can dip by rounding, which a counter must never do
    (Prometheus would read the dip as a restart and count everything again)."""
    return np.maximum.accumulate(np.asarray(values, dtype=float))


def interval_means(areas: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """A time integral's average over each scrape interval (0 at the first scrape)."""
    means = np.zeros(len(times_s))
    means[1:] = np.diff(areas) / np.diff(times_s)
    return means


def field_metric(scope: str, field_name: str) -> tuple[str, str]:
    """The metric a level field becomes: its conventional name, or one made from the field's suffix."""
    known = NAMES[scope].get(field_name)
    if known is not None:
        return known
    base = f"sim_{scope}_{field_name}"
    for suffix, unit in (("_area", "_seconds"), ("_total_s", "_seconds"), ("_s", "_seconds")):
        if field_name.endswith(suffix):
            return base.removesuffix(suffix) + unit, f"Cumulative {field_name.replace('_', ' ')}"
    return base, f"Cumulative {field_name.replace('_', ' ')}"


def front_doors(result: Result) -> dict[str, list[int]]:
    """Workload entries that no component calls, with the indices of the request classes entering there."""
    workload = result.scenario.workload
    called = {target for spec in result.scenario.components.values() for _path, target in spec.downstream()}
    doors: dict[str, list[int]] = {}
    for index, request_class in enumerate(workload.classes):
        entry = request_class.entry or workload.entry
        if entry not in called:
            doors.setdefault(entry, []).append(index)
    return doors


def build_metrics_table(result: Result) -> MetricsTable:
    """The run's metric families (see the module docstring for what each comes from)."""
    times_s = np.asarray(result.info.snapshot_times_s, dtype=float)
    families = {name: Family(name, kind, text, unit) for name, kind, text, unit in (
        (REQUESTS, "counter", "Requests answered, by status code", ""),
        (DURATION, "histogram", "Response time of answered requests", "seconds"),
    )}
    doors = front_doors(result)
    for component in result.scenario.components:
        if component in doors:
            _records_series(result, component, doors[component], times_s, families)
        else:
            _level_request_series(result, component, families)
    for scope, histories in (("component", result.component_levels), ("station", result.station_levels)):
        for name, history in histories.items():
            labels = _labels(result, scope, name)
            for index, field_name in enumerate(history.fields):
                if scope == "component" and field_name in USED_FOR_REQUESTS:
                    continue
                named = result.scenario.components[name].metric_field(field_name) if scope == "component" else None
                base, field_labels = (_split_field(field_name, labels) if scope == "component" and named is None
                                      else (field_name, labels))
                _add_field(families, scope, base, field_labels, history.values[:, index], times_s, named)
    _add_capacity(result, families, times_s)
    _add_kind_histograms(result, families, times_s)
    return MetricsTable(times_s, list(families.values()))


def _split_field(field_name: str, labels: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A per-partition (``<base>-<n>``) or per-class (``<base>@<class>``) field as its base and one more label."""
    partition = PARTITION_FIELD.match(field_name)
    if partition is not None:
        return partition[1], {**labels, "partition": partition[2]}
    base, marker, class_name = field_name.partition("@")
    return (base, {**labels, "class": class_name}) if marker else (field_name, labels)


def _labels(result: Result, scope: str, name: str) -> dict[str, str]:
    if scope == "component":
        return {"component": name}
    return {"component": result.info.station_owner[name], "station": name}


def _add(families: dict[str, Family], name: str, kind: str, text: str, series: Series) -> None:
    families.setdefault(name, Family(name, kind, text)).series.append(series)


def _add_field(families: dict[str, Family], scope: str, field_name: str, labels: dict[str, str],
               values: np.ndarray, times_s: np.ndarray, named: tuple[str, dict[str, str], str] | None = None) -> None:
    """A level field as a counter (and, for a time integral, a gauge of its mean); ``named``: the kind's own name,
    extra labels and help for it (``metric_field``)."""
    if named is not None:
        kind_name, extra, text = named
        labels = {**labels, **extra}
        name = f"{kind_name}_seconds" if field_name.endswith("_area") else kind_name
        gauge, gauge_text = kind_name, f"{text} (mean over the scrape interval)"
    else:
        name, text = field_metric(scope, field_name)
        gauge, gauge_text = GAUGES.get(field_name, (name.removesuffix("_seconds"), f"Mean {field_name[:-5]}"))
    _add(families, name, "counter", text, Series(f"{name}_total", labels, counter_values(values)))
    if field_name.endswith("_area"):
        _add(families, gauge, "gauge", gauge_text, Series(gauge, labels, interval_means(values, times_s)))


def _add_capacity(result: Result, families: dict[str, Family], times_s: np.ndarray) -> None:
    """Workers per station, utilisation per station, and instances (stations) per component, as gauges."""
    owners = result.info.station_owner
    for station, history in result.station_levels.items():
        labels = {"component": owners[station], "station": station}
        servers = result.info.station_servers[station]
        busy = interval_means(history.column("busy_area"), times_s)
        _add(families, "sim_station_servers", "gauge", "Workers or connections of the station",
             Series("sim_station_servers", labels, np.full(len(times_s), float(servers))))
        _add(families, "sim_station_utilisation_ratio", "gauge", "Busy share of the workers over the scrape interval",
             Series("sim_station_utilisation_ratio", labels, busy / servers))
    for component in result.scenario.components:
        count = sum(owner == component for owner in owners.values())
        if count:
            _add(families, "sim_component_instances", "gauge", "Instances (or database nodes) of the component",
                 Series("sim_component_instances", {"component": component}, np.full(len(times_s), float(count))))


def _records_series(result: Result, component: str, class_indices: list[int], times_s: np.ndarray,
                    families: dict[str, Family]) -> None:
    """Front-door counters by status and the duration histogram, from the records, by finish time."""
    records = result.records
    mine = np.isin(records["class_index"], class_indices)
    latency_s = records["latency_ms"][mine].astype(np.float64) / 1000.0
    finish_s = records["arrival_s"][mine] + latency_s
    status = records["status"][mine]
    for code, text in STATUS_CODES.items():
        finished = np.sort(finish_s[status == code])
        counts = np.searchsorted(finished, times_s, side="right").astype(float)
        families[REQUESTS].series.append(Series(f"{REQUESTS}_total", {"component": component, "status": text}, counts))
    families[DURATION].series.extend(histogram_series(DURATION, {"component": component}, finish_s, latency_s,
                                                      times_s))


def histogram_series(name: str, labels: dict[str, str], finish_s: np.ndarray, value_s: np.ndarray,
                     times_s: np.ndarray) -> list[Series]:
    """A cumulative histogram of ``value_s`` over ``LATENCY_BUCKETS_S``, each value counted from its finish time:
    the ``_bucket`` series (with ``+Inf``), ``_count`` and ``_sum`` at every scrape."""
    order = np.argsort(finish_s, kind="stable")
    finish_sorted, value_sorted = finish_s[order], value_s[order]
    done = np.searchsorted(finish_sorted, times_s, side="right")
    series = []
    for bound in LATENCY_BUCKETS_S:
        within = np.searchsorted(finish_sorted[value_sorted <= bound], times_s, side="right").astype(float)
        series.append(Series(f"{name}_bucket", {**labels, "le": _bound_text(bound)}, within))
    series.append(Series(f"{name}_bucket", {**labels, "le": "+Inf"}, done.astype(float)))
    series.append(Series(f"{name}_count", labels, done.astype(float)))
    sums = np.concatenate([[0.0], np.cumsum(value_sorted)])[done]
    series.append(Series(f"{name}_sum", labels, counter_values(sums)))
    return series


def _add_kind_histograms(result: Result, families: dict[str, Family], times_s: np.ndarray) -> None:
    """Histograms kinds build from their event records (``metric_histograms``: a broker's event latency)."""
    for component, events in result.events.items():
        for name, text, extra, finish_s, value_s in result.scenario.components[component].metric_histograms(events):
            family = families.setdefault(name, Family(name, "histogram", text, "seconds"))
            family.series.extend(histogram_series(name, {"component": component, **extra}, np.asarray(finish_s),
                                                  np.asarray(value_s, dtype=float), times_s))


def _level_request_series(result: Result, component: str, families: dict[str, Family]) -> None:
    """Counters by status and a bucket-less histogram from a component's level history."""
    history = result.component_levels[component]
    settled, failed = history.column("settled"), history.column("failed")
    drops = sum((result.station_levels[station].column("drops") for station, owner in
                 result.info.station_owner.items() if owner == component), np.zeros(len(settled)))
    throttled_columns = [index for index, field_name in enumerate(history.fields)
                         if (match := PARTITION_FIELD.match(field_name)) and match[1] == "throttled"]
    throttled = history.values[:, throttled_columns].sum(axis=1)
    labels = {"component": component}
    statuses = [("200", settled - failed), ("500", failed - drops - throttled), ("503", drops)]
    for text, values in statuses + ([("429", throttled)] if throttled_columns else []):
        families[REQUESTS].series.append(Series(f"{REQUESTS}_total", {**labels, "status": text},
                                                counter_values(values)))
    histogram = families[DURATION].series
    histogram.append(Series(f"{DURATION}_bucket", {**labels, "le": "+Inf"}, counter_values(settled)))
    histogram.append(Series(f"{DURATION}_count", labels, counter_values(settled)))
    histogram.append(Series(f"{DURATION}_sum", labels, counter_values(history.column("response_total_s"))))


def _bound_text(bound: float) -> str:
    """A bucket bound as Prometheus clients write it (``0.005``, ``1.0``)."""
    return repr(float(bound))

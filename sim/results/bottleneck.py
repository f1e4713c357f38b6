"""Reading a run: whether every station kept up, what an overload means, and which station is the bottleneck.

A station overflows when the twin puts its offered load at or above its capacity, or when the run shows it
saturated and losing ground: shedding more than 1% of its arrivals, or a queue growing by more than 2% of its
arrival rate. An overflowed station is told as an overload (offered against capacity, how fast its queue
grew, and that the run's latency then describes the run rather than the system), never as "headroom".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SATURATED_UTILISATION = 0.97
OVERFLOW_DROP_FRACTION = 0.01  # of the station's arrivals in the window (a ratio of counts, so any window)
OVERFLOW_GROWTH_FRACTION = 0.02  # queue growth per second, as a share of the arrival rate
MIN_GROWTH_REQUESTS = 10  # a queue that grew by fewer requests over the whole window is noise
MIN_COMPLETIONS_FOR_CAPACITY = 100  # fewer completions measure a capacity too roughly to quote it alone
BUSY_UTILISATION = 0.8
RUN_LENGTH_CAVEAT = ("Latency in an overloaded run grows with the run's length (until the queue is full), so it "
                     "describes this run, not the system")


def overflowing(stations: Mapping[str, Mapping[str, Any]], theory_offered: Mapping[str, float],
                span_s: float) -> list[str]:
    """Stations that cannot keep up: offered load at or above capacity by the twin, or saturated and losing
    ground in the run (shedding requests, or a queue that keeps growing)."""
    names = []
    for name, stats in stations.items():
        arrivals = stats["accepted"] + stats["dropped"]
        dropping = stats["dropped"] > OVERFLOW_DROP_FRACTION * arrivals
        growth_rps = stats["queue_growth_rps"]
        growing = (growth_rps > OVERFLOW_GROWTH_FRACTION * stats["arrival_rate_rps"]
                   and growth_rps * span_s >= MIN_GROWTH_REQUESTS)
        saturated = stats["utilisation"] >= SATURATED_UTILISATION and (dropping or growing)
        if saturated or theory_offered.get(name, 0.0) >= 1.0:
            names.append(name)
    return names


def _fmt_rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _against(stats: Mapping[str, Any], span_s: float, theory_capacity_rps: float | None) -> str:
    """The capacity to quote: measured (with the twin's when they differ), or the twin's when the window holds
    too few completions to measure it."""
    measured = stats["capacity_rps"]
    completions = round(stats["throughput_rps"] * span_s)
    if theory_capacity_rps is not None and (measured is None or completions < MIN_COMPLETIONS_FOR_CAPACITY):
        return (f" against a capacity of {_fmt_rate(theory_capacity_rps)} req/s by the twin; only "
                f"{completions:,} completed in this short window")
    if measured is None:
        return ""
    twin = ""
    if theory_capacity_rps is not None and abs(measured - theory_capacity_rps) > 0.05 * theory_capacity_rps:
        twin = f"; the twin expects {_fmt_rate(theory_capacity_rps)}"
    return f" against a measured capacity of {_fmt_rate(measured)} req/s{twin}"


def overload_entry(name: str, stats: Mapping[str, Any], span_s: float, theory_capacity_rps: float | None,
                   waits_on: list[str]) -> dict[str, Any]:
    """One overflowed station as structured data a learner can act on, with the sentence that says it.

    Args:
        name: The station.
        stats: Its window statistics (``Result.stations``).
        span_s: The measured window's length.
        theory_capacity_rps: The twin's capacity for it (servers / predicted holding time), if known.
        waits_on: Overflowed stations downstream that its workers wait on (the cause, when there is one).
    """
    capacity = stats["capacity_rps"] if stats["capacity_rps"] is not None else theory_capacity_rps
    dropped_rps = stats["dropped"] / span_s
    entry = {"station": name, "offered_rps": stats["arrival_rate_rps"], "capacity_rps": capacity,
             "theory_capacity_rps": theory_capacity_rps, "queue_growth_rps": stats["queue_growth_rps"],
             "dropped_rps": dropped_rps, "waits_on": waits_on}
    text = (f"{name} cannot keep up: requests arrive faster than it can serve them (offered "
            f"{_fmt_rate(stats['arrival_rate_rps'])} req/s{_against(stats, span_s, theory_capacity_rps)})")
    if waits_on:
        text += f", because its workers wait on {', '.join(waits_on)}, which cannot keep up either"
    growth_rps = stats["queue_growth_rps"]
    if dropped_rps > OVERFLOW_DROP_FRACTION * stats["arrival_rate_rps"]:
        grew = (f"grew by {growth_rps:,.1f} requests/s until full" if growth_rps * span_s >= MIN_GROWTH_REQUESTS
                else "was full")
        text += f"; its queue {grew}, and it dropped {_fmt_rate(dropped_rps)} req/s"
    else:
        text += f"; its queue grew by {growth_rps:,.1f} requests/s over the measured window"
    entry["message"] = f"{text}. {RUN_LENGTH_CAVEAT}: add capacity or lower the load"
    return entry


def find_bottleneck(stations: Mapping[str, Mapping[str, Any]], owners: Mapping[str, str],
                    overload: list[dict[str, Any]] | None = None) -> tuple[str, str] | None:
    """The station that limits the system, named with one plain sentence of why; None when nothing has servers.

    With an overload, it is the overflowed station that waits on no other (the cause, not a victim), and the
    sentence is its overload message; otherwise the busiest station.
    """
    if overload:
        causes = [entry for entry in overload if not entry["waits_on"]] or overload
        worst = max(causes, key=lambda entry: entry["offered_rps"] / entry["capacity_rps"]
                    if entry["capacity_rps"] else float("inf"))
        return worst["station"], worst["message"]
    if not stations:
        return None
    name, busiest = max(stations.items(), key=lambda item: (item[1]["utilisation"], item[1]["mean_queue_length"]))
    percent = round(100 * busiest["utilisation"])
    reason = f"{name} is {percent}% busy"
    siblings = [stats for other, stats in stations.items() if owners[other] == owners[name] and other != name]
    if siblings:
        others_rate = sum(stats["arrival_rate_rps"] for stats in siblings) / len(siblings)
        ratio = busiest["arrival_rate_rps"] / others_rate if others_rate > 0 else float("inf")
        if ratio >= 1.5:
            reason += (f": it receives {ratio:.1f}x the traffic of its siblings "
                       "(skewed keys or an uneven split send it more)")
            return name, reason
    if busiest["utilisation"] >= SATURATED_UTILISATION:
        reason += ": at the edge of its capacity, so queueing delay is long and any extra load makes it unstable"
    elif busiest["utilisation"] >= BUSY_UTILISATION:
        reason += ": above about 80% busy, queueing delay grows steeply with every extra request"
    else:
        reason += f", the most of any component; with {busiest['servers']} server(s) it still has headroom"
    if busiest["dropped"] > 0:
        reason += f"; {busiest['dropped']:,} requests found its queue full and were dropped"
    if busiest["mean_wait_ms"] > 0.0:
        reason += f" (requests wait {busiest['mean_wait_ms']:.1f} ms on average for a free worker)"
    return name, reason


def kind_reason(bottleneck: tuple[str, str], owner: str, spec: Any, stats: Mapping[str, Any], theory: Any,
                overflowed: list[str]) -> tuple[str, str]:
    """The bottleneck with its kind's own sentence (``bottleneck_reason``) when the kind has one; for an
    overflowed station, followed by what an overload means for the run's latency.

    Args:
        bottleneck: (station, sentence) from :func:`find_bottleneck`.
        owner: The component owning the station.
        spec: That component's spec (any kind: its contract answers).
        stats: That component's window statistics.
        theory: Its twin's prediction, or None.
        overflowed: The stations that cannot keep up.
    """
    own = spec.bottleneck_reason(owner, bottleneck[0], stats, theory)
    if own is None:
        return bottleneck
    return bottleneck[0], f"{own}. {RUN_LENGTH_CAVEAT}" if bottleneck[0] in overflowed else own

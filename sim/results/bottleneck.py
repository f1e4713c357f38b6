"""Reading a run: which component is the bottleneck and why, and whether the system was stable."""

from __future__ import annotations

from typing import Any

SATURATED_UTILISATION = 0.97
OVERFLOW_DROP_FRACTION = 0.01


def find_bottleneck(stations: dict[str, dict[str, Any]], owners: dict[str, str]) -> tuple[str, str] | None:
    """The busiest station, named with one plain sentence of why; None when nothing has servers."""
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
        reason += ": requests arrive faster than it can serve them, so its queue grows"
    elif busiest["utilisation"] >= 0.8:
        reason += ": above about 80% busy, queueing delay grows steeply with every extra request"
    else:
        reason += f", the most of any component; with {busiest['servers']} server(s) it still has headroom"
    if busiest["dropped"] > 0:
        reason += f"; {busiest['dropped']:,} requests found its queue full and were dropped"
    if busiest["mean_wait_ms"] > 0.0:
        reason += f" (requests wait {busiest['mean_wait_ms']:.1f} ms on average for a free worker)"
    return name, reason


def overflowing(stations: dict[str, dict[str, Any]], theory_offered: dict[str, float]) -> list[str]:
    """Stations that cannot keep up: offered load at or above capacity, or saturated and shedding requests."""
    names = []
    for name, stats in stations.items():
        dropping = stats["dropped"] > OVERFLOW_DROP_FRACTION * max(stats["arrival_rate_rps"], 1e-9)
        saturated = stats["utilisation"] >= SATURATED_UTILISATION and dropping
        if saturated or theory_offered.get(name, 0.0) >= 1.0:
            names.append(name)
    return names

"""Why a broker's consumer limits the system, in one sentence: a hot partition, too few consumers, or bursts.

When the bottleneck is one of a broker's consumer stations, the generic "85% busy" says little; what a reader
can act on is *why* that consumer is behind. In order of what fixes it:

- **a hot partition**: one of its partitions receives ``HOT_PARTITION_RATIO`` times its ``1 / partitions``
  share or more (skewed keys); more consumers cannot split a partition, spreading the keys can;
- **too little consumer capacity**: the publish rate is at or above what the group's active consumers can
  process (``active / holding time``); more consumers help up to the partition count, then more partitions;
- **an uneven assignment**: the consumer owns more partitions than the others (partitions not a multiple of
  the consumers);
- **bursts**: the consumers keep up on average but a backlog built up and drained;
- otherwise how busy the consumers are against the publish rate, and how long a message waits its turn.

Measured figures come from the broker's window statistics (per-partition publish rates, the consumer station's
service rate); the twin adds its offered load for the station.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.kinds.base import StatsView
from sim.kinds.broker.stats import MIN_BACKLOG_MESSAGES

if TYPE_CHECKING:
    from sim.kinds.broker.spec import BrokerSpec
    from sim.theory.predictions import ComponentTheory

HOT_PARTITION_RATIO = 1.2  # a partition with this many times its fair share is hot (as the twin's note says)
KEEPING_UP = 0.97  # a group offered this share of its capacity or more cannot keep up (the saturation line)
UNEVEN_RATIO = 1.2  # a consumer with this many times the group's mean share holds too many partitions


def bottleneck_reason(spec: BrokerSpec, name: str, station: str, stats: StatsView,
                      theory: ComponentTheory | None) -> str | None:
    """The sentence for consumer station ``station`` of broker ``name`` as the bottleneck (None: not a consumer)."""
    place = _locate(spec, name, station)
    if place is None:
        return None
    group_index, consumer_index = place
    consumer = spec.consumers[group_index]
    group = stats["groups"][consumer.group]
    station_stats = (stats.get("stations") or {}).get(station, stats)  # one station: its totals are its own
    holding_ms = 1000.0 / station_stats["capacity_rps"] if station_stats["capacity_rps"] else None
    if holding_ms is None:
        return None
    twin = _twin_clause(station, theory)
    owned = [partition for partition, owner in enumerate(spec.partition_owners(consumer.instances))
             if owner == consumer_index]
    published = {int(partition): rate for partition, rate in stats["partitions_published_rps"].items()}
    total_rps = sum(published.values())
    hottest = max(owned, key=lambda partition: published[partition])
    ratio = published[hottest] * spec.partitions / total_rps if total_rps > 0 else 0.0
    if ratio >= HOT_PARTITION_RATIO:
        return (f"{name} lags because partition {hottest} receives {ratio:.1f}x its share of the messages "
                f"({published[hottest]:,.0f} of {total_rps:,.0f} events/s): its one consumer {station} processes at "
                f"most {1000.0 / holding_ms:,.0f}/s at {holding_ms:.1f} ms each{twin}. A partition is read by one "
                "consumer, so more consumers cannot split it: spread the hot keys (or partition round robin "
                "when per-key order does not matter)")
    offered_rps = stats["arrival_rate_rps"]
    active = group["active_consumers"]
    capacity_rps = active * 1000.0 / holding_ms
    if offered_rps >= KEEPING_UP * capacity_rps:
        remedy = (f"add consumers (up to the {spec.partitions} partitions)" if active < spec.partitions
                  else "every partition has its consumer already: add partitions and consumers")
        plural = "s" if active != 1 else ""
        return (f"{active} {consumer.group} consumer{plural} cannot keep up with {offered_rps:,.0f} events/s at "
                f"{holding_ms:.1f} ms each (together they process at most {capacity_rps:,.0f}/s){twin}: {remedy}, "
                f"or make {consumer.service} faster")
    share = sum(published[partition] for partition in owned) / total_rps if total_rps > 0 else 0.0
    if len(owned) > spec.partitions // active and share >= UNEVEN_RATIO / active:
        return (f"{station} owns {len(owned)} of the {spec.partitions} partitions of {name}, {share:.0%} of the "
                f"messages against {1 / active:.0%} for an even split{twin}: make the partition count a multiple "
                "of the consumers")
    if group["peak_lag_messages"] >= MIN_BACKLOG_MESSAGES:
        drained = (f", drained in {group['drain_time_s']:.1f} s" if group["drain_time_s"] is not None
                   else ", not drained by the end of the window")
        return (f"{name} lags in bursts: its {active} {consumer.group} consumers process at most "
                f"{capacity_rps:,.0f} events/s at {holding_ms:.1f} ms each against {offered_rps:,.0f} on average, so "
                f"a burst piles up as lag (peak {group['peak_lag_messages']:,} messages{drained})")
    return (f"{station} is {station_stats['utilisation']:.0%} busy: the {active} {consumer.group} consumers of {name} "
            f"process at most {capacity_rps:,.0f} events/s at {holding_ms:.1f} ms each against {offered_rps:,.0f}, "
            f"so a message waits {station_stats['mean_wait_ms']:,.1f} ms behind others of its partitions{twin}")


def _locate(spec: BrokerSpec, name: str, station: str) -> tuple[int, int] | None:
    """(group index, consumer index) of a consumer station, or None."""
    for group_index in range(len(spec.consumers)):
        names = spec.consumer_station_names(name, group_index)
        if station in names:
            return group_index, names.index(station)
    return None


def _twin_clause(station: str, theory: ComponentTheory | None) -> str:
    """What the twin says of the station's load, as a clause (empty when it has no prediction for it)."""
    load: Any = theory.station_load.get(station) if theory is not None else None
    return "" if load is None else f"; the twin puts it at {load[1]:.0%} of its capacity"

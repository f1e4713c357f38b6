"""Plotly figure builders shared by the app and the notebooks: plain data in, a figure out.

Every builder takes the plain data a run or an experiment produces (``result.summary``, ``result.timeseries()``,
numpy arrays of latencies, the tidy rows of ``sim.experiments.validation``, a lesson's results table, a sweep's
``latency_vs_load()`` / ``scalability()`` or a plan's ``to_dict()``) and returns a ``plotly.graph_objects.Figure``.
None of them runs a simulation or knows about a user interface. Only ``sim.viz.base`` imports Plotly.

Submodules by theme: ``architecture`` (the diagram), ``run`` (one run over time, latency distributions),
``validation`` (theory beside simulation), ``lessons`` (variants of a step), ``experiment`` (sweeps and plans),
``dashboard`` (RED per service and USE per station, as a Grafana dashboard would show a run).

Example:
    >>> import sim  # doctest: +SKIP
    >>> result = sim.run(sim.load_scenario("scenarios/single-server.yaml"))  # doctest: +SKIP
    >>> throughput_figure(result.timeseries(), result.summary.warmup_s).show()  # doctest: +SKIP
"""

from sim.viz.architecture import (
    BOTTLENECK_OUTLINE,
    CLIENTS,
    IDLE_COLOUR,
    PARALLEL_COLOUR,
    PARALLEL_MARK,
    UTILISATION_COLOURS,
    architecture_figure,
    call_marks,
    hottest_utilisation,
    owner_of,
)
from sim.viz.dashboard import dashboard_figures, dashboard_panel_figure
from sim.viz.experiment import hockey_stick_figure, parameter_label, pareto_figure, scalability_figure, usl_note
from sim.viz.lessons import variants_figure
from sim.viz.loadtest import measured_traces, overlay_measured
from sim.viz.replay import HOT as REPLAY_HOT
from sim.viz.replay import component_levels, first_hot, replay_controls, replay_figure
from sim.viz.run import (
    BUSIEST_SHOWN,
    TIME_AXIS,
    busiest_stations,
    compare_latency_figure,
    event_latency_figures,
    instance_figures,
    lag_figures,
    latency_distribution_figure,
    latency_percentiles_figure,
    station_levels_figure,
    throughput_figure,
)
from sim.viz.station_replay import first_hot_station, mark_faults, mark_moment, station_replay_figure
from sim.viz.validation import theory_figure, validation_figure

__all__ = [
    "BOTTLENECK_OUTLINE",
    "BUSIEST_SHOWN",
    "CLIENTS",
    "IDLE_COLOUR",
    "PARALLEL_COLOUR",
    "PARALLEL_MARK",
    "REPLAY_HOT",
    "TIME_AXIS",
    "UTILISATION_COLOURS",
    "architecture_figure",
    "busiest_stations",
    "call_marks",
    "compare_latency_figure",
    "component_levels",
    "dashboard_figures",
    "dashboard_panel_figure",
    "event_latency_figures",
    "first_hot",
    "first_hot_station",
    "hockey_stick_figure",
    "hottest_utilisation",
    "instance_figures",
    "lag_figures",
    "latency_distribution_figure",
    "latency_percentiles_figure",
    "mark_faults",
    "mark_moment",
    "measured_traces",
    "overlay_measured",
    "owner_of",
    "parameter_label",
    "pareto_figure",
    "replay_controls",
    "replay_figure",
    "scalability_figure",
    "station_levels_figure",
    "station_replay_figure",
    "theory_figure",
    "throughput_figure",
    "usl_note",
    "validation_figure",
    "variants_figure",
]

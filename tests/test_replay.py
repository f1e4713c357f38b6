"""The replay: the diagram once per time bin; under a ramp, the bottleneck is the first component to turn red."""

from __future__ import annotations

import pytest
import yaml

import sim
from sim import viz
from sim.scenario.gallery import load_gallery_scenario
from sim.viz.replay import HOT, component_levels, first_hot, replay_figure

RAMP = {
    "name": "ramp", "duration_s": 40, "warmup_s": 2, "seed": 3,
    "workload": {"rate_rps": 100, "entry": "lb",
                 "profile": {"kind": "stages", "stages": [{"duration_s": 40, "rate_rps": 1000, "ramp_s": 40}]}},
    "components": {
        "lb": {"kind": "load_balancer", "target": "api"},
        "api": {"kind": "service", "instances": 3, "workers": 4, "calls": ["db"],
                "service_time": {"distribution": "exponential", "mean_ms": 12}},
        "db": {"kind": "service", "workers": 16, "service_time": {"distribution": "exponential", "mean_ms": 4}},
    },
}


@pytest.fixture(scope="module")
def ramp_run() -> tuple[sim.Scenario, sim.Result]:
    scenario = sim.Scenario.model_validate(yaml.safe_load(yaml.safe_dump(RAMP)))
    return scenario, sim.run(scenario, seed=3)


def test_under_a_ramp_the_bottleneck_turns_red_first(ramp_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = ramp_run
    summary = result.summary
    assert summary.bottleneck is not None
    hot = first_hot(result.timeseries(), list(scenario.components))
    assert hot is not None
    at_s, component = hot
    assert component == viz.owner_of(summary.bottleneck.component, list(scenario.components)) == "api"
    # 3 x 4 workers at 12 ms serve 1,000 req/s, reached at the ramp's end; one busy bin of one instance may turn
    # red early (a 2 s bin is noisy), but not before the mean load passes half the capacity: 500 req/s at 17.8 s
    assert (500 - 100) / 900 * 40 <= at_s <= 40


def test_replay_frames_follow_the_time_series(ramp_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = ramp_run
    series = result.timeseries()
    figure = replay_figure(scenario, result.summary, series)
    assert len(figure.frames) == len(series["time_s"])
    levels = component_levels(series, list(scenario.components))
    last = figure.frames[-1].data[0]
    names = list(scenario.components)
    api_busy = max(values["utilisation"][-1] for station, values in series["stations"].items()
                   if station.startswith("api/"))
    assert last.marker.color[names.index("api")] == pytest.approx(api_busy) and api_busy >= HOT
    assert f"queue {levels['api'][1][-1]:,.1f}" in last.text[names.index("api")]
    assert [step.label for step in figure.layout.sliders[0].steps][:2] == [f"{t:g} s" for t in series["time_s"][:2]]
    assert [button.label for button in figure.layout.updatemenus[0].buttons] == ["▶ play", "❚❚ pause"]
    assert figure.data[1].marker.color == figure.frames[0].data[0].marker.color, "the still picture is bin 0"


def test_a_quiet_run_never_turns_red() -> None:
    scenario = load_gallery_scenario("single-server")
    quiet = scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"rate_rps": 10.0})})
    result = sim.run(quiet, seed=1)
    assert first_hot(result.timeseries(), list(quiet.components)) is None


def test_every_station_is_replayed_with_its_queue(ramp_run: tuple[sim.Scenario, sim.Result]) -> None:
    scenario, result = ramp_run
    series = result.timeseries()
    figure = viz.station_replay_figure(series)
    assert len(figure.frames) == len(series["time_s"])
    last = figure.frames[-1]
    busy, waiting = last.data[0], last.data[1]
    assert set(busy.y) == set(series["stations"])  # every instance of api, the balancer's and db's stations
    for name, utilisation, queue in zip(busy.y, busy.x, waiting.x, strict=True):
        expected = series["stations"][name]["utilisation"][-1]
        assert utilisation == pytest.approx(0.0 if expected is None else expected)
        assert queue == pytest.approx(series["stations"][name]["queue_length"][-1] or 0.0)
    hot_s, station = viz.first_hot_station(series)
    component_hot = first_hot(series, list(scenario.components))
    assert component_hot is not None and hot_s == component_hot[0] and station.startswith(component_hot[1] + "/")


def test_many_stations_are_cut_to_the_busiest() -> None:
    scenario = load_gallery_scenario("sharded-db")
    series = sim.run(scenario.model_copy(update={"duration_s": 6.0, "warmup_s": 1.0}), seed=1).timeseries()
    figure = viz.station_replay_figure(series, limit=5)
    names = figure.data[0].y
    assert len(names) == 5 and f"the 5 busiest of {len(series['stations'])}" in figure.layout.title.text
    assert set(names) == set(viz.busiest_stations(series["stations"], "utilisation", 5, None, series["time_s"]))


def test_the_moment_is_marked_on_a_time_series_chart(ramp_run: tuple[sim.Scenario, sim.Result]) -> None:
    _scenario, result = ramp_run
    chart = viz.mark_moment(viz.station_levels_figure(result.timeseries(), "utilisation"), 23.0, "first red")
    assert [shape.x0 for shape in chart.layout.shapes if shape.line.dash == "dot"] == [23.0]
    assert "first red" in [annotation.text for annotation in chart.layout.annotations]

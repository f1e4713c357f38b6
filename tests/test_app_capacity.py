"""The capacity page under AppTest: the sweep's hockey stick, the USL chart, a plausible recommendation, bad SLOs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from sim.scenario.cost import hourly_cost
from sim.scenario.gallery import gallery_paths, load_gallery_scenario
from sim.scenario.overrides import with_overrides
from sim.twin.predict import end_to_end_ms, predict
from tests.app_helpers import APP, assert_healthy, figure

PAGE = "app_pages/capacity.py"
SCALING = "gallery:horizontal-scaling|capacity"
INSTANCES = "components.api.instances"


def open_page(scenario: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if scenario is not None:
        at.selectbox(key="gallery_name").set_value(scenario).run()
    return at.switch_page(PAGE).run()


def traces(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {trace["name"]: trace for trace in spec["data"]}


def metric(at: AppTest, label: str) -> str:
    return next(item.value for item in at.metric if item.label == label)


def number(text: str) -> float:
    match = re.search(r"-?[\d,]+(?:\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group().replace(",", ""))


def twin_minimum_instances(rate_rps: float, slo_ms: float) -> int:
    """The fewest instances for which the twin predicts a steady state with a mean latency under the SLO."""
    scenario = load_gallery_scenario("horizontal-scaling")
    for instances in range(1, 17):
        variant = with_overrides(scenario, {INSTANCES: instances, "workload.rate_rps": rate_rps})
        latency = end_to_end_ms(variant, predict(variant))
        if latency is not None and latency < slo_ms:
            return instances
    raise AssertionError("the twin finds no steady state")


def recommend(at: AppTest, slo: str) -> int:
    at.text_input(key=f"{SCALING}|slo").set_value(slo).run()
    assert_healthy(at)
    assert at.success and at.success[0].value.startswith("**Recommended: api: instances = ")
    return int(number(metric(at, "api: instances")))


def test_default_sweep_shows_the_hockey_stick_and_a_recommendation() -> None:
    at = open_page()
    assert_healthy(at)
    assert at.title[0].value == "Capacity · single-server"
    assert at.selectbox(key="gallery:single-server|capacity|knob").value == "arrival rate (req/s)"
    low, high = at.slider(key="gallery:single-server|capacity|workload.rate_rps|range").value
    assert (low, high) == (10.0, 120.0), "10% to 120% of the twin's 100 req/s"
    stick = traces(figure(at, "Latency vs arrival rate"))
    assert {"p99 (simulated)", "mean (simulated)", "mean (twin)", "SLO: p99 < 200ms"} <= set(stick)
    assert stick["SLO: p99 < 200ms"]["y"] == [200.0, 200.0]
    assert len(stick["p99 (simulated)"]["x"]) == 6
    assert "unstable: a queue overflowed" in stick, "the range goes past capacity"
    assert re.search(r"18 runs took [\d.]+ s", "\n".join(item.value for item in at.caption))
    assert "Recommended: api: instances = 1" in at.success[0].value
    assert "no prices" in at.info[0].value, "single-server has no prices: no frontier chart"
    assert not at.get("progress"), "the progress bars are cleared once the runs are done"
    at.run()
    assert_healthy(at)  # a cache hit replays the finished progress bar without trouble
    assert len(at.get("plotly_chart")) == 1 and not at.get("progress")


@pytest.mark.parametrize("scenario", list(gallery_paths()))
def test_every_gallery_scenario_sweeps_its_load_and_plans(scenario: str) -> None:
    at = open_page(scenario)
    assert_healthy(at)
    figure(at, "Latency vs arrival rate")
    assert at.success or at.warning[0].value.startswith("No setup in the range meets")


def test_instances_sweep_fits_the_usl_and_recommends_a_plausible_setup() -> None:
    at = open_page("horizontal-scaling")
    at.selectbox(key=f"{SCALING}|knob").set_value("api: instances").run()
    assert_healthy(at)
    assert at.slider(key=f"{SCALING}|{INSTANCES}|range").value == (1, 8)
    stick = traces(figure(at, "Latency vs api: instances"))
    assert stick["p99 (simulated)"]["x"] == list(range(1, 9))
    usl = traces(figure(at, "Throughput vs api: instances"))
    assert {"throughput (simulated)", "USL fit", "offered load"} <= set(usl)
    assert "σ (contention)" in figure(at, "Throughput vs")["layout"]["annotations"][0]["text"]
    loose = recommend(at, "p99 < 200ms")
    assert loose >= twin_minimum_instances(640, 200), "never fewer instances than the twin needs to keep up"
    assert number(metric(at, "p99 < 200ms")) < 200
    cost = hourly_cost(with_overrides(load_gallery_scenario("horizontal-scaling"), {INSTANCES: loose}))
    assert metric(at, "Cost per hour") == f"${cost:,.2f}"
    pareto = traces(figure(at, "Cost vs p99"))
    assert pareto["recommended"]["x"] == [pytest.approx(cost)]
    strict = recommend(at, "p99 < 120ms")
    assert strict >= loose, "a stricter SLO never recommends fewer instances"
    assert strict >= twin_minimum_instances(640, 120)
    at.text_input(key=f"{SCALING}|slo").set_value("p99 < 30ms").run()
    assert_healthy(at)
    assert not at.success and "No setup in the range meets p99 < 30ms" in at.warning[0].value


def test_a_higher_target_load_needs_more_instances() -> None:
    at = open_page("horizontal-scaling")
    at.selectbox(key=f"{SCALING}|knob").set_value("api: instances").run()
    base = recommend(at, "p99 < 200ms")
    at.number_input(key=f"{SCALING}|target").set_value(1000.0).run()
    assert_healthy(at)
    assert int(number(metric(at, "api: instances"))) > base
    assert "at 1,000 req/s" in at.subheader[-1].value


def test_a_bad_slo_shows_an_error_and_keeps_the_sweep() -> None:
    at = open_page()
    at.text_input(key="gallery:single-server|capacity|slo").set_value("p99 below 200").run()
    assert_healthy(at)
    assert "That SLO cannot be read" in at.error[0].value and "p99 < 200ms" in at.error[0].value
    assert not at.success, "no recommendation without an objective"
    assert "SLO: p99 < 200ms" not in traces(figure(at, "Latency vs arrival rate"))
    at.text_input(key="gallery:single-server|capacity|slo").set_value("latency < 5 parsecs").run()
    assert_healthy(at)
    assert at.error, "an unknown metric or unit is an error too"


def test_the_twin_line_ends_for_good_at_saturation() -> None:
    """Past the database's capacity the twin has no latency for anything that waits on it: the dashed line stops
    and never comes back (it once reappeared at about 5 ms from 1,800 req/s on cache-aside)."""
    at = open_page("cache-aside")
    assert_healthy(at)
    twin = traces(figure(at, "Latency vs arrival rate"))["mean (twin)"]
    values = twin["y"]
    first_gap = values.index(None)
    assert first_gap > 0 and all(value is None for value in values[first_gap:])
    finite = [value for value in values if value is not None]
    assert finite[-1] > finite[0], "the line climbs towards the wall before it ends"


def test_measured_load_test_is_drawn_over_the_simulated_curve() -> None:
    from sim.interop.loadtest_readers import read_load_test
    from sim.interop.loadtest_results import measured_points
    from tests.conftest import PROJECT_ROOT

    jtl = PROJECT_ROOT / "tests" / "fixtures" / "loadtest" / "jmeter.jtl"
    at = open_page("single-server")
    at.file_uploader(key="gallery:single-server|capacity|measured").set_value(
        ("results.jtl", jtl.read_bytes(), "text/csv")).run()
    assert_healthy(at)
    chart = traces(figure(at, "Latency"))
    expected = measured_points(read_load_test(jtl))
    windows = chart["measured mean per window (jmeter)"]
    assert windows["x"] == pytest.approx([item["throughput_rps"] for item in expected["windows"]])
    assert chart["measured p99, whole test (jmeter)"]["y"] == pytest.approx([expected["overall"]["p99_ms"]])
    at.file_uploader(key="gallery:single-server|capacity|measured").set_value(
        ("notes.csv", b"name,value\na,1\n", "text/csv")).run()
    assert_healthy(at)
    assert any("not a results file" in item.value for item in at.error)

"""The Streamlit app under AppTest: every page loads, controls move the numbers the right way, bad files explain."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

import sim
from app_pages.shared import milliseconds, rate, readable_table
from sim.cli import app as cli_app
from sim.scenario.gallery import gallery_paths
from tests.app_helpers import APP, ROOT, assert_healthy, figure

SINGLE = "gallery:single-server"
RATE_KEY = f"{SINGLE}|knob|workload.rate_rps"
INSTANCES_KEY = f"{SINGLE}|knob|components.api.instances"
VALID_YAML = (ROOT / "scenarios" / "single-server.yaml").read_bytes()

BAD_UPLOADS = {
    "invalid-yaml": b"name: [unclosed\nworkload: {rate_rps: 5\n",
    "unknown-field": VALID_YAML.replace(b"workers: 1", b"wokers: 1"),
    "negative-rate": VALID_YAML.replace(b"rate_rps: 70", b"rate_rps: -5"),
    "too-large": VALID_YAML + b"#" * 1_100_000 + b"\n",
}


@pytest.fixture
def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


UNITS = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "ms": 1.0, "s": 1e3, "min": 6e4}  # latencies in ms


def number(text: str) -> float:
    """The number in a metric such as '213.7 ms', '1.31 s' (1,310 ms) or '10.4k'."""
    match = re.search(r"(-?[\d,]+(?:\.\d+)?) ?(min|ms|s|k|M|G)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group(1).replace(",", "")) * UNITS[match.group(2) or ""]


def metric(at: AppTest, label: str) -> float:
    return number(next(item.value for item in at.metric if item.label == label))


def utilisation(at: AppTest, component: str = "api") -> float:
    table = at.dataframe[0].value
    return float(table.loc[table["component"] == component, "utilisation_simulated"].iloc[0])


def texts(elements: Any) -> str:
    return "\n".join(element.value for element in elements)


# --- sandbox ------------------------------------------------------------------------------------------


def test_sandbox_opens_on_a_gallery_scenario_already_run(app: AppTest) -> None:
    assert_healthy(app)
    assert "single-server" in app.title[0].value
    labels = [item.label for item in app.metric]
    assert labels[:6] == ["Throughput (req/s)", "p50", "p95", "p99", "Error rate", "Drop rate"]
    assert metric(app, "Throughput (req/s)") == pytest.approx(70, rel=0.1)
    assert "Bottleneck: api." in texts(app.info) + texts(app.warning)
    assert len(app.get("plotly_chart")) == 7
    architecture = figure(app, "Architecture")
    nodes = next(trace for trace in architecture["data"] if trace["name"] == "components")
    assert nodes["customdata"] == ["api"] and "bottleneck: api" in nodes["text"][0]
    assert re.search(r"the engine took \*\*\d+ ms\*\*", texts(app.caption))
    assert len(app.get("download_button")) == 4


def test_more_instances_lower_p99(app: AppTest) -> None:
    before = metric(app, "p99")
    app.slider(key=INSTANCES_KEY).set_value(2).run()
    assert_healthy(app)
    assert metric(app, "p99") < before


def test_more_load_higher_utilisation(app: AppTest) -> None:
    before = utilisation(app)
    app.slider(key=RATE_KEY).set_value(90.0).run()
    assert_healthy(app)
    assert utilisation(app) > before
    assert metric(app, "Throughput (req/s)") > 80


def test_overload_shows_banner_and_growing_queue(app: AppTest) -> None:
    app.slider(key=RATE_KEY).set_value(150.0).run()
    assert_healthy(app)
    assert "Unstable: api overflowed" in texts(app.error)
    queue = figure(app, "Queue length per station")["data"][0]["y"]
    quarter = len(queue) // 4
    assert sum(queue[-quarter:]) / quarter > 2 * sum(queue[:quarter]) / quarter, "the queue grows"
    assert max(queue) > 900, "until it reaches its capacity of 1000"
    assert metric(app, "Drop rate") > 10
    assert "OVERFLOWED" in json.dumps(figure(app, "Architecture"))


def test_reset_restores_the_scenario_values(app: AppTest) -> None:
    app.slider(key=RATE_KEY).set_value(150.0).run()
    app.button[0].click().run()
    assert_healthy(app)
    assert app.slider(key=RATE_KEY).value == 70.0
    assert not app.error


def test_sandbox_shows_the_scenarios_slos_and_cost_as_the_cli_does(app: AppTest) -> None:
    app.selectbox(key="gallery_name").set_value("horizontal-scaling").run()
    line = next(item.value for item in app.markdown if "SLO *p99 < 200ms*" in item.value)
    p99 = re.search(r"SLO \*p99 < 200ms\*: :green\[pass\] \(measured ([\d.]+) ms\)", line)
    assert p99 and float(p99.group(1)) == pytest.approx(metric(app, "p99"), rel=0.01)
    assert "SLO *error_rate < 0.1%*: :green[pass] (measured 0.0%)" in line
    assert re.search(r"cost \*\*0\.\d\d\*\* per hour", line)


def test_a_sharded_tier_draws_its_busiest_stations_and_any_chosen_one(app: AppTest) -> None:
    app.selectbox(key="gallery_name").set_value("sharded-db").run()
    lines = [trace["name"] for trace in figure(app, "Utilisation per station")["data"]
             if trace.get("legendgroup") != "others"]
    assert len(lines) == 5
    chooser = app.multiselect(key="sandbox|stations|sharded-db")
    quiet = next(name for name in chooser.options if name not in lines)
    chooser.set_value([quiet]).run()
    assert_healthy(app)
    names = [trace["name"] for trace in figure(app, "Queue length per station")["data"]]
    assert quiet in names and names[-1].endswith("other stations (range)")


def test_the_replay_view_plays_the_diagram_over_time_and_names_the_first_red(app: AppTest) -> None:
    app.slider(key=RATE_KEY).set_value(110.0).run()  # above the one worker's 100 req/s: api turns red
    app.radio(key="sandbox|view").set_value("Replay").run()
    assert_healthy(app)
    spec = json.loads(next(chart.proto.spec for chart in app.get("plotly_chart")
                           if '"frames"' in chart.proto.spec))
    assert len(spec["frames"]) >= 10 and spec["layout"]["sliders"][0]["steps"]
    assert any(item.value.startswith("**api** turned red first") for item in app.caption)
    stations = json.loads(next(chart.proto.spec for chart in app.get("plotly_chart") if '"Stations at' in
                               chart.proto.spec))
    assert stations["data"][0]["y"] == ["api"] and len(stations["frames"]) == len(spec["frames"])
    marked = figure(app, "Utilisation per station")
    assert any(shape.get("line", {}).get("dash") == "dot" for shape in marked["layout"]["shapes"])


def test_faults_are_shaded_on_the_time_series_with_the_error_burst(app: AppTest) -> None:
    app.selectbox(key="gallery_name").set_value("instance-crash").run()
    assert_healthy(app)
    for title in ("Offered vs served", "Latency percentiles over time", "Utilisation per station", "Queue length"):
        shapes = figure(app, title)["layout"]["shapes"]
        bands = [(shape["x0"], shape["x1"]) for shape in shapes if shape.get("fillcolor") == "rgba(214,39,40,0.10)"]
        assert bands == [(20, 30)], title
    throughput = figure(app, "Offered vs served")
    assert "crash api/0" in [note["text"] for note in throughput["layout"]["annotations"]]


def test_tables_show_a_dash_not_the_word_none() -> None:
    table = readable_table(pd.DataFrame({"model": ["M/M/1", None], "response_ms": [1.5, None]}))
    assert list(table["model"]) == ["M/M/1", "–"]
    assert table["response_ms"].isna().tolist() == [False, True], "numbers stay numbers (shown blank when missing)"


@pytest.mark.parametrize(("value", "text"), [(0.0, "0"), (12.5, "12.5"), (950.0, "950"), (10_436.2, "10.4k"),
                                             (2_350_000.0, "2.35M")])
def test_rates_fit_a_metric_card(value: float, text: str) -> None:
    assert rate(value) == text and number(text) == pytest.approx(value, rel=0.01)


@pytest.mark.parametrize(("value_ms", "text"), [(4.24, "4.2 ms"), (950.0, "950 ms"), (1_250.0, "1.25 s"),
                                                (126_000.0, "2.1 min"), (None, "–")])
def test_latencies_fit_a_metric_card(value_ms: float | None, text: str) -> None:
    assert milliseconds(value_ms) == text
    if value_ms is not None:
        assert number(text) == pytest.approx(value_ms, rel=0.01)


@pytest.mark.parametrize("name", list(gallery_paths()))
def test_every_gallery_scenario_runs(app: AppTest, name: str) -> None:
    app.selectbox(key="gallery_name").set_value(name).run()
    assert_healthy(app)
    assert name in app.title[0].value
    brokers = name in ("event-driven", "notifications")  # a broker adds its lag, partition lag, event latency charts
    functions = name == "serverless"  # a function adds its warm instances and cold starts
    assert len(app.get("plotly_chart")) == 7 + (3 if brokers else 0) + (1 if functions else 0)


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_shows_the_validate_messages_and_page_keeps_working(
        app: AppTest, case: str, tmp_path: Path) -> None:
    data = BAD_UPLOADS[case]
    with pytest.raises(sim.ScenarioError) as caught:
        sim.parse_scenario_text(data, source="bad.yaml")
    expected = [str(problem) for problem in caught.value.problems]
    app.file_uploader(key="upload").set_value(("bad.yaml", data, "application/x-yaml")).run()
    assert_healthy(app)
    shown = texts(app.error)
    assert f"bad.yaml: {len(expected)} problem(s)" in shown
    for line in expected:
        assert line in shown
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    cli = CliRunner().invoke(cli_app, ["validate", str(path)])
    assert cli.exit_code == 2
    cli_lines = " ".join(cli.output.split())
    assert all(" ".join(line.split()) in cli_lines for line in expected), "the CLI prints the same problems"
    assert "single-server" in app.title[0].value and metric(app, "p99") > 0


def test_valid_upload_replaces_the_scenario(app: AppTest) -> None:
    data = (ROOT / "scenarios" / "horizontal-scaling.yaml").read_bytes()
    app.file_uploader(key="upload").set_value(("mine.yaml", data, "application/x-yaml")).run()
    assert_healthy(app)
    assert "mine.yaml" in app.title[0].value
    assert any(box.label == "policy" for box in app.selectbox)


def test_sessions_do_not_share_settings() -> None:
    first = AppTest.from_file(APP, default_timeout=60).run()
    second = AppTest.from_file(APP, default_timeout=60).run()
    first.slider(key=RATE_KEY).set_value(90.0).run()
    second.run()
    assert second.slider(key=RATE_KEY).value == 70.0
    assert metric(second, "Throughput (req/s)") == pytest.approx(70, rel=0.1)


# --- compare ------------------------------------------------------------------------------------------


def test_compare_states_p99_difference_and_capacity(app: AppTest) -> None:
    app.switch_page("app_pages/compare.py").run()
    assert_healthy(app)
    assert "Compare" in app.title[0].value
    p99_a, p99_b = (number(item.value) for item in app.metric if item.label == "p99")
    assert p99_b < p99_a, "variant B doubles the instances"
    statement = app.info[0].value
    assert "lower than A's" in statement and "1 more server (2 vs 1" in statement


def test_compare_with_and_without_cache(app: AppTest) -> None:
    app.selectbox(key="gallery_name").set_value("cache-aside").run()
    app.switch_page("app_pages/compare.py").run()
    assert_healthy(app)
    assert app.selectbox(key="gallery:cache-aside|compare").value == "api: reads via"
    assert "0 vs 5,000 cache keys" in app.info[0].value
    assert len(app.get("plotly_chart")) == 3


# --- validation ---------------------------------------------------------------------------------------


def test_validation_page_tables_simulation_against_closed_forms(app: AppTest) -> None:
    app.switch_page("app_pages/validation.py").run()
    assert_healthy(app)
    table = app.dataframe[0].value
    assert {"M/M/1", "M/D/1", "Erlang B (c=5, no queue)"} <= set(table["case"])
    assert {"predicted", "simulated", "half_width", "within_ci"} <= set(table.columns)
    assert "mean response ms" in set(table["metric"]), "metric names read as words"
    inside = number(next(item.value for item in app.metric if item.label.startswith("Predictions inside")))
    assert inside >= len(table) - 2, "with 95% intervals, at most a miss or two by chance"
    assert len(app.get("plotly_chart")) == 1


# --- monitoring: the dashboard view, the OpenMetrics download ------------------------------------------


def test_dashboard_view_shows_red_and_use_from_the_metrics(app: AppTest) -> None:
    from sim.interop.dashboard import dashboard_series
    from sim.viz.dashboard import PANELS

    app.radio(key="sandbox|view").set_value("Dashboard").run()
    assert_healthy(app)
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in app.get("plotly_chart")]
    red_use = [title for _section, _key, title, _axis, _format in PANELS if _section != "hit_ratio"]
    assert set(red_use) <= set(titles) and "Architecture" not in " ".join(titles)
    expected = dashboard_series(sim.run(sim.load_scenario(ROOT / "scenarios" / "single-server.yaml"), seed=1,
                                        duration_s=float(app.slider(key=f"{SINGLE}|duration").value)))
    utilisation = figure(app, "Utilisation per station")["data"][0]
    assert utilisation["name"] == "api" and utilisation["y"] == pytest.approx(expected["use"]["api"]["utilisation"])
    assert any(button.label.startswith("Metrics (OpenMetrics") for button in app.get("download_button"))
    app.radio(key="sandbox|view").set_value("Diagram").run()
    assert len(app.get("download_button")) == 4 and not any(
        title.startswith("Rate:") for title in (json.loads(chart.proto.spec)["layout"]["title"]["text"]
                                                for chart in app.get("plotly_chart")))


def test_the_openmetrics_download_is_the_runs_file() -> None:
    from app_pages.monitoring import openmetrics_file
    from sim.interop.openmetrics import openmetrics_text

    scenario = sim.load_scenario(ROOT / "scenarios" / "single-server.yaml").model_copy(update={"duration_s": 8.0})
    text = openmetrics_file.__wrapped__(scenario.model_dump_json(), 3)  # type: ignore[attr-defined]
    assert text == openmetrics_text(sim.run(scenario, seed=3)) and text.endswith("# EOF\n")


def test_the_concurrency_knob_moves_the_bottleneck_from_threads_to_the_cores(app: AppTest) -> None:
    app.selectbox(key="gallery_name").set_value("threads-vs-event-loop").run()
    assert_healthy(app)
    assert "api/threads" in texts(app.info) + texts(app.warning)
    cores = app.slider(key="gallery:threads-vs-event-loop|knob|components.api.cores")
    assert cores.value == 4
    concurrency = app.selectbox(key="gallery:threads-vs-event-loop|knob|components.api.concurrency")
    assert concurrency.options == ["threads (one per request)", "event loop (one per instance)", "goroutines on cores"]
    concurrency.set_value("goroutines").run()
    assert_healthy(app)
    assert "api/cores" in texts(app.info) + texts(app.warning)
    assert not app.error


def test_the_fan_out_width_knob_widens_the_tail(app: AppTest) -> None:
    app.selectbox(key="gallery_name").set_value("fan-out").run()
    before = metric(app, "p99")
    app.slider(key="gallery:fan-out|knob|components.frontend.calls.0.fan_out").set_value(40).run()
    assert_healthy(app)
    assert metric(app, "p99") > before
    assert "∥ ×40" in json.dumps(figure(app, "Architecture"), ensure_ascii=False)


@pytest.mark.parametrize(("name", "label", "choice"), [("stampede", "coalesce misses", "on (single flight)"),
                                                       ("quorum", "read consistency", "ONE"),
                                                       ("hot-partition", "adaptive capacity", "on")])
def test_data_tier_knobs_rerun_the_scenario(app: AppTest, name: str, label: str, choice: str) -> None:
    app.selectbox(key="gallery_name").set_value(name).run()
    box = next(box for box in app.selectbox if box.label == label)
    before = metric(app, "p99")
    box.set_value(next(option for option in box.options if option == choice)).run()
    assert_healthy(app)
    assert next(box for box in app.selectbox if box.label == label).value is not None
    assert metric(app, "p99") != before

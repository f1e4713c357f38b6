"""The Builder page under AppTest: an architecture from a blank canvas by form fields only, YAML both ways,
problems beside their field, share links (good and hostile), and a run of what was built."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sim.teaching import builder
from tests.app_helpers import APP, assert_healthy

PAGE = "app_pages/builder.py"


@pytest.fixture
def app_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    return app.switch_page(PAGE).run()


def key(app: AppTest, *parts: str) -> str:
    """A form widget's key: forms are drawn afresh (a new version) whenever the whole document is replaced."""
    return "|".join(("builder", str(app.session_state["builder|version"]), *parts))


def add(app: AppTest, kind: str, name: str) -> None:
    app.selectbox(key="builder|add-kind").set_value(kind)
    app.text_input(key="builder|add-name").set_value(name)
    next(button for button in app.button if button.label == "Add component").click().run()
    assert_healthy(app)


def build_cache_aside(app: AppTest) -> None:
    for kind, name in (("database", "db"), ("cache", "cache"), ("service", "api"), ("load_balancer", "lb")):
        add(app, kind, name)
    app.number_input(key=key(app, "components", "api", "instances")).set_value(3).run()
    app.multiselect(key=key(app, "components", "api", "calls")).set_value(["cache"]).run()
    app.selectbox(key=key(app, "workload", "entry")).set_value("lb").run()


def test_blank_canvas_to_a_running_cache_aside(app_page: AppTest) -> None:
    assert app_page.title[0].value == "Builder"
    assert any("problem(s)" in error.value for error in app_page.error)  # a blank canvas is not a scenario yet
    build_cache_aside(app_page)
    assert_healthy(app_page)
    assert [success.value for success in app_page.success] == ["A valid scenario."]
    yaml_text = next(area.value for area in app_page.text_area if area.label == "Scenario YAML")
    assert "instances: 3" in yaml_text and "store: db" in yaml_text and "target: api" in yaml_text
    assert builder.decode_link(app_page.query_params["scenario"]) == app_page.session_state["builder|document"]
    app_page.toggle(key="builder|run").set_value(True).run()
    assert_healthy(app_page)
    metrics = {metric.label: metric.value for metric in app_page.metric}
    assert float(metrics["Throughput (req/s)"]) > 80  # 100 req/s offered, none refused
    assert any("Bottleneck: api" in info.value for info in app_page.info)
    assert len(app_page.get("plotly_chart")) == 1


def test_a_bad_field_is_flagged_beside_it_and_fixed_in_place(app_page: AppTest) -> None:
    add(app_page, "service", "api")
    app_page.text_input(key=key(app_page, "components", "api", "service_time")).set_value("{mean_ms: -1}").run()
    beside = [markdown.value for markdown in app_page.markdown if markdown.value.startswith(":red[")]
    assert beside and all("mean_ms" in text or "distribution" in text for text in beside), beside
    app_page.text_input(key=key(app_page, "components", "api", "service_time")).set_value(
        "{distribution: deterministic, mean_ms: 4}").run()
    assert [success.value for success in app_page.success] == ["A valid scenario."]
    assert app_page.session_state["builder|document"]["components"]["api"]["service_time"]["mean_ms"] == 4


def test_edited_yaml_rebuilds_the_forms(app_page: AppTest) -> None:
    add(app_page, "service", "api")
    area = next(area for area in app_page.text_area if area.label == "Scenario YAML")
    area.set_value(area.value.replace("kind: service", "kind: service\n    workers: 7")).run()
    next(button for button in app_page.button if button.label == "Apply YAML").click().run()
    assert_healthy(app_page)
    assert app_page.number_input(key=key(app_page, "components", "api", "workers")).value == 7


def test_a_share_link_opens_the_same_architecture() -> None:
    shared = builder.document_yaml(builder.add_component(builder.blank(), "service", "solo"))
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["scenario"] = builder.encode_link(builder.parse_document(shared))
    app.run().switch_page(PAGE).run()
    assert_healthy(app)
    assert list(app.session_state["builder|document"]["components"]) == ["solo"]


def test_a_damaged_link_says_so_and_the_page_works() -> None:
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["scenario"] = "v1.not-a-scenario"
    app.run().switch_page(PAGE).run()
    assert_healthy(app)
    assert any("link:" in error.value for error in app.error)
    add(app, "service", "api")
    assert "api" in app.session_state["builder|document"]["components"]


def test_starting_from_a_gallery_scenario(app_page: AppTest) -> None:
    app_page.selectbox(key="builder|start").set_value("cache-aside")
    next(button for button in app_page.button if button.label == "Start").click().run()
    assert_healthy(app_page)
    assert set(app_page.session_state["builder|document"]["components"]) == {"api", "cache", "db"}
    assert [success.value for success in app_page.success] == ["A valid scenario."]

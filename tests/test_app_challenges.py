"""The Challenges page under AppTest: a missed try earns a hint and the twin's why; the reference setup scores
100 points; tries are counted per session."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sim.teaching.challenges import challenge_paths, load_challenge
from tests.app_helpers import APP, assert_healthy

PAGE = "app_pages/challenges.py"


@pytest.fixture
def challenges_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    return app.switch_page(PAGE).run()


def try_it(app: AppTest) -> None:
    next(button for button in app.button if button.label == "Try it").click().run()
    assert_healthy(app)


def test_a_missed_try_then_the_cheapest_setup(challenges_page: AppTest) -> None:
    app = challenges_page
    assert_healthy(app)
    assert app.title[0].value == "Challenges"
    assert app.selectbox(key="challenges|chosen").value == "serve-5000"
    try_it(app)  # the gallery's 4 instances: far below 5,000 req/s
    assert app.error[0].value.startswith("**0 points.** Not yet")
    assert app.warning[0].value.startswith("**Hint.** Capacity first")
    assert any("saturates at 1,600 req/s, below the 5,000 req/s" in text.value for text in app.markdown)
    table = app.dataframe[0].value
    assert list(table["objective"]) == ["p99 < 200ms", "error_rate < 0.1%", "cost per hour"]
    assert list(table["met"])[:2] == ["no", "no"]
    app.slider(key="challenges|serve-5000|knob|components.api.instances").set_value(13).run()
    app.selectbox(key="challenges|serve-5000|knob|components.lb.policy").set_value("least_connections").run()
    try_it(app)
    assert app.success[0].value == ("**100 points.** Met for $2.63/h; the cheapest setup we know costs $2.63/h: "
                                    "100 points.")
    assert not app.warning  # no hint once met
    assert app.caption[-1].value == "2 tries this session; best score 100 points."


def test_every_challenge_opens_and_scores(challenges_page: AppTest) -> None:
    app = challenges_page
    for slug in challenge_paths():
        app.selectbox(key="challenges|chosen").set_value(slug).run()
        goal = " ".join(load_challenge(slug).goal.split())
        assert any(" ".join(text.value.split()) == goal for text in app.markdown)
        try_it(app)
        assert app.error[0].value.startswith("**0 points.**")  # each start misses its goal

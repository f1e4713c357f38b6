"""The sandbox in a real browser: overload it from the keyboard, see the banner, the diagram and the charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

MAX_STEPS = 40
CHART_COUNT = 7  # architecture, throughput, percentiles, utilisation, queue, distribution, theory
TIMEOUT_MS = 30_000


def open_sandbox(page: Page) -> None:
    page.set_viewport_size({"width": 1400, "height": 3000})  # tall enough that one screenshot shows every chart
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("single-server", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible(timeout=TIMEOUT_MS)


def raise_rate_until_overflow(page: Page) -> float:
    """Press ArrowRight on the arrival-rate slider, one step per finished re-run, until the banner appears."""
    rate = page.get_by_role("slider", name="arrival rate (req/s)")
    banner = page.get_by_test_id("stAlert").filter(has_text="overflowed")
    for _step in range(MAX_STEPS):
        if banner.count():
            break
        rate.focus()
        rate.press("ArrowRight")
        value = float(rate.get_attribute("value") or "nan")
        expect(page.get_by_text(f"Offered {value:g} req/s")).to_be_visible(timeout=TIMEOUT_MS)
    expect(banner).to_contain_text("Unstable: api overflowed", timeout=TIMEOUT_MS)
    return float(rate.get_attribute("value") or "nan")


def test_overload_names_the_saturated_component(page: Page, artifacts_dir: Path) -> None:
    open_sandbox(page)
    rate = raise_rate_until_overflow(page)
    assert rate >= 100, "one worker at 10 ms serves 100 req/s, so it overflows only at or above that"
    expect(page.get_by_test_id("stAlert").filter(has_text="Bottleneck: api")).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(CHART_COUNT, timeout=TIMEOUT_MS)
    for index in range(CHART_COUNT):
        expect(charts.nth(index).locator(".main-svg").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(charts.first).to_contain_text("OVERFLOWED")
    expect(charts.first).to_contain_text("bottleneck: api")
    expect(charts.filter(has_text="Queue length per station")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "sandbox-overload.png"), full_page=True)


def test_bad_upload_shows_problems_and_page_keeps_working(page: Page, artifacts_dir: Path) -> None:
    open_sandbox(page)
    bad = b"name: bad\nworkload: {rate_rps: -5, entry: api}\ncomponents:\n  api: {kind: service, wokers: 2}\n"
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "bad.yaml", "mimeType": "application/x-yaml", "buffer": bad}])
    problems = page.get_by_test_id("stAlert").filter(has_text="bad.yaml")
    expect(problems).to_contain_text("workload.rate_rps", timeout=TIMEOUT_MS)
    expect(problems).to_contain_text("unknown field (did you mean 'workers'?)")
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart").first.locator(".main-svg").first).to_be_visible(timeout=TIMEOUT_MS)
    page.screenshot(path=str(artifacts_dir / "sandbox-bad-upload.png"), full_page=True)


def test_sessions_do_not_share_settings(browser: Browser, base_url: str) -> None:
    first, second = browser.new_context(base_url=base_url), browser.new_context(base_url=base_url)
    try:
        page_one, page_two = first.new_page(), second.new_page()
        open_sandbox(page_one)
        rate = page_one.get_by_role("slider", name="arrival rate (req/s)")
        rate.focus()
        rate.press("ArrowRight")
        expect(page_one.get_by_text("Offered 75 req/s")).to_be_visible(timeout=TIMEOUT_MS)
        open_sandbox(page_two)
        expect(page_two.get_by_text("Offered 70 req/s")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page_two.get_by_role("slider", name="arrival rate (req/s)")).to_have_attribute("value", "70",
                                                                                       timeout=TIMEOUT_MS)
    finally:
        first.close()
        second.close()


def test_the_replay_plays_the_run_over_simulated_time(page: Page, artifacts_dir: Path) -> None:
    open_sandbox(page)
    page.get_by_test_id("stRadio").get_by_text("Replay", exact=True).click()
    title = page.locator(".gtitle").filter(has_text="Replay at")
    expect(title).to_contain_text("Replay at 1 s", timeout=TIMEOUT_MS)
    page.get_by_text("▶ play").first.click()
    expect(title).not_to_contain_text("Replay at 1 s", timeout=TIMEOUT_MS)  # the frames advance
    page.screenshot(path=str(artifacts_dir / "sandbox-replay.png"), full_page=True)

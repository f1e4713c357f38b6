"""Every page in a real browser at the common laptop and desktop sizes: no console error, nothing fetched from
outside the machine, no metric cut off. Screenshots of each page are saved as artifacts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ROOT, require_chromium

pytestmark = pytest.mark.e2e

PAGES = ("Sandbox", "Builder", "Compare", "Capacity", "Lessons", "Challenges", "Validation")
VIEWPORTS = ((1280, 800), (1920, 1080))
TIMEOUT_MS = 120_000  # the Capacity page sweeps on first view; other sessions may share the cores
QUIET_CHECK_MS, QUIET_CHECKS = 250, 4
CUT_OFF_METRICS = """() => [...document.querySelectorAll(
        '[data-testid="stMetricValue"], [data-testid="stMetricValue"] *')]
    .filter(element => element.scrollWidth > element.clientWidth + 1).map(element => element.textContent)"""


def watch(page: Page, base_url: str) -> dict[str, list[Any]]:
    """Collect console errors, failed responses and requests that leave the machine."""
    seen: dict[str, list[Any]] = {"console errors": [], "failed responses": [], "outside requests": []}
    page.on("console", lambda message: seen["console errors"].append(message.text) if message.type == "error"
            else None)
    page.on("response", lambda response: seen["failed responses"].append((response.status, response.url))
            if response.status >= 400 else None)
    page.on("request", lambda request: seen["outside requests"].append(request.url)
            if not request.url.startswith((base_url, "data:", "blob:")) else None)
    return seen


def settle(page: Page, title: str) -> None:
    """Wait until the page's title is drawn and its script has finished: no "running" indicator for a whole
    second (it shows only after a run has gone on for a moment)."""
    expect(page.get_by_role("heading", level=1)).to_contain_text(title, timeout=TIMEOUT_MS)
    quiet_checks = 0
    for _check in range(TIMEOUT_MS // QUIET_CHECK_MS):
        running = page.get_by_test_id("stStatusWidget").count() > 0
        quiet_checks = 0 if running else quiet_checks + 1
        if quiet_checks == QUIET_CHECKS:
            return
        page.wait_for_timeout(QUIET_CHECK_MS)
    raise AssertionError(f"{title}: still running after {TIMEOUT_MS / 1000:.0f} s")


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_every_page_is_clean_offline_and_fits(browser: Browser, base_url: str, artifacts_dir: Path,
                                              width: int, height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height}, base_url=base_url)
    seen = watch(page, base_url)
    page.goto("/")  # then every page through the navigation, as a person moves between them
    for title in PAGES:
        if title != "Sandbox":
            page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
        settle(page, title)
        assert page.evaluate(CUT_OFF_METRICS) == [], f"{title}: a metric is cut off at {width}x{height}"
        page.screenshot(path=str(artifacts_dir / f"page-{title.lower()}-{width}x{height}.png"), full_page=True)
    page.close()
    assert seen == {"console errors": [], "failed responses": [], "outside requests": []}


def test_the_knob_latency_benchmark_runs(tmp_path: Path) -> None:
    """benchmarks/app_latency.py drives its own server and browser; it must keep working (its figures are not
    asserted: speed belongs to the benchmark, not the suite)."""
    require_chromium()
    command = [sys.executable, str(ROOT / "benchmarks" / "app_latency.py"), "--moves", "1", "--scenario",
               "single-server"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert re.search(r"^single-server\s+\d+\.\d\d\s+\d+\.\d\d\s+(ok|SLOW)$", finished.stdout, re.MULTILINE)

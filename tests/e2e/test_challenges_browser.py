"""A challenge completed in a real browser, as a learner does it: a first try with the gallery's setup misses and
earns a hint; turning the instances slider and choosing the balancer by keyboard meets the goal for 100 points."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_pages_browser import settle, watch

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 60_000


def try_it(page: Page) -> None:
    page.get_by_role("button", name="Try it").click()
    settle(page, "Challenges")


def test_complete_the_serve_5000_challenge(browser: Browser, base_url: str, artifacts_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800}, base_url=base_url)
    seen = watch(page, base_url)
    page.goto("/")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Challenges").click()
    settle(page, "Challenges")
    try_it(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="0 points")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stAlert").filter(has_text="Hint.")).to_be_visible(timeout=TIMEOUT_MS)
    instances = page.get_by_role("slider", name="api: instances")
    for _step in range(9):  # 4 -> 13 instances, one step per finished re-run
        instances.focus()
        instances.press("ArrowRight")
        settle(page, "Challenges")
    expect(instances).to_have_attribute("value", "13")
    page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("lb: policy", exact=True)).click()
    page.keyboard.type("least")
    page.keyboard.press("Enter")
    settle(page, "Challenges")
    try_it(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="100 points")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("best score 100 points")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "challenge-serve-5000.png"), full_page=True)
    page.close()
    assert seen == {"console errors": [], "failed responses": [], "outside requests": []}

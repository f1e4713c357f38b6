"""The Builder in a real browser: a new user builds clients -> balancer -> 3 service instances -> cache -> database
from a blank canvas by clicks and form fields only, runs it, and downloads YAML that `sim validate` accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ROOT
from tests.e2e.test_pages_browser import settle, watch

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 60_000
CHAIN = (("database", "db"), ("cache", "cache"), ("service", "api"), ("load_balancer", "lb"))


def choose(page: Page, test_id: str, label: str, option: str) -> None:
    """Open the select widget labelled ``label``, type ``option`` and take it (as a keyboard user does)."""
    page.get_by_test_id(test_id).filter(has=page.get_by_text(label, exact=True)).click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    if test_id == "stMultiSelect":
        page.keyboard.press("Escape")
    settle(page, "Builder")


def add_component(page: Page, kind: str, name: str) -> None:
    choose(page, "stSelectbox", "Kind", kind)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Add component").click()
    expect(page.get_by_test_id("stExpander").filter(has_text=f"{name} · {kind}")).to_be_visible(timeout=TIMEOUT_MS)
    settle(page, "Builder")


def test_build_run_and_download_a_cache_aside_from_blank(browser: Browser, base_url: str, artifacts_dir: Path,
                                                           tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800}, base_url=base_url, accept_downloads=True)
    seen = watch(page, base_url)
    page.goto("/")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Builder").click()
    settle(page, "Builder")
    for kind, name in CHAIN:
        add_component(page, kind, name)
    instances = page.get_by_label("instances", exact=True)
    instances.fill("3")
    instances.press("Enter")
    settle(page, "Builder")
    choose(page, "stMultiSelect", "calls", "cache")
    choose(page, "stSelectbox", "entry", "lb")
    expect(page.get_by_text("A valid scenario.")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_text("Run it").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Bottleneck: api")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stPlotlyChart").locator(".main-svg").first).to_be_visible(timeout=TIMEOUT_MS)
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name="Download YAML").click()
    target = tmp_path / "built.yaml"
    download.value.save_as(target)
    checked = subprocess.run([sys.executable, "-m", "sim", "validate", str(target)], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "valid scenario 'my-architecture' with 4 component(s)" in checked.stdout
    assert "scenario=v1." in page.url  # the address bar carries the architecture
    page.screenshot(path=str(artifacts_dir / "builder-cache-aside.png"), full_page=True)
    page.close()
    assert seen == {"console errors": [], "failed responses": [], "outside requests": []}


def test_a_share_link_opens_the_architecture(browser: Browser, base_url: str) -> None:
    from sim.teaching import builder
    document = builder.add_component(builder.blank(), "service", "solo")
    page = browser.new_page(viewport={"width": 1280, "height": 800}, base_url=base_url)
    page.goto(f"/builder?scenario={builder.encode_link(document)}")
    settle(page, "Builder")
    expect(page.get_by_test_id("stExpander").filter(has_text="solo · service")).to_be_visible(timeout=TIMEOUT_MS)
    page.close()

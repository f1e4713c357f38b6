"""How long the Sandbox takes, in a real browser, from moving a knob to showing the re-run's numbers and charts.

Starts `streamlit run app.py` on 127.0.0.1, opens it in the system's headless Chromium, and for each gallery
scenario presses ArrowRight on the scenario's first slider knob a few times, timing each press until the page has re-run
(the caption with the engine's time has changed and no run is in progress). Prints the median and the worst per
scenario against the goal of one second. Needs the dev extra (Playwright) and Chromium (`apt-get install
chromium`). Usage: ``python benchmarks/app_latency.py [--moves 5] [--scenario NAME ...]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.scenario.gallery import gallery_paths  # noqa: E402
from tests.real_tools import free_port, stop, wait_for_http  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
GOAL_S = 1.0
TIMEOUT_MS = 120_000
ENGINE_CAPTION = "the engine took"
KNOB = re.compile(r"^(?!Simulated duration)")  # the scenario's first slider knob, not the run length


def caption_text(page: Page) -> str:
    return page.get_by_test_id("stCaptionContainer").filter(has_text=ENGINE_CAPTION).first.inner_text()


def wait_for_rerun(page: Page, before: str) -> None:
    """Until the engine's caption differs from ``before`` and no run is in progress."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        idle = page.get_by_test_id("stStatusWidget").count() == 0
        if idle and caption_text(page) != before:
            return
        page.wait_for_timeout(10)
    raise TimeoutError("the page did not re-run")


def choose_scenario(page: Page, name: str) -> None:
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1).filter(has_text=name).wait_for(timeout=TIMEOUT_MS)
    page.get_by_test_id("stCaptionContainer").filter(has_text=ENGINE_CAPTION).first.wait_for(timeout=TIMEOUT_MS)


def time_moves(page: Page, moves: int) -> list[float]:
    """Seconds from each ArrowRight on the first knob to the re-run page."""
    knob = page.get_by_role("slider", name=KNOB).first
    timings = []
    for _move in range(moves):
        before = caption_text(page)
        knob.focus()
        started = time.perf_counter()
        knob.press("ArrowRight")
        wait_for_rerun(page, before)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=5, help="knob moves timed per scenario")
    parser.add_argument("--scenario", action="append", help="gallery scenario (default: all)")
    arguments = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (ROOT / "artifacts").resolve()
    log.mkdir(exist_ok=True)
    with (log / "app_latency_server.log").open("wb") as server_log:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                   "--server.address", "127.0.0.1", "--server.port", str(port),
                                   "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                                  cwd=ROOT, stdout=server_log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"{url}/_stcore/health", server, log / "app_latency_server.log", 60.0)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_test_id("stCaptionContainer").filter(has_text=ENGINE_CAPTION).first.wait_for(
                timeout=TIMEOUT_MS)
            print(f"{'scenario':24} {'median s':>9} {'worst s':>8}  (goal: under {GOAL_S:g} s)")
            for name in arguments.scenario or list(gallery_paths()):
                choose_scenario(page, name)
                timings = time_moves(page, arguments.moves)
                verdict = "ok" if statistics.median(timings) < GOAL_S else "SLOW"
                print(f"{name:24} {statistics.median(timings):9.2f} {max(timings):8.2f}  {verdict}", flush=True)
            browser.close()
    finally:
        stop(server)


if __name__ == "__main__":
    main()

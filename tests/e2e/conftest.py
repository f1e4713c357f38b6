"""Real-browser fixtures: Debian's Chromium driven by Playwright, against `streamlit run app.py` on a free port.

Never `playwright install` here; the system Chromium is used instead. Locally, a missing Chromium skips these
tests with the reason; with CI=true it fails them, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.real_tools import free_port, stop, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 60.0


def require_chromium() -> None:
    """Skip (locally) or fail (CI=true) when the system Chromium is missing."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"Chromium not found at {CHROMIUM}; install it with `apt-get install -y chromium`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing browser is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium with the flags that work on this kind of machine."""
    require_chromium()
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_FLAGS}


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    wait_for_http(f"{url}/_stcore/health", process, log_path, STARTUP_TIMEOUT_S)


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """Serve the app for the session, as (url, server PID); stop exactly the process started here, by its PID."""
    require_chromium()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(url, process, log_path)
        yield url, process.pid
    finally:
        stop(process)


@pytest.fixture(scope="session")
def streamlit_url(streamlit_server: tuple[str, int]) -> str:
    return streamlit_server[0]


@pytest.fixture(scope="session")
def base_url(streamlit_url: str) -> str:
    """pytest-base-url's fixture, pointed at the app, so `page.goto("/")` opens it."""
    return streamlit_url


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

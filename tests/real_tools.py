"""Starting real tools from tests: Prometheus, promtool and servers on 127.0.0.1, bounded in time, stopped by PID.

Locally a missing binary skips the test with the reason; with CI=true it fails it, so a broken CI image cannot
pass silently. ``record`` keeps measured figures for the end-of-session summary (see ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

READY_TIMEOUT_S = 30.0
FIGURES: list[str] = []


def record(line: str) -> None:
    """Print a measured figure now and again in the session's closing summary."""
    print(line)
    FIGURES.append(line)


def require_binary(name: str, install_hint: str) -> str:
    """The path of ``name``; skip (locally) or fail (CI=true) when it is missing."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} not found; install it with `{install_hint}`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing tool is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float = READY_TIMEOUT_S,
                  ) -> None:
    """Poll ``url`` until it answers 200; fail with the process's log if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:g} s:\n{log_path.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop exactly this process, by its PID: terminate, then kill if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def prometheus(data_directory: Path, scrape_configs: list[dict[str, Any]] | None = None) -> Iterator[str]:
    """A real Prometheus on 127.0.0.1 over ``data_directory``; yields its base URL and stops it by PID."""
    binary = require_binary("prometheus", "apt-get install -y prometheus")
    config = data_directory.parent / f"{data_directory.name}-prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                                  "scrape_configs": scrape_configs or []}))  # JSON is YAML
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_directory.parent / f"{data_directory.name}-prometheus.log"
    command = [binary, f"--storage.tsdb.path={data_directory}", f"--web.listen-address=127.0.0.1:{port}",
               f"--config.file={config}", "--storage.tsdb.retention.time=100000d"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"{url}/-/ready", process, log_path)
        yield url
    finally:
        stop(process)


def promql(url: str, expression: str, at_s: float) -> list[dict[str, Any]]:
    """An instant PromQL query over the HTTP API; the result vector (raises on an error status)."""
    query = urllib.parse.urlencode({"query": expression, "time": f"{at_s:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as response:
        document = json.load(response)
    if document.get("status") != "success":
        raise AssertionError(f"{expression}: {document}")
    return list(document["data"]["result"])


def scalar(url: str, expression: str, at_s: float) -> float:
    """The single value of an instant query that must return exactly one series."""
    vector = promql(url, expression, at_s)
    assert len(vector) == 1, f"{expression}: expected one series, got {vector}"
    return float(vector[0]["value"][1])

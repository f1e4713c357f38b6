"""The app in front of a class: uploads name no server files, runs stop within the app's budget with a note,
and one heavy session does not starve another's page."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import pytest
import yaml
from streamlit.testing.v1 import AppTest

import sim
from app_pages.shared import APP_LIMITS, worker_pool
from sim.scenario.scenario import UPLOAD_NAMES_NO_FILES
from tests.app_helpers import APP, HEAVY, ROOT, assert_healthy

SINGLE = yaml.safe_load((ROOT / "scenarios" / "single-server.yaml").read_text(encoding="utf-8"))
STOP_BOUND_S = 10.0  # the acceptance: an over-budget upload stops within 10 s with a note

def upload(at: AppTest, name: str, data: bytes, trace: tuple[str, bytes] | None = None) -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, "application/x-yaml")).run()
    if trace is not None:  # the trace's uploader appears beside an uploaded scenario
        at.file_uploader(key="upload_trace").set_value((trace[0], trace[1], "text/csv")).run()
    return at


def errors(at: AppTest) -> str:
    return "\n".join(element.value for element in at.error)


def trace_upload(trace_file: str) -> bytes:
    data = {**SINGLE, "workload": {"type": "trace", "trace_file": trace_file, "entry": "api"}}
    return yaml.safe_dump(data).encode()


@pytest.fixture(scope="module")
def warm() -> None:
    """A first page load, so the worker processes are up before anything is timed."""
    assert_healthy(AppTest.from_file(APP, default_timeout=120).run())


def test_an_upload_naming_any_path_is_refused_alike(warm: None) -> None:
    shown = []
    for name in ("/etc/passwd", "/no/such/file.csv", "/etc", "/dev/zero", "../../etc/shadow"):
        at = upload(AppTest.from_file(APP, default_timeout=60).run(), "up.yaml", trace_upload(name))
        assert_healthy(at)
        assert f"workload.trace_file: {UPLOAD_NAMES_NO_FILES}" in errors(at)
        assert "single-server" in at.title[0].value  # the page keeps showing the gallery scenario
        shown.append(errors(at))
    assert len(set(shown)) == 1, "the message is the same whether the path exists or not"


def test_an_upload_with_its_trace_beside_it_runs(warm: None) -> None:
    trace = "time_s\n" + "".join(f"{index * 0.02:.2f}\n" for index in range(1, 200))
    at = upload(AppTest.from_file(APP, default_timeout=60).run(), "traced.yaml", trace_upload("arrivals.csv"),
                ("arrivals.csv", trace.encode()))
    assert_healthy(at)
    assert "traced.yaml" in at.title[0].value and not errors(at)


def test_an_over_budget_upload_stops_within_10_s_with_a_note(warm: None) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    started = time.monotonic()
    upload(at, "heavy.yaml", HEAVY)
    elapsed = time.monotonic() - started
    assert_healthy(at)
    notes = "\n".join(element.value for element in at.warning)
    assert "Stopped early" in notes and "This app runs each simulation within 3 s" in notes, notes
    assert elapsed < STOP_BOUND_S, f"the heavy upload took {elapsed:.1f} s"
    heavy = sim.parse_scenario_text(HEAVY)
    assert heavy.limits.max_events > APP_LIMITS["max_events"]  # the app's budget, not the file's, stopped it


def load_time() -> float:
    started = time.monotonic()
    at = AppTest.from_file(APP, default_timeout=60).run()
    elapsed = time.monotonic() - started
    assert_healthy(at)
    return elapsed


def test_a_heavy_session_does_not_starve_another(warm: None) -> None:
    """Page loads of a second session while the first runs its heaviest allowed scenario, back to back."""
    load_time()  # the default page's simulation is now cached, as it is for every later learner
    idle = [load_time() for _ in range(3)]
    stop = threading.Event()
    heavy_runs: list[dict[str, Any]] = []

    def heavy_session() -> None:
        at = upload(AppTest.from_file(APP, default_timeout=60).run(), "heavy.yaml", HEAVY)
        seed_key = next(widget.key for widget in at.number_input if widget.key.endswith("|seed"))
        seed = 1
        while not stop.is_set():
            seed += 1  # a new seed is a new simulation: the session stays busy
            at.number_input(key=seed_key).set_value(seed).run()
            heavy_runs.append({"seed": seed, "stopped": any("Stopped early" in item.value for item in at.warning)})

    thread = threading.Thread(target=heavy_session, daemon=True)
    thread.start()
    pool = worker_pool()
    deadline = time.monotonic() + 60
    while pool.busy() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    loaded = []
    for _ in range(3):
        assert pool.busy() > 0, "the heavy session was not running"
        loaded.append(load_time())
    stop.set()
    thread.join(timeout=60)
    assert heavy_runs and all(run["stopped"] for run in heavy_runs)
    print(f"page load idle {idle} s, while a heavy session runs {loaded} s")
    assert statistics.median(loaded) < 2 * statistics.median(idle), (idle, loaded)

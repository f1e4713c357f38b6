"""What every page shares: the sidebar's scenario choice, the cached simulation, and knob widgets.

State lives in ``st.session_state`` only (one per browser session); the caches hold plain data keyed by plain
arguments, so two sessions never see each other's settings, only each other's identical results.

Simulations run in a small pool of worker processes (``sim.pool``), never on the server's own threads, each
within the app's budget (``APP_LIMITS``): a heavy upload cannot starve other sessions, and a session's run is
cancelled when it reruns or ends (the script polls for its result, so Streamlit can interrupt the wait).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import math
import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import sim
from sim.experiments.executors import Executor
from sim.experiments.pool import PoolExecutor, SimulationPool, Ticket, run_digest, run_records_csv
from sim.results.summary_models import RunSummary
from sim.scenario.gallery import DEFAULT_SCENARIO, first_sentence, gallery_paths, load_gallery_scenario
from sim.scenario.scenario import scenario_from_json
from sim.teaching.knobs import Knob
from sim.teaching.sizing import default_duration_s, with_duration

SELECTION_KEY = "selection"
MAX_UPLOAD_MB = 5  # larger than the 1 MB scenario limit, so oversized files get the same message as the CLI
MAX_TRACE_UPLOAD_MB = 20
# The app's budget per simulation, below any scenario's own: a classroom server stays responsive.
CHART_CONFIG = {"displaylogo": False}  # every chart: no Plotly logo link
APP_LIMITS = {"max_wall_time_s": 3.0, "max_events": 2_000_000, "max_records": 1_000_000, "max_in_flight": 200_000}
POLL_S = 0.25
MIN_DURATION_S = 2.0
CURRENT = object()  # "the knob's own value" (None is a real value: no TTL)


@dataclass(frozen=True)
class Selection:
    """The scenario the sidebar chose, with its run settings; stored in session state for the pages."""

    scenario_id: str
    source: str
    base_json: str
    run_json: str
    seed: int

    @property
    def base(self) -> sim.Scenario:
        """The scenario as written (file or gallery)."""
        return scenario_from_json(self.base_json)

    @property
    def scenario(self) -> sim.Scenario:
        """The scenario with the sidebar's duration applied (what the pages run, before their knobs)."""
        return scenario_from_json(self.run_json)

    def key(self, *parts: str) -> str:
        """A widget key private to this scenario, so switching scenarios starts from its own values."""
        return "|".join((self.scenario_id, *parts))


@st.cache_resource
def worker_pool() -> SimulationPool:
    """The server's simulation workers, shared by every session (one per core, at most four)."""
    return SimulationPool(workers=max(1, min(4, os.cpu_count() or 1)))


def session_owner() -> str:
    """This browser session's id: the pool runs at most one simulation per owner."""
    context = get_script_run_ctx()
    return context.session_id if context is not None else "no-session"


def wait_for(ticket: Ticket) -> Any:
    """The ticket's result, polling so that a rerun or a closed tab interrupts the wait and cancels the run."""
    status = st.empty()
    started = time.monotonic()
    try:
        while True:
            try:
                return ticket.future.result(timeout=POLL_S)
            except concurrent.futures.TimeoutError:
                status.caption(f"Simulating… {time.monotonic() - started:.0f} s (the app stops a run after "
                               f"{APP_LIMITS['max_wall_time_s']:g} s of computing)")
    except (BrokenProcessPool, concurrent.futures.CancelledError):
        st.error("The simulation worker stopped before answering; press **Rerun** to try again.")
        st.stop()
    except sim.ScenarioError as error:  # e.g. settings the scenario's own limits refuse
        st.error("This run cannot start:\n\n```text\n" + "\n".join(str(problem) for problem in error.problems)
                 + "\n```")
        st.stop()
    finally:
        worker_pool().cancel(ticket)
        status.empty()


def session_executor() -> Executor:
    """An experiment executor running this session's replications one at a time in the worker pool."""
    return PoolExecutor(worker_pool(), session_owner(), wait_for)


@st.cache_data(max_entries=128, show_spinner="Simulating…")
def simulate(scenario_json: str, seed: int) -> dict[str, Any]:
    """Run one replication in a worker, within the app's budget, and keep plain data: summary, time series,
    latencies and the time-series CSV."""
    ticket = worker_pool().submit(session_owner(), run_digest, scenario_json, seed, APP_LIMITS)
    data: dict[str, Any] = wait_for(ticket)
    return data


@st.cache_data(max_entries=8, show_spinner=False)
def request_records_csv(scenario_json: str, seed: int) -> str:
    """Per-request records as CSV, made only when asked for (the same seed gives the same records).

    Streamlit calls this when the button is clicked, outside the session's script, so the task has an owner
    of its own (it cancels nothing) and is bounded by the app's budget alone.
    """
    ticket = worker_pool().submit(object(), run_records_csv, scenario_json, seed, APP_LIMITS)
    return str(ticket.future.result(timeout=10 * APP_LIMITS["max_wall_time_s"]))


@st.cache_data(max_entries=32, show_spinner=False)
def parse_upload(data: bytes, file_name: str, trace_name: str = "", trace_data: bytes = b"") -> tuple[
        str | None, list[str]]:
    """An uploaded file as scenario JSON, or None and the problems, one line each, as the CLI prints them.

    The scenario may name no file on the server: a ``trace_file`` must be the name of the trace uploaded beside
    it, which is then inlined (anything else is refused, with one message whatever the name).
    """
    attachments = {trace_name: trace_data} if trace_name else {}
    try:
        return sim.parse_scenario_text(data, source=file_name, attachments=attachments).model_dump_json(), []
    except sim.ScenarioError as error:
        return None, [str(problem) for problem in error.problems]


def stopped_note(summary: RunSummary, container: Any = st) -> None:
    """A visible note when a run was stopped early by a limit (the app's budget or the file's own)."""
    stopped = summary.stopped
    if stopped:
        container.warning(f"**Stopped early ({stopped.limit}).** {stopped.message}. This app runs each "
                          f"simulation within {APP_LIMITS['max_wall_time_s']:g} s of computing and "
                          f"{APP_LIMITS['max_events']:,} events; for the whole run use `python -m sim run`.",
                          icon=":material/timer_off:")


def show_problems(file_name: str, problems: list[str], fallback: str) -> None:
    """The ``python -m sim validate`` message for a bad file, and what the page shows instead."""
    lines = "\n".join(f"  {problem}" for problem in problems)
    st.error(f"**{file_name}: {len(problems)} problem(s)**, so the page keeps showing *{fallback}*.\n\n"
             f"```text\n{lines}\n```")


def reset(scenario_id: str) -> None:
    """Forget every widget value of this scenario, so its controls return to the scenario's own values."""
    for key in [key for key in st.session_state if isinstance(key, str) and key.startswith(f"{scenario_id}|")]:
        del st.session_state[key]


def _chosen_scenario() -> tuple[str, str, str]:
    """(scenario id, source label, scenario JSON) from the gallery picker or a valid upload."""
    names = list(gallery_paths())
    name = st.sidebar.selectbox("Gallery scenario", names, index=names.index(DEFAULT_SCENARIO), key="gallery_name")
    gallery = ("gallery:" + name, name, load_gallery_scenario(name).model_dump_json())
    upload = st.sidebar.file_uploader("…or upload a scenario (YAML or JSON)", type=["yaml", "yml", "json"],
                                      key="upload", max_upload_size=MAX_UPLOAD_MB,
                                      help="Checked like `python -m sim validate`; clear it to return to the gallery.")
    if upload is None:
        return gallery
    trace = st.sidebar.file_uploader("Trace CSV for a trace workload (optional)", type=["csv"], key="upload_trace",
                                     max_upload_size=MAX_TRACE_UPLOAD_MB,
                                     help="An uploaded scenario names no server files: write its file name as "
                                          "`workload.trace_file` and upload it here.")
    data = upload.getvalue()
    scenario_json, problems = parse_upload(data, upload.name, *((trace.name, trace.getvalue()) if trace else ()))
    if scenario_json is None:
        show_problems(upload.name, problems, name)
        return gallery
    st.sidebar.caption(f"Showing the uploaded **{upload.name}**; clear it to return to the gallery.")
    return f"upload:{upload.name}:{hashlib.sha1(data).hexdigest()[:12]}", upload.name, scenario_json


def sidebar() -> Selection:
    """The shared sidebar: scenario, seed, simulated duration, reset. Stores and returns the selection."""
    st.sidebar.header("Scenario")
    scenario_id, source, base_json = _chosen_scenario()
    base = scenario_from_json(base_json)
    st.sidebar.caption(first_sentence(base.description) or base.name)
    seed = st.sidebar.number_input("Seed", min_value=0, value=base.seed, step=1, key=f"{scenario_id}|seed",
                                   help="The same seed gives the same numbers; compare settings on one seed.")
    default_s = default_duration_s(base)
    duration_s = st.sidebar.slider(
        "Simulated duration (s)", min(MIN_DURATION_S, default_s), max(120.0, base.duration_s), default_s,
        1.0 if default_s >= MIN_DURATION_S else default_s, format="%g", key=f"{scenario_id}|duration",
        help=f"The file says {base.duration_s:g} s; {default_s:g} s keeps a run to a second or two.")
    st.sidebar.button("Reset controls", on_click=reset, args=(scenario_id,), width="stretch",
                      help="Back to the scenario's own values, seed and default duration.")
    run_json = with_duration(base, float(duration_s)).model_dump_json()
    selection = Selection(scenario_id, source, base_json, run_json, int(seed))
    st.session_state[SELECTION_KEY] = selection
    return selection


def current_selection() -> Selection:
    """The sidebar's selection for this session (the sidebar runs before every page)."""
    selection = st.session_state.get(SELECTION_KEY)
    return selection if isinstance(selection, Selection) else sidebar()


def knob_widget(knob: Knob, key: str, value: Any = CURRENT, label: str | None = None) -> Any:
    """Draw the widget that suits ``knob`` (in the current container) and return its value."""
    value = knob.value if value is CURRENT else value
    label = label or knob.label
    if knob.kind == "int":
        return st.slider(label, int(knob.minimum or 0), int(knob.maximum or value), int(value), 1, key=key,
                         help=knob.help)
    if knob.kind == "float":
        step = float(knob.step or 1.0)
        decimals = max(0, -math.floor(math.log10(step)))
        return st.slider(label, float(knob.minimum or 0.0), float(knob.maximum or value), float(value), step,
                         format=f"%.{decimals}f", key=key, help=knob.help)
    if knob.kind == "choice":
        return st.selectbox(label, list(knob.options), index=knob.options.index(value), key=key,
                            format_func=knob.format_option, help=knob.help)
    return st.select_slider(label, options=list(knob.options), value=value, key=key, format_func=knob.format_option,
                            help=knob.help)


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal."""
    return "–" if value is None else f"{100 * value:.1f}%"


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its empty text cells shown as "–" rather than the word None."""
    text_columns = [name for name in table.columns
                    if table[name].dtype == object or pd.api.types.is_string_dtype(table[name])]
    return table.assign(**{name: table[name].where(table[name].notna(), "–") for name in text_columns})


def compact(value: float) -> str:
    """A count or rate that fits a metric card: 950, 10.4k, 2.35M (three significant figures above 1,000)."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.1f}" if abs(value) < 100 and value != round(value) else f"{value:.0f}"


def rate(value: float) -> str:
    """Requests per second, compact: 12.5, 950, 10.4k."""
    return compact(value)


def milliseconds(value: float | None) -> str:
    """A latency that fits a metric card: 4.2 ms, 950 ms, 1.25 s, 2.1 min."""
    if value is None:
        return "–"
    if value < 100:
        return f"{value:.1f} ms"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.3g} s"
    return f"{value / 60_000:.3g} min"

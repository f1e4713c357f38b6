"""What every page shares: the sidebar's scenario choice, the cached simulation, and knob widgets.

State lives in ``st.session_state`` only (one per browser session); the caches hold plain data keyed by plain
arguments, so two sessions never see each other's settings, only each other's identical results.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

import sim
from sim.results.timeseries import timeseries_frame
from sim.scenario.gallery import DEFAULT_SCENARIO, first_sentence, gallery_paths, load_gallery_scenario
from sim.scenario.scenario import scenario_from_json
from sim.teaching.knobs import Knob
from sim.teaching.sizing import default_duration_s, with_duration

SELECTION_KEY = "selection"
MAX_UPLOAD_MB = 5  # larger than the 1 MB scenario limit, so oversized files get the same message as the CLI
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


@st.cache_data(max_entries=128, show_spinner="Simulating…")
def simulate(scenario_json: str, seed: int) -> dict[str, Any]:
    """Run one replication and keep plain data: summary, time series, latencies and the time-series CSV."""
    result = sim.run(scenario_from_json(scenario_json), seed=seed)
    return {
        "summary": result.summary,
        "timeseries": result.timeseries(),
        "latencies_ms": np.array(result.ok_latencies_ms(), dtype=np.float32),
        "timeseries_csv": timeseries_frame(result).to_csv(index=False),
    }


@st.cache_data(max_entries=8, show_spinner=False)
def request_records_csv(scenario_json: str, seed: int) -> str:
    """Per-request records as CSV, made only when asked for (the same seed gives the same records)."""
    return sim.run(scenario_from_json(scenario_json), seed=seed).to_pandas().to_csv(index=False)


@st.cache_data(max_entries=32, show_spinner=False)
def parse_upload(data: bytes, file_name: str) -> tuple[str | None, list[str]]:
    """An uploaded file as scenario JSON, or None and the problems, one line each, as the CLI prints them."""
    try:
        return sim.parse_scenario_text(data, source=file_name).model_dump_json(), []
    except sim.ScenarioError as error:
        return None, [str(problem) for problem in error.problems]


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
    data = upload.getvalue()
    scenario_json, problems = parse_upload(data, upload.name)
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


def rate(value: float) -> str:
    """Requests per second, with a decimal only where it matters."""
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def milliseconds(value: float | None) -> str:
    """Milliseconds, with a decimal only below 100 ms (metrics truncate long values)."""
    if value is None:
        return "–"
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"

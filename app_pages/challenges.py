"""Challenges: turn a few knobs until the objectives are met for the least cost, with hints and the twin's why.

Per session and per challenge, ``st.session_state["challenges|<slug>|tries"]`` lists each try's settings,
points and whether it met the goal (plain entries, so they survive page switches).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages.shared import CHART_CONFIG, knob_widget, milliseconds, percent, simulate, stopped_note
from sim import viz
from sim.teaching.challenges import (
    Challenge,
    Score,
    attempt,
    challenge_knobs,
    challenge_paths,
    hint,
    load_challenge,
    score,
    twin_notes,
    twin_view,
)


def key(slug: str, *parts: Any) -> str:
    return "|".join(("challenges", slug, *(str(part) for part in parts)))


def tries(slug: str) -> list[dict[str, Any]]:
    """This session's tries at the challenge, oldest first."""
    return st.session_state.setdefault(key(slug, "tries"), [])


def settings_form(challenge: Challenge) -> dict[str, Any]:
    """One widget per knob the challenge allows; returns path -> chosen value."""
    chosen = {}
    columns = st.columns(len(challenge.knobs))
    for column, knob in zip(columns, challenge_knobs(challenge), strict=True):
        with column:
            chosen[knob.path] = knob_widget(knob, key(challenge.slug, "knob", knob.path))
    return chosen


def objectives_table(result: Score) -> pd.DataFrame:
    rows = [{"objective": objective["slo"], "measured": _measured(objective), "met": "yes" if objective["passed"]
             else "no"} for objective in result.objectives]
    rows.append({"objective": "cost per hour", "measured": f"${result.cost_per_hour:.2f}",
                 "met": "yes" if result.within_budget else "no (over budget)"})
    return pd.DataFrame(rows)


def _measured(objective: dict[str, Any]) -> str:
    value = objective["value"]
    if objective["metric"] == "error_rate":
        return percent(value)
    if objective["metric"] == "throughput":
        return "–" if value is None else f"{value:,.0f} req/s"
    return milliseconds(value)


def show_try(challenge: Challenge, settings: dict[str, Any]) -> None:
    """Run one try, score it, record it, and show the verdict, the hint and the twin's view."""
    scenario = attempt(challenge, settings)
    summary = simulate(scenario.model_dump_json(), scenario.seed)["summary"]
    result = score(challenge, scenario, summary)
    history = tries(challenge.slug)
    if not history or history[-1]["settings"] != settings:
        history.append({"settings": dict(settings), "met": result.met, "points": result.points})
    stopped_note(summary)
    (st.success if result.met else st.error)(f"**{result.points} points.** {result.message}")
    left, right = st.columns([2, 3])
    left.dataframe(objectives_table(result), hide_index=True, width="stretch")
    with right:
        if summary.bottleneck:
            st.info(f"**Bottleneck: {summary.bottleneck.component}.** {summary.bottleneck.reason}.",
                    icon=":material/local_fire_department:")
        failed = sum(not entry["met"] for entry in history)
        advice = hint(challenge, failed) if not result.met else None
        if advice:
            st.warning(f"**Hint.** {advice}", icon=":material/lightbulb:")
    with st.expander("Why, in the analytic twin's numbers", expanded=not result.met):
        st.write(twin_view(scenario))
        for component, notes in twin_notes(scenario).items():
            st.caption(f"{component}: " + "; ".join(notes))
    st.plotly_chart(viz.architecture_figure(scenario, summary), config=CHART_CONFIG, key=key(challenge.slug, "diagram"))


def best_line(slug: str) -> str:
    history = tries(slug)
    if not history:
        return "No tries yet."
    best = max(entry["points"] for entry in history)
    return f"{len(history)} tries this session; best score {best} points."


def main() -> None:
    st.title("Challenges")
    st.caption("Meet the objectives for the least cost. Each try runs the simulation once (the challenge's seed); "
               "a missed try earns a hint.")
    slugs = list(challenge_paths())
    slug = st.selectbox("Challenge", slugs, format_func=lambda name: load_challenge(name).title,
                        key="challenges|chosen")
    challenge = load_challenge(slug)
    st.markdown(challenge.goal)
    objectives = ", ".join(f"`{slo}`" for slo in challenge.slos)
    st.markdown(f"**Objectives:** {objectives}. **Budget:** ${challenge.budget_per_hour:.2f} per hour. "
                f"**Scenario:** {challenge.scenario}.")
    settings = settings_form(challenge)
    if st.button("Try it", type="primary", key=key(slug, "try")):
        st.session_state[key(slug, "shown")] = settings
    shown = st.session_state.get(key(slug, "shown"))
    if shown is not None:
        show_try(challenge, shown)
    st.caption(best_line(slug))


main()

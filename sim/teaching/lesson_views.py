"""What a lesson step looks like on screen, the same in a notebook and in the app: markdown, tables, verdicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.teaching.lessons import Lesson, judge, metric_at, reveal, true_answer

if TYPE_CHECKING:
    import pandas as pd

    from sim.viz.base import go

METRIC_LABELS = {
    "latency_ms.p50": "p50 (ms)",
    "latency_ms.p99": "p99 (ms)",
    "latency_ms.mean": "mean latency (ms)",
    "theory.mean_latency_ms": "theory: mean latency (ms)",
    "throughput_rps": "throughput (req/s)",
    "cost_per_hour": "cost ($/hour)",
    "stable": "stable",
}


def metric_label(path: str) -> str:
    """A readable column name for a metric path."""
    if path in METRIC_LABELS:
        return METRIC_LABELS[path]
    parts = path.split(".")
    name = parts[-1].replace("_", " ")
    owner = parts[-2] if len(parts) >= 3 and parts[0] in ("components", "theory") else ""
    prefix = "theory: " if parts[0] == "theory" else ""
    return f"{prefix}{owner} {name}".strip()


def step_markdown(lesson: Lesson, step: int) -> str:
    """The step's heading and explanation."""
    return f"### {step + 1}. {lesson.steps[step].title}\n\n{lesson.steps[step].text}"


def question_markdown(lesson: Lesson, step: int) -> str:
    """The prediction question, with its choices, to answer before the reveal."""
    prediction = lesson.steps[step].prediction
    if prediction is None:
        return ""
    lines = [f"**Predict before you run the next cell:** {prediction.question}"]
    if prediction.choices:
        lines.append("Choices: " + ", ".join(f"`{choice}`" for choice in prediction.choices))
    return "\n\n".join(lines)


def results_table(lesson: Lesson, step: int, seed: int = 1) -> pd.DataFrame:
    """One row per variant, one column per metric the step shows (simulation and theory side by side)."""
    import pandas as pd

    summaries = reveal(lesson, step, seed)
    rows = []
    for label, summary in summaries.items():
        row: dict[str, Any] = {"variant": label}
        for path in lesson.steps[step].show:
            row[metric_label(path)] = summary.stable if path == "stable" else metric_at(summary, path)
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def verdict(lesson: Lesson, step: int, guess: float | str | None, seed: int = 1) -> str:
    """How close the learner's guess was, or the answer if there was no guess."""
    prediction = lesson.steps[step].prediction
    if prediction is None:
        return ""
    truth = true_answer(prediction, reveal(lesson, step, seed))
    if guess is None or guess == "":
        shown = truth if isinstance(truth, str) else f"{truth:.3g}{' ' + prediction.unit if prediction.unit else ''}"
        return f"No prediction given. The simulation says {shown}."
    if prediction.kind == "number":
        try:
            guess = float(guess)
        except (TypeError, ValueError):
            return f"{guess!r} is not a number; the simulation says {truth}."
    return judge(prediction, guess, truth)


def exercise_markdown(lesson: Lesson, index: int) -> str:
    return f"**Exercise {index + 1}.** {lesson.exercises[index].question}"


def solution_markdown(lesson: Lesson, index: int) -> str:
    return f"**Solution {index + 1}.** {lesson.exercises[index].solution}"


def step_dashboard(lesson: Lesson, step: int, seed: int = 1) -> dict[str, Any] | None:
    """The monitoring dashboard data (RED/USE over time) of the step's ``dashboard`` variant, if it has one."""
    from sim.interop.dashboard import dashboard_series
    from sim.results import run

    label = lesson.steps[step].dashboard
    if label is None:
        return None
    return dashboard_series(run(lesson.variant_scenario(step, label), seed=seed))


def dashboard_figures(lesson: Lesson, step: int, seed: int = 1) -> list[go.Figure]:
    """The step's dashboard as figures: what the learner sees before predicting (no settings shown)."""
    from sim import viz

    dashboard = step_dashboard(lesson, step, seed)
    return [] if dashboard is None else viz.dashboard_figures(dashboard)


def lag_figures(lesson: Lesson, step: int, seed: int = 1) -> list[go.Figure]:
    """For a step with ``lag_chart``: each variant's consumer lag and backlog over time (same seed as the reveal)."""
    from sim import viz
    from sim.results import run

    if not lesson.steps[step].lag_chart:
        return []
    figures = []
    for variant in lesson.steps[step].variants:
        result = run(lesson.variant_scenario(step, variant.label), seed=seed)
        for figure in viz.lag_figures(result.timeseries(), result.summary.warmup_s)[:1]:
            figure.update_layout(title=f"{variant.label}: {figure.layout.title.text}")
            figures.append(figure)
    return figures

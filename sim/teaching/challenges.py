"""Challenges: a goal on a gallery scenario, scored on the objectives met and the cost of meeting them.

A challenge fixes the load (and so the question), names the few knobs a learner may turn, the objectives (SLOs)
to meet and a budget. A try is one run at the challenge's seed; it scores 0 when an objective or the budget is
missed, else 100 x (the cheapest setup we know / this setup's cost), at most 100. A missed try earns the next
hint, and the analytic twin says why in numbers. Everything here is data in, data out: the app and the tests
run the scenario themselves.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from sim.data import data_path
from sim.model.base import StrictModel
from sim.model.knobs import Knob
from sim.model.yaml12 import safe_load_yaml
from sim.results.summary_models import RunSummary
from sim.scenario.cost import hourly_cost
from sim.scenario.gallery import load_gallery_scenario
from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import Scenario
from sim.teaching.knobs import scenario_knobs
from sim.twin.predict import predict, saturation_rate_rps

CHALLENGE_DIRECTORY = data_path("challenges")


class KnobLimit(StrictModel):
    """A challenge's own range for a numeric knob (the scenario's default range may be too narrow)."""

    minimum: float
    maximum: float


class Challenge(StrictModel):
    """A goal: a gallery scenario under a fixed load, the knobs to turn, objectives, a budget and hints."""

    slug: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9-]+$")]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    goal: Annotated[str, Field(min_length=1)]
    scenario: str = Field(description="the gallery scenario the challenge starts from")
    load: dict[str, Any] = Field(default_factory=dict, description="field path -> value, fixed for every try")
    slos: Annotated[list[str], Field(min_length=1)]
    budget_per_hour: Annotated[float, Field(gt=0)]
    duration_s: Annotated[float, Field(gt=0, le=120)] = 20.0
    knobs: Annotated[list[str], Field(min_length=1, description="the field paths a learner may change")]
    limits: dict[str, KnobLimit] = Field(default_factory=dict)
    hints: Annotated[list[str], Field(min_length=1)]
    reference: dict[str, Any] = Field(description="the cheapest setup we know that meets the goal")

    def start(self) -> Scenario:
        """The scenario every try starts from: the gallery file under the challenge's load and objectives."""
        base = load_gallery_scenario(self.scenario)
        fixed = {**self.load, "slos": list(self.slos), "duration_s": self.duration_s}
        return with_overrides(base, fixed)


@dataclass(frozen=True)
class Score:
    """How a try went: each objective's verdict, cost against budget, points and what to read next."""

    objectives: list[dict[str, Any]]
    cost_per_hour: float
    within_budget: bool
    met: bool
    points: int
    reference_cost_per_hour: float
    message: str


def challenge_paths() -> dict[str, Path]:
    """Challenge slugs mapped to their files, in order."""
    paths = sorted(CHALLENGE_DIRECTORY.glob("*.yaml"))
    return {path.stem.split("-", 1)[1]: path for path in paths}


@functools.cache
def load_challenge(slug: str) -> Challenge:
    """Read and validate the challenge called ``slug`` (e.g. ``"serve-5000"``)."""
    paths = challenge_paths()
    if slug not in paths:
        raise KeyError(f"no challenge {slug!r}; available: {', '.join(paths)}")
    return Challenge.model_validate(safe_load_yaml(paths[slug].read_text(encoding="utf-8")))


def challenge_knobs(challenge: Challenge) -> list[Knob]:
    """The knobs a learner may turn, in the challenge's order, with its own ranges where it gives one."""
    offered = {knob.path: knob for knob in scenario_knobs(challenge.start())}
    missing = [path for path in challenge.knobs if path not in offered]
    if missing:
        raise ValueError(f"challenge {challenge.slug!r}: no knob {', '.join(missing)} on {challenge.scenario!r}")
    knobs = []
    for path in challenge.knobs:
        knob, limit = offered[path], challenge.limits.get(path)
        knobs.append(dataclasses.replace(knob, minimum=limit.minimum, maximum=limit.maximum) if limit else knob)
    return knobs


def attempt(challenge: Challenge, settings: dict[str, Any]) -> Scenario:
    """The scenario of one try: the start with the learner's settings (only the challenge's knobs, in range)."""
    knobs = {knob.path: knob for knob in challenge_knobs(challenge)}
    for path, value in settings.items():
        knob = knobs.get(path)
        if knob is None:
            raise ValueError(f"{path}: not a knob of challenge {challenge.slug!r}")
        if knob.minimum is None or knob.maximum is None:
            continue  # a choice: the scenario's own validation names a bad option
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: {value!r} is not a number")
        if not knob.minimum <= value <= knob.maximum:
            raise ValueError(f"{path}: {value} is outside {knob.minimum:g}..{knob.maximum:g}")
    return with_overrides(challenge.start(), settings)


def reference_cost(challenge: Challenge) -> float:
    """What the cheapest setup we know costs per hour."""
    return hourly_cost(attempt(challenge, challenge.reference))


def score(challenge: Challenge, scenario: Scenario, summary: RunSummary) -> Score:
    """Score one try from its run summary."""
    objectives = [result.model_dump() for result in summary.slos]
    cost, best = summary.cost_per_hour, reference_cost(challenge)
    within_budget = cost <= challenge.budget_per_hour + 1e-9
    met = summary.slos_passed and within_budget and summary.stopped is None
    points = round(100 * min(1.0, best / cost)) if met and cost > 0 else 0
    return Score(objectives, cost, within_budget, met, points, best, _message(challenge, met, points, cost, best))


def _message(challenge: Challenge, met: bool, points: int, cost: float, best: float) -> str:
    if not met:
        if cost > challenge.budget_per_hour + 1e-9:
            return f"Over budget: ${cost:.2f}/h against ${challenge.budget_per_hour:.2f}/h."
        return "Not yet: at least one objective is missed."
    if cost < best - 1e-9:
        return f"Met for ${cost:.2f}/h: cheaper than the best setup we knew (${best:.2f}/h). 100 points."
    return f"Met for ${cost:.2f}/h; the cheapest setup we know costs ${best:.2f}/h: {points} points."


def hint(challenge: Challenge, failed_tries: int) -> str | None:
    """The hint after ``failed_tries`` missed tries (the last one repeats); none before the first miss."""
    if failed_tries < 1:
        return None
    return challenge.hints[min(failed_tries, len(challenge.hints)) - 1]


def twin_view(scenario: Scenario) -> str:
    """Why, in the analytic twin's numbers: where the setup saturates against the offered load, and which
    station the theory sees as busiest."""
    stations = {name: utilisation for component in predict(scenario).values()
                for name, utilisation in _station_utilisations(component.to_dict())}
    offered = scenario.workload.rate_rps
    saturation = saturation_rate_rps(scenario)
    parts = []
    if saturation is not None and offered is not None:
        verdict = "below" if saturation < offered else "above"
        parts.append(f"the twin says this setup saturates at {saturation:,.0f} req/s, {verdict} the "
                     f"{offered:,.0f} req/s the challenge sends")
    if stations:
        busiest = max(stations, key=lambda name: stations[name])
        parts.append(f"its busiest station is {busiest} at a predicted {100 * stations[busiest]:.0f}% busy")
    if not parts:
        return "The twin has no prediction for this setup."
    sentence = "; ".join(parts) + "."
    return sentence[0].upper() + sentence[1:]


def twin_notes(scenario: Scenario) -> dict[str, list[str]]:
    """The twin's notes per component (the model's assumptions and what it expects, e.g. throttled requests)."""
    return {name: list(component.notes) for name, component in predict(scenario).items() if component.notes}


def _station_utilisations(prediction: dict[str, Any]) -> list[tuple[str, float]]:
    stations = prediction.get("stations") or {}
    return [(name, float(values["utilisation"])) for name, values in stations.items()
            if values.get("utilisation") is not None]

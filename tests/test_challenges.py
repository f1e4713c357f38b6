"""Challenges: each file is valid, its knobs exist on its scenario, the starting setup misses the goal (so there
is something to do), the reference setup meets it and scores 100, and the hints and the twin say why."""

from __future__ import annotations

import pytest

import sim
from sim.model.errors import ScenarioError
from sim.scenario.cost import hourly_cost
from sim.teaching.challenges import (
    Challenge,
    attempt,
    challenge_knobs,
    challenge_paths,
    hint,
    load_challenge,
    reference_cost,
    score,
    twin_view,
)

SLUGS = list(challenge_paths())


def run_try(challenge: Challenge, settings: dict) -> tuple[sim.Scenario, sim.Result]:
    scenario = attempt(challenge, settings)
    return scenario, sim.run(scenario, seed=scenario.seed)


def test_the_issue_s_challenges_are_there() -> None:
    assert SLUGS[:2] == ["serve-5000", "hot-shard"] and len(SLUGS) >= 3
    assert load_challenge("serve-5000").title == "Serve 5,000 req/s at p99 < 200 ms for the least cost"


@pytest.mark.parametrize("slug", SLUGS)
def test_the_start_misses_and_the_reference_meets_the_goal(slug: str) -> None:
    challenge = load_challenge(slug)
    scenario, result = run_try(challenge, {})
    start = score(challenge, scenario, result.summary)
    assert not start.met and start.points == 0
    assert any(not objective["passed"] for objective in start.objectives)
    assert hint(challenge, 1) == challenge.hints[0] and hint(challenge, 99) == challenge.hints[-1]
    assert hint(challenge, 0) is None
    scenario, result = run_try(challenge, challenge.reference)
    best = score(challenge, scenario, result.summary)
    assert best.met and best.points == 100, best
    assert best.cost_per_hour == pytest.approx(reference_cost(challenge)) == pytest.approx(hourly_cost(scenario))
    assert best.cost_per_hour <= challenge.budget_per_hour


def test_a_dearer_setup_that_meets_the_goal_scores_its_cost_ratio() -> None:
    challenge = load_challenge("serve-5000")
    settings = {"components.api.instances": 20, "components.lb.policy": "least_connections"}
    scenario, result = run_try(challenge, settings)
    dearer = score(challenge, scenario, result.summary)
    # 13 instances and the balancer cost 2.63/h; 20 cost 4.03/h: 100 x 2.63 / 4.03 = 65 points
    assert dearer.met and dearer.cost_per_hour == pytest.approx(4.03)
    assert dearer.points == round(100 * 2.63 / 4.03) == 65


def test_round_robin_needs_more_instances_than_least_connections_at_the_knee() -> None:
    """13 instances hold 5,200 req/s of capacity for 5,000 offered: round robin's uneven queues miss the p99
    there (at 96% utilisation each instance's own queue is long), least connections' shared view meets it."""
    challenge = load_challenge("serve-5000")
    round_robin = score(challenge, *_scored(challenge, {"components.api.instances": 13}))
    assert not round_robin.met and round_robin.objectives[0]["value"] > 200
    least = score(challenge, *_scored(challenge, challenge.reference))
    assert least.met and least.objectives[0]["value"] < 200


def _scored(challenge: Challenge, settings: dict) -> tuple[sim.Scenario, sim.results.summary_models.RunSummary]:
    scenario, result = run_try(challenge, settings)
    return scenario, result.summary


def test_over_budget_scores_nothing_even_when_the_objectives_hold() -> None:
    challenge = load_challenge("serve-5000").model_copy(update={"budget_per_hour": 3.0})
    settings = {"components.api.instances": 20, "components.lb.policy": "least_connections"}
    verdict = score(challenge, *_scored(challenge, settings))
    assert all(objective["passed"] for objective in verdict.objectives)
    assert not verdict.within_budget and not verdict.met and verdict.points == 0
    assert verdict.message == "Over budget: $4.03/h against $3.00/h."


def test_the_twin_names_the_saturation_and_the_hot_station() -> None:
    challenge = load_challenge("hot-shard")
    view = twin_view(attempt(challenge, {}))
    assert "saturates at 2,261 req/s, below the 3,000 req/s" in view
    assert "db/shard-3/primary" in view  # the shard the skewed keys hash to
    view = twin_view(attempt(challenge, challenge.reference))
    assert "above the 3,000 req/s" in view


@pytest.mark.parametrize("settings, words", [
    ({"components.api.workers": 64}, "not a knob"),
    ({"components.api.instances": 33}, "outside 1..32"),
    ({"components.api.instances": "many"}, "not a number"),
])
def test_a_try_may_turn_only_the_challenge_s_knobs_within_range(settings: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        attempt(load_challenge("serve-5000"), settings)


def test_a_bad_value_is_a_field_named_problem() -> None:
    with pytest.raises(ScenarioError) as caught:
        attempt(load_challenge("serve-5000"), {"components.lb.policy": "fastest"})
    assert "components.lb.policy" in str(caught.value)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_knob_exists_with_bounds_that_contain_the_reference(slug: str) -> None:
    challenge = load_challenge(slug)
    knobs = {knob.path: knob for knob in challenge_knobs(challenge)}
    assert set(challenge.reference) <= set(knobs)
    for path, value in challenge.reference.items():
        knob = knobs[path]
        if knob.minimum is not None and knob.maximum is not None:
            assert knob.minimum <= value <= knob.maximum
        else:
            assert value in knob.options

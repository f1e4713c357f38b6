"""Overload told as overload: `sim example` pushed past its 100 req/s, capped runs, and the overflow test."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.results.bottleneck import overflowing

runner = CliRunner()
EXAMPLE_CAPACITY_RPS = 100.0  # one worker at 10 ms per request


def example_at(rate_rps: float, tmp_path: Path) -> Path:
    """`python -m sim example`, with its rate changed as a learner would, saved to a file."""
    document = yaml.safe_load(runner.invoke(app, ["example"]).output)
    document["workload"]["rate_rps"] = rate_rps
    path = tmp_path / f"example-{rate_rps:g}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("rate_rps", [105.0, 150.0, 1_000_000.0])
def test_example_past_capacity_reports_an_overload_not_headroom(rate_rps: float, tmp_path: Path) -> None:
    path = example_at(rate_rps, tmp_path)
    summary = sim.run(sim.load_scenario(path)).summary
    api = summary["components"]["api"]
    # completions of a saturated exponential server over the window are Poisson: allow three deviations
    completions = api["throughput_rps"] * summary["measured_s"]
    noise_rps = 3 * math.sqrt(completions) / summary["measured_s"]
    assert summary["throughput_rps"] <= EXAMPLE_CAPACITY_RPS + noise_rps
    assert summary["throughput_rps"] <= api["capacity_rps"] * (1 + 1e-9)
    assert api["throughput_rps"] <= api["capacity_rps"] * (1 + 1e-9)
    assert api["mean_response_ms"] >= api["mean_wait_ms"]
    assert summary["stable"] is False and summary["overflowed"] == ["api"]
    [entry] = summary["overload"]
    assert entry["offered_rps"] == pytest.approx(rate_rps, rel=0.05)
    assert entry["capacity_rps"] == pytest.approx(EXAMPLE_CAPACITY_RPS, rel=0.1)
    assert entry["theory_capacity_rps"] == pytest.approx(EXAMPLE_CAPACITY_RPS)
    assert "offered" in entry["message"] and "capacity" in entry["message"]
    assert "headroom" not in summary["bottleneck"]["reason"]
    text = " ".join(runner.invoke(app, ["run", str(path)]).output.split())
    assert "UNSTABLE" in text and "cannot keep up" in text and "headroom" not in text
    assert "offered" in text and "capacity of" in text


def test_a_rate_past_the_request_cap_shortens_the_run_and_measures_it(tmp_path: Path) -> None:
    scenario = sim.load_scenario(example_at(1_000_000.0, tmp_path))
    result = sim.run(scenario)
    summary = result.summary
    assert not result.info.capped, "sized to fit under max_requests, the run never reaches it"
    assert summary["duration_s"] < 2.0 and summary["warmup_s"] < summary["duration_s"] / 10
    assert "max_requests=2,000,000" in summary["warnings"][0] and "shortened" in summary["warnings"][0]
    assert summary["requests"]["offered"] > 1_000_000, "the measured window holds data"
    assert summary["components"]["api"]["utilisation"] > 0.99
    assert "no_verdict" not in summary


def closed_loop(users: int, max_requests: int) -> dict[str, object]:
    """Users with 1 ms of thought in front of 4 workers at 5 ms: a closed loop's request count depends on the
    system, so it cannot be sized in advance and may reach its cap."""
    return {"duration_s": 60, "warmup_s": 5, "max_requests": max_requests,
            "workload": {"type": "closed", "users": users, "entry": "api",
                         "think_time": {"distribution": "exponential", "mean_ms": 1}},
            "components": {"api": {"kind": "service", "workers": 4,
                                   "service_time": {"distribution": "exponential", "mean_ms": 5}}}}


def test_a_run_capped_soon_after_warm_up_gives_no_verdict() -> None:
    result = sim.run(sim.parse_scenario(closed_loop(users=20, max_requests=6000)))
    summary = result.summary
    assert result.info.capped and result.info.capped_at_s is not None
    assert result.info.capped_at_s < 5 + 0.25 * 55
    assert summary["stable"] is None and summary["bottleneck"] is None and summary["overflowed"] == []
    assert "max_requests=6,000" in summary["no_verdict"] and "raise max_requests" in summary["no_verdict"]


def test_a_cap_late_in_the_run_ends_the_measured_window_there() -> None:
    result = sim.run(sim.parse_scenario(closed_loop(users=4, max_requests=30_000)))
    summary = result.summary
    assert result.info.capped_at_s is not None and 20 < result.info.capped_at_s < 60
    assert summary["measured_s"] == pytest.approx(result.info.capped_at_s - 5)
    assert summary["stable"] is True and "no_verdict" not in summary
    # four users, each 5 ms of work and 1 ms of thought: about 4 / 6 ms, measured over the window that has data
    assert summary["throughput_rps"] == pytest.approx(4000 / 6, rel=0.05)
    assert "the measured window ends there" in summary["warnings"][0]


def station(dropped: int, accepted: int, span_s: float, growth: float = 0.0) -> dict[str, float]:
    return {"utilisation": 1.0, "dropped": dropped, "accepted": accepted,
            "arrival_rate_rps": (dropped + accepted) / span_s, "queue_growth_rps": growth}


@pytest.mark.parametrize("span_s", [5.0, 50.0, 500.0])
def test_overflow_compares_drops_with_arrivals_whatever_the_window(span_s: float) -> None:
    rate_rps = 100.0
    arrivals = int(rate_rps * span_s)
    shedding = station(dropped=arrivals // 20, accepted=arrivals - arrivals // 20, span_s=span_s)  # 5% dropped
    few = station(dropped=arrivals // 500, accepted=arrivals - arrivals // 500, span_s=span_s)  # 0.2% dropped
    growing = station(dropped=0, accepted=arrivals, span_s=span_s, growth=0.05 * rate_rps)
    stations = {"shedding": shedding, "few": few, "growing": growing}
    assert overflowing(stations, {}, span_s) == ["shedding", "growing"]


def test_the_command_line_says_when_a_run_gives_no_verdict(tmp_path: Path) -> None:
    path = tmp_path / "closed.yaml"
    path.write_text(yaml.safe_dump(closed_loop(users=20, max_requests=6000)), encoding="utf-8")
    outcome = runner.invoke(app, ["run", str(path)])
    assert outcome.exit_code == 0
    text = " ".join(outcome.output.split())
    assert "[NO VERDICT]" in text and "no verdict: the run reached max_requests=6,000" in text
    assert "bottleneck" not in text and "headroom" not in text


def test_a_long_trace_and_a_shaped_load_are_sized_to_the_cap(tmp_path: Path) -> None:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("time_s\n" + "\n".join(f"{index / 500:.4f}" for index in range(5000)) + "\n", encoding="utf-8")
    service = {"kind": "service", "workers": 8, "service_time": {"distribution": "exponential", "mean_ms": 5}}
    replay = sim.parse_scenario({"duration_s": 10, "warmup_s": 1, "max_requests": 2000, "components": {"api": service},
                                 "workload": {"type": "trace", "trace_file": str(trace), "entry": "api"}})
    result = sim.run(replay)
    assert result.scenario.duration_s == pytest.approx(3.6, abs=0.01), "the 1,800th row (90% of the cap)"
    assert not result.info.capped and result.records["arrival_s"].size <= 1800
    spike = {"kind": "spike", "at_s": 10, "duration_s": 5, "rate_rps": 50_000}
    spiky = sim.parse_scenario({"duration_s": 60, "warmup_s": 5, "max_requests": 100_000,
                                "components": {"api": service},
                                "workload": {"rate_rps": 100, "entry": "api", "profile": spike}})
    result = sim.run(spiky)
    assert 10 < result.scenario.duration_s < 12 and not result.info.capped
    assert "shortened from 60 s" in result.summary["warnings"][0]

"""Every gallery scenario validates, runs quickly, and shows the lesson its description promises."""

from __future__ import annotations

import pytest

import sim
from sim.scenario.gallery import first_sentence, gallery_paths
from sim.scenario.overrides import with_overrides

EXPECTED = {"single-server", "horizontal-scaling", "cache-aside", "sharded-db", "microservices",
            "threads-vs-event-loop", "event-driven", "quorum", "hot-partition", "stampede", "notifications",
            "cache-server", "serverless"}
# the twin counts reads that miss during a refill as hits (Che), so it misses a stampede on purpose: stampede.yaml
# shows what the twin leaves out, and tests/test_stampede.py holds the burst to its own closed form
TWIN_CHECKED = EXPECTED - {"stampede"}


def test_gallery_has_the_promised_scenarios() -> None:
    assert set(gallery_paths()) >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gallery_scenario_runs_stably(name: str) -> None:
    scenario = sim.load_scenario(gallery_paths()[name])
    assert len(first_sentence(scenario.description)) > 20
    summary = sim.run(scenario).summary
    assert summary["stable"], summary["overflowed"]
    assert summary["requests"]["completed"] > 1000
    assert summary["bottleneck"] is not None


def test_single_server_is_about_seventy_percent_busy() -> None:
    summary = sim.run(sim.load_scenario(gallery_paths()["single-server"])).summary
    assert 0.65 < summary["components"]["api"]["utilisation"] < 0.75


def test_sharded_db_has_a_hot_shard() -> None:
    summary = sim.run(sim.load_scenario(gallery_paths()["sharded-db"])).summary
    stations = summary["components"]["db"]["stations"]
    busiest = max(stations.values(), key=lambda station: station["utilisation"])
    quietest = min(stations.values(), key=lambda station: station["utilisation"])
    assert busiest["utilisation"] > 2 * quietest["utilisation"]
    assert summary["bottleneck"]["component"].startswith("db/shard-")
    assert "traffic of its siblings" in summary["bottleneck"]["reason"]


def test_cache_aside_hit_ratio_emerges_near_theory() -> None:
    summary = sim.run(sim.load_scenario(gallery_paths()["cache-aside"])).summary
    simulated = summary["components"]["cache"]["hit_ratio"]
    predicted = summary["theory"]["components"]["cache"]["hit_ratio"]
    assert 0.3 < simulated < 0.9
    assert abs(simulated - predicted) < 0.08  # cold start and a 30 s run keep it a little below steady state


def test_twin_saturation_rate_of_a_single_server() -> None:
    from sim.twin.predict import saturation_rate_rps

    # one worker at 10 ms per request saturates at 100 req/s, whatever the current load
    assert saturation_rate_rps(sim.load_scenario(gallery_paths()["single-server"])) == pytest.approx(100.0)


@pytest.mark.parametrize("name", sorted(TWIN_CHECKED))
def test_analytic_twin_predicts_mean_latency_of_each_gallery_scenario(name: str) -> None:
    """The twin is an approximation (Allen-Cunneen, Che, Erlang-n splits), but a close one: within 15% here."""
    scenario = sim.load_scenario(gallery_paths()[name]).model_copy(update={"duration_s": 150, "warmup_s": 30})
    summary = sim.run(scenario).summary
    simulated, predicted = summary["latency_ms"]["mean"], summary["theory"]["mean_latency_ms"]
    assert predicted == pytest.approx(simulated, rel=0.15), (simulated, predicted)


def test_threads_vs_event_loop_moves_the_bottleneck_from_threads_to_the_cpu() -> None:
    from sim.scenario.overrides import with_overrides
    from sim.twin.predict import saturation_rate_rps

    scenario = sim.load_scenario(gallery_paths()["threads-vs-event-loop"])
    summary = sim.run(scenario).summary
    assert summary.bottleneck is not None and summary.bottleneck.component == "api/threads"
    assert saturation_rate_rps(scenario) == pytest.approx(1600, rel=0.01)
    looped = with_overrides(scenario, {"components.api.concurrency": "event_loop", "components.api.instances": 4})
    assert saturation_rate_rps(looped) == pytest.approx(4000, rel=1e-6)
    looped_summary = sim.run(looped).summary
    assert looped_summary.bottleneck is not None and looped_summary.bottleneck.component.endswith("/loop")


def test_microservices_tail_follows_the_slow_branch() -> None:
    summary = sim.run(sim.load_scenario(gallery_paths()["microservices"])).summary
    assert summary.bottleneck is not None and summary.bottleneck.component.startswith("reviews-db")
    assert summary.latency_ms.p99 is not None and summary.latency_ms.p99 > 3 * summary.latency_ms.p50


def test_coalescing_removes_the_stampede_from_the_database() -> None:
    from sim.scenario.overrides import with_overrides

    scenario = sim.load_scenario(gallery_paths()["stampede"])
    plain = sim.run(scenario, seed=7).summary
    coalesced = sim.run(with_overrides(scenario, {"components.cache.coalesce_misses": True}), seed=7).summary
    assert coalesced.components["cache"].store_reads_per_refill == 1.0
    # the same refills, without the followers: the database sees far fewer reads and the tail shrinks
    assert coalesced.components["db"].arrival_rate_rps < 0.7 * plain.components["db"].arrival_rate_rps
    assert coalesced.latency_ms.p99 < plain.latency_ms.p99


def test_a_single_event_loop_makes_the_cache_the_bottleneck_and_threads_relieve_it() -> None:
    scenario = sim.load_scenario(gallery_paths()["cache-server"])
    summary = sim.run(scenario).summary
    assert summary.bottleneck is not None and summary.bottleneck.component == "cache/server"
    cache, database = summary.components["cache"], summary.components["db"]
    assert 0.7 < cache.utilisation < 0.85 and database.utilisation < 0.5
    threads = sim.run(with_overrides(scenario, {"components.cache.server.model": "threads"})).summary
    assert threads.components["cache"].utilisation == pytest.approx(cache.utilisation / 4, rel=0.05)
    assert threads.components["cache"].mean_response_ms < cache.mean_response_ms - 0.5

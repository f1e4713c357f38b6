"""Reading load-test results: Locust, JMeter and k6 files in their real formats, and bad files refused by name.

Fixtures in tests/fixtures/loadtest: ``locust_stats.csv`` and its history are real Locust 2.47 output (the
calibration run of tests/test_locust.py); ``jmeter.jtl`` and ``k6.json`` are in those tools' default formats,
with latencies drawn from a seeded M/M/1 simulation under five load steps (2, 4, 6, 8 and 9 threads).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.interop import loadtest_results
from sim.interop.loadtest_readers import read_load_test
from sim.interop.loadtest_results import LoadTestError
from tests.conftest import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "loadtest"
TEMPLATE = PROJECT_ROOT / "tests" / "loadtest" / "template.yaml"
JTL_HEADER = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,allThreads\n"


def test_locust_stats_and_history() -> None:
    result = read_load_test(FIXTURES / "locust_stats.csv")
    assert result.tool == "locust"
    assert set(result.requests) == {"all", "/", "/ping"}
    work, ping, every = result.stats("/"), result.stats("/ping"), result.stats(None)
    assert work.count + ping.count == every.count == 1417
    assert work.mean_ms == pytest.approx(23.2232456, abs=1e-6) and ping.mean_ms < 5
    assert work.quantiles_ms[0.5] == 21 and work.quantiles_ms[0.95] == 44
    assert result.duration_s == pytest.approx(every.count / 36.325305597614914, rel=1e-9)
    assert [round(window.throughput_rps) for window in result.windows] == [37, 36, 36]
    assert all(window.users == 10 for window in result.windows)
    assert work.samples_ms is None  # Locust writes percentiles, not each request


def test_jmeter_jtl_by_label_with_threads() -> None:
    result = read_load_test(FIXTURES / "jmeter.jtl")
    every = result.stats(None)
    assert result.tool == "jmeter" and every.count == 2454 and every.failures == 26
    assert result.stats("GET /items").count + result.stats("POST /items").count == every.count
    assert every.samples_ms is not None and every.samples_ms.size == every.count - every.failures
    assert [window.users for window in result.windows] == [2, 4, 6, 8, 9]
    assert result.duration_s == pytest.approx(50.0, abs=0.5)


def test_k6_json_lines_with_offsets_and_failures() -> None:
    result = read_load_test(FIXTURES / "k6.json")
    every = result.stats(None)
    assert result.tool == "k6" and every.count == 547 and every.failures == 1
    assert [window.users for window in result.windows] == [2, 4]
    assert result.duration_s == pytest.approx(20.0, abs=0.5)
    assert "http://127.0.0.1:8080/items" in result.requests


BAD_FILES = {
    "jmeter-text-elapsed": (JTL_HEADER + "1700000000000,abc,GET,200,OK,t,text,true,1\n", "line 2, column 'elapsed'"),
    "jmeter-success": (JTL_HEADER + "1700000000000,12,GET,200,OK,t,text,yes,1\n", "column 'success'"),
    "jmeter-negative": (JTL_HEADER + "1700000000000,-3,GET,200,OK,t,text,true,1\n", "column 'elapsed'"),
    "jmeter-missing-column": ("timeStamp,elapsed,label\n1,2,x\n", "missing column(s) 'success'"),
    "jmeter-empty": (JTL_HEADER, "no samples"),
    "k6-not-json": ('{"type":"Point"\n', "line 1: not JSON"),
    "k6-no-type": ('{"metric":"http_req_duration"}\n', "field 'type'"),
    "k6-bad-time": ('{"type":"Point","metric":"http_req_duration","data":{"time":"yesterday","value":3}}\n',
                    "field 'data.time'"),
    "k6-bad-value": ('{"type":"Point","metric":"http_req_duration","data":{"time":"2024-01-01T00:00:00Z",'
                     '"value":"fast"}}\n', "field 'data.value'"),
    "k6-no-durations": ('{"type":"Metric","metric":"vus","data":{}}\n', "no 'http_req_duration' points"),
    "locust-no-aggregated": ("Type,Name,Request Count,Failure Count,Average Response Time,Requests/s\n"
                             "GET,/,3,0,10,1\n", "no 'Aggregated' row"),
    "locust-bad-count": ("Type,Name,Request Count,Failure Count,Average Response Time,Requests/s\n"
                         ",Aggregated,many,0,10,1\n", "column 'Request Count'"),
    "unknown": ("name,value\na,1\n", "not a results file"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_are_refused_by_field(name: str, tmp_path: Path) -> None:
    text, expected = BAD_FILES[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    with pytest.raises(LoadTestError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_load_test(path)


def test_unreadable_binary_and_oversized_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LoadTestError, match="cannot read file"):
        read_load_test(tmp_path / "missing.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LoadTestError, match="not UTF-8"):
        read_load_test(binary)
    monkeypatch.setattr(loadtest_results, "MAX_BYTES", 100)
    with pytest.raises(LoadTestError, match="too large"):
        read_load_test(FIXTURES / "locust_stats.csv")


def test_unknown_request_name_lists_the_names() -> None:
    with pytest.raises(LoadTestError, match=r"no request named '/nope'; names: /, /ping, all"):
        read_load_test(FIXTURES / "locust_stats.csv").stats("/nope")


@pytest.mark.parametrize("name", ["jmeter-text-elapsed", "k6-not-json", "unknown"])
def test_the_cli_exits_2_naming_the_problem(name: str, tmp_path: Path) -> None:
    text, expected = BAD_FILES[name]
    path = tmp_path / "results.csv"
    path.write_text(text)
    outcome = CliRunner().invoke(app, ["calibrate", str(path), "--template", str(TEMPLATE)])
    assert outcome.exit_code == 2
    assert expected in " ".join(outcome.output.split()) and "Traceback" not in outcome.output


def test_windows_hold_exact_means_from_locust_totals() -> None:
    """A window's mean comes from the cumulative totals at its two ends, so the windows add up to the run."""
    result = read_load_test(FIXTURES / "locust_stats.csv")
    weighted = sum(window.mean_ms * window.requests for window in result.windows if window.mean_ms is not None)
    covered = sum(window.requests for window in result.windows)
    assert covered <= result.stats(None).count
    assert math.isfinite(weighted / covered) and 10 < weighted / covered < 30

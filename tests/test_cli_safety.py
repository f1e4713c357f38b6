"""The CLI's one error path: every bad file, flag and output is a field-named message with exit code 2.

Overrides are checked like file values before any work; outputs are checked before a sweep starts and written
atomically; JSON never holds NaN or Infinity; the terminal never receives the user's control characters.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sim.cli import app
from sim.cli import experiments as cli_experiment
from sim.model.outputs import to_json, write_atomically
from tests.conftest import PROJECT_ROOT

runner = CliRunner()
SINGLE = PROJECT_ROOT / "scenarios" / "single-server.yaml"


def invoke(*arguments: str) -> Any:
    outcome = runner.invoke(app, [str(argument) for argument in arguments])
    assert "Traceback" not in outcome.output, outcome.output
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), repr(outcome.exception)
    return outcome


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("arguments", "expected"), [
    (["run", SINGLE, "--duration", "1e12"], "duration_s: Input should be less than or equal to 86400"),
    (["run", SINGLE, "--duration", "inf"], "duration_s: Input should be a finite number"),
    (["run", SINGLE, "--duration", "0"], "duration_s: Input should be greater than 0"),
    (["run", SINGLE, "--seed", str(2**64)], "--seed"),
    (["sweep", SINGLE, "--vary", "workload.rate_rps=1:inf"], "needs finite numbers"),
    (["sweep", SINGLE, "--vary", "workload.rate_rps=1:5000000"], "has 5,000,000 values; at most 10,000"),
    (["sweep", SINGLE, "--vary", "workload.rate_rps=1:100", "--vary", "components.api.workers=1:200"],
     "make 20,000 combinations; at most 10,000"),
    (["sweep", SINGLE, "--vary", "workload.rate_rps=10:20:10", "--duration", "nan"], "duration_s"),
    (["sweep", SINGLE, "--vary", "workload.rate_rps=1e9"], "workload.rate_rps: Input should be less than"),
    (["replicate", SINGLE, "-n", "0"], "-n"),
    (["replicate", SINGLE, "-n", "100000"], "-n"),
    (["replicate", SINGLE, "--workers", "0"], "--workers"),
    (["replicate", SINGLE, "--warmup", "inf"], "warmup_s"),
    (["plan", SINGLE, "--slo", "p99<200ms", "--vary", "components.api.workers=1:4", "--rate", "inf"],
     "workload.rate_rps"),
    (["plan", SINGLE, "--slo", "p99<200ms", "--vary", "components.api.workers=1:4", "--margin", "inf"],
     "--margin must be a finite number"),
])
def test_bad_overrides_exit_2_with_a_message(arguments: list[Any], expected: str) -> None:
    outcome = invoke(*arguments)
    assert outcome.exit_code == 2, outcome.output
    assert expected in flat(outcome.output)


@pytest.mark.parametrize("command", [["sweep", SINGLE, "--vary", "workload.rate_rps=10:30:10"],
                                     ["replicate", SINGLE, "-n", "2"],
                                     ["plan", SINGLE, "--slo", "p99<200ms", "--vary", "components.api.workers=1:2"]])
def test_an_unwritable_out_is_refused_before_any_run(command: list[Any], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*_arguments: Any, **_keywords: Any) -> None:
        raise AssertionError("the experiment ran before --out was checked")

    for name in ("sweep", "replicate", "plan"):
        monkeypatch.setattr(cli_experiment, name, must_not_run)
    for out, expected in ((tmp_path / "missing" / "rows.csv", "does not exist"),
                          (tmp_path / "rows.txt", "cannot tell the format"),
                          (tmp_path, "cannot tell the format")):
        outcome = invoke(*command, "--out", out)
        assert outcome.exit_code == 2 and expected in flat(outcome.output)


def test_json_output_never_holds_nan_or_infinity(tmp_path: Path) -> None:
    assert json.loads(to_json({"a": float("inf"), "b": [float("nan"), 1.5], "c": {"d": float("-inf")}})) == {
        "a": None, "b": [None, 1.5], "c": {"d": None}}
    overloaded = yaml.safe_load(SINGLE.read_text(encoding="utf-8"))
    overloaded["workload"]["rate_rps"] = 500  # five times the capacity: the twin has no steady state
    path = tmp_path / "overloaded.yaml"
    path.write_text(yaml.safe_dump(overloaded), encoding="utf-8")
    outcome = invoke("run", path, "--json", "--duration", "10")
    assert outcome.exit_code == 0
    document = json.loads(outcome.output, parse_constant=lambda name: pytest.fail(f"{name} in --json output"))
    assert document["stable"] is False


def test_terminal_output_escapes_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(SINGLE.read_text(encoding="utf-8").replace("workers: 1", 'workers: 1\n    "\\e[2J\\e[31mx": 1'),
                    encoding="utf-8")
    outcome = invoke("validate", path)
    assert outcome.exit_code == 2
    assert "\x1b" not in outcome.output and "\\x1b[2J\\x1b[31mx: unknown field" in flat(outcome.output)
    marked = SINGLE.read_text(encoding="utf-8").replace("api", "'[bold red]api'")
    path.write_text(marked, encoding="utf-8")
    outcome = invoke("run", path, "--duration", "5")
    assert outcome.exit_code == 0 and "[bold red]api" in outcome.output  # shown as written, not as markup


def test_a_run_stopped_by_its_limits_says_so_and_exits_0(tmp_path: Path) -> None:
    data = yaml.safe_load(SINGLE.read_text(encoding="utf-8"))
    data["limits"] = {"max_events": 1_000}
    path = tmp_path / "limited.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    text = flat(invoke("run", path).output)
    assert "warning: stopped at" in text and "raise limits.max_events" in text
    document = json.loads(invoke("run", path, "--json").output)
    assert document["stopped"]["limit"] == "max_events"


def test_concurrent_writers_leave_one_complete_file(tmp_path: Path) -> None:
    """Two sweeps writing one --out: each write is whole, a reader never sees an empty or partial file."""
    target = tmp_path / "rows.json"
    payloads = {writer: json.dumps([{"writer": writer, "row": index} for index in range(2_000)])
                for writer in ("first", "second")}
    write_atomically(target, payloads["first"])
    seen: list[str] = []
    done = threading.Event()

    def write(writer: str) -> None:
        for _ in range(30):
            write_atomically(target, payloads[writer])

    def read() -> None:
        while not done.is_set():
            seen.append(target.read_text(encoding="utf-8"))

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(writer,)) for writer in payloads]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    assert seen and all(text in payloads.values() for text in seen)
    assert [path.name for path in tmp_path.iterdir()] == ["rows.json"]  # no temporary file left behind


def test_sweep_rows_and_figures_are_written_whole(tmp_path: Path) -> None:
    out, figures = tmp_path / "rows.json", tmp_path / "figures.json"
    outcome = invoke("sweep", SINGLE, "--vary", "workload.rate_rps=20:40:20", "--duration", "5", "--workers", "1",
                     "--out", out, "--figures", figures)
    assert outcome.exit_code == 0, outcome.output
    rows = json.loads(out.read_text(encoding="utf-8"), parse_constant=lambda name: pytest.fail(name))
    assert [row["workload.rate_rps"] for row in rows] == [20, 40] and all(row["stopped"] == "" for row in rows)
    json.loads(figures.read_text(encoding="utf-8"), parse_constant=lambda name: pytest.fail(name))

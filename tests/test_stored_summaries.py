"""The gallery's CLI output and ``--json`` summaries, stored before the layered redesign, at the same seed.

The redesign changed where code lives, not what it computes: the text and the JSON (wall time aside) must match
what the flat package printed. Regenerate a fixture only for a deliberate change of behaviour, and say so in
the commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SCENARIO_DIRECTORY

STORED = Path(__file__).parent / "fixtures" / "summaries"
GALLERY = sorted(path.stem for path in STORED.glob("*.json"))
ARGUMENTS = ["--seed", "7", "--duration", "20"]


def printed(name: str, *extra: str) -> str:
    command = [sys.executable, "-m", "sim", "run", str(SCENARIO_DIRECTORY / f"{name}.yaml"), *ARGUMENTS, *extra]
    outcome = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120, check=False)
    assert outcome.returncode == 0, outcome.stderr
    return outcome.stdout


def test_every_gallery_scenario_has_a_stored_summary() -> None:
    assert sorted(path.stem for path in SCENARIO_DIRECTORY.glob("*.yaml")) == GALLERY


def rounded(value: object) -> object:
    """Floats to 10 significant digits, all the way down: a library's last-bit change in a closed form (a
    summation order in numpy or scipy) is not a change of behaviour."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


@pytest.mark.parametrize("name", GALLERY)
def test_json_summary_is_unchanged(name: str) -> None:
    now = json.loads(printed(name, "--json"))
    before = json.loads((STORED / f"{name}.json").read_text())
    for summary in (now, before):
        assert summary.pop("wall_time_s") >= 0
    assert rounded(now) == rounded(before)


@pytest.mark.parametrize("name", GALLERY)
def test_printed_summary_is_unchanged(name: str) -> None:
    assert printed(name) == (STORED / f"{name}.txt").read_text()

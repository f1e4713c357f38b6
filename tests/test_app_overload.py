"""The Sandbox past capacity (AppTest): `sim example` uploaded at 105, 150 and 1,000,000 req/s.

The page must tell an overload as one (offered against capacity, never "headroom"), keep throughput within
capacity and response above wait, and answer within the issue's 5 s (timed with a 2x margin for shared cores).
"""

from __future__ import annotations

import time

import pytest
import yaml
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from sim.cli.main import app as cli_app
from tests.app_helpers import APP, assert_healthy

PAGE_SECONDS = 5.0
SHARED_CORES_MARGIN = 2.0


def example_upload(rate_rps: float) -> bytes:
    document = yaml.safe_load(CliRunner().invoke(cli_app, ["example"]).output)
    document["workload"]["rate_rps"] = rate_rps
    return yaml.safe_dump(document).encode()


def page_text(at: AppTest) -> str:
    parts = [element.value for kind in ("error", "warning", "info", "success", "caption", "markdown")
             for element in getattr(at, kind)]
    return "\n".join(str(part) for part in parts)


@pytest.mark.parametrize("rate_rps", [105.0, 150.0, 1_000_000.0])
def test_sandbox_tells_an_overload_as_an_overload(rate_rps: float) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    started = time.perf_counter()
    at.file_uploader(key="upload").set_value((f"example-{rate_rps:g}.yaml", example_upload(rate_rps),
                                              "application/x-yaml")).run()
    elapsed_s = time.perf_counter() - started
    assert_healthy(at)
    assert elapsed_s < PAGE_SECONDS * SHARED_CORES_MARGIN, f"the page took {elapsed_s:.1f} s"
    text = page_text(at)
    assert "Unstable: api overflowed" in text
    assert "api cannot keep up" in text and "offered" in text and "capacity of" in text
    assert "headroom" not in text
    table = at.dataframe[0].value.set_index("component")
    api = table.loc["api"]
    assert api["throughput_simulated_rps"] <= api["capacity_simulated_rps"] * (1 + 1e-9)
    assert api["response_simulated_ms"] >= api["wait_simulated_ms"]
    throughput = next(item.value for item in at.metric if item.label == "Throughput (req/s)")
    if rate_rps >= 1_000_000:
        assert "Simulating 0.15 s of the file's 60 s" in text, "a shortened run says so"
        assert "Offered 1,000,000 req/s" in text
        assert "by the twin" in text, "too few completions to measure a capacity: the twin's is quoted"
        value, half_width = (float(part.replace(",", "")) for part in throughput.split(" ± "))
        assert value - half_width <= 100.0 <= value + half_width, "a few departures: 100 req/s within the interval"
    else:
        assert "Simulating" not in text, "a cheap run keeps the file's duration"

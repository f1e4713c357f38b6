"""The builder's document: forms from the kinds' schemas, edits, validation by field, YAML and share links."""

from __future__ import annotations

import base64
import subprocess
import sys
import zlib
from typing import Any

import pytest

import sim
from sim.kinds.registry import KINDS
from sim.teaching import builder
from sim.teaching.builder_forms import form_fields


def cache_aside() -> dict[str, Any]:
    """clients -> balancer -> 3 service instances -> cache -> database, as the page's clicks build it."""
    document = builder.blank()
    for kind, name in (("database", "db"), ("cache", "cache"), ("service", "api"), ("load_balancer", "lb")):
        document = builder.add_component(document, kind, name)
    document = builder.set_field(document, ("components", "api", "instances"), 3)
    document = builder.set_field(document, ("components", "api", "calls"), ["cache"])
    return builder.set_field(document, ("workload", "entry"), "lb")


def test_clicks_build_a_valid_cache_aside_that_the_cli_accepts(tmp_path: Any) -> None:
    document = cache_aside()
    assert document["components"]["cache"]["store"] == "db"  # the reference that fits: the newest component
    assert document["components"]["lb"]["target"] == "api"  # a balancer fronts a service, not the cache
    assert builder.problems_by_field(document) == {}
    path = tmp_path / "built.yaml"
    path.write_text(builder.document_yaml(document), encoding="utf-8")
    checked = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)], capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 0, checked.stderr
    assert "4 component(s)" in checked.stdout
    summary = sim.run(sim.parse_scenario(document), seed=3).summary
    assert summary.components["api"].servers == 3
    assert summary.components["cache"].hit_ratio is not None and summary.components["cache"].hit_ratio > 0


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_starts_valid(kind: str) -> None:
    """A kind added to an architecture that already has a service (its entry) starts as a valid block."""
    document = builder.add_component(builder.blank(), "service", "front")
    document = builder.add_component(document, kind, "added")
    problems = builder.problems_by_field(document)
    assert not [path for path in problems if path.startswith("components.added")], problems


def test_problems_are_grouped_by_the_field_they_name() -> None:
    document = builder.set_field(cache_aside(), ("components", "api", "workers"), 0)
    document = builder.set_field(document, ("workload", "rate_rps"), -5)
    problems = builder.problems_by_field(document)
    assert set(problems) == {"components.api.workers", "workload.rate_rps"}
    assert "greater than or equal to 1" in problems["components.api.workers"][0]
    assert builder.problems_by_field(builder.blank())["workload.entry"] == ["missing required field"]


def test_removing_a_component_removes_every_reference_to_it() -> None:
    document = builder.remove_component(cache_aside(), "cache")
    assert "cache" not in document["components"]
    assert document["components"]["api"]["calls"] == []
    document = builder.remove_component(document, "lb")
    assert "entry" not in document["workload"]
    document = builder.remove_component(document, "db")
    assert set(document["components"]) == {"api"}


@pytest.mark.parametrize(("kind", "name", "field"), [("nonsense", "x", "kind"), ("service", "", "name"),
                                                     ("service", "db", "name"), ("service", "n" * 101, "name")])
def test_bad_additions_name_the_field(kind: str, name: str, field: str) -> None:
    with pytest.raises(builder.BuilderError, match=f"^{field}: "):
        builder.add_component(cache_aside(), kind, name)


def test_forms_follow_the_schema() -> None:
    fields = {field.name: field for field in builder.component_form("service")}
    assert (fields["workers"].widget, fields["workers"].minimum, fields["workers"].default) == ("int", 1.0, 1)
    assert fields["concurrency"].widget == "choice" and "event_loop" in fields["concurrency"].options
    assert fields["calls"].widget == "components" and fields["service_time"].widget == "yaml"
    assert fields["timeout_ms"].required is False and fields["timeout_ms"].default is None
    workload = {field.name for field in builder.workload_form()}
    assert {"rate_rps", "entry", "keys", "classes"} <= workload and "trace_file" not in workload
    assert all(field.name != "kind" for field in form_fields(KINDS["cache"]))


def test_yaml_round_trip_has_no_aliases() -> None:
    text = builder.document_yaml(cache_aside())
    assert "&id" not in text and "*id" not in text
    assert builder.parse_document(text) == cache_aside()


@pytest.mark.parametrize("text", ["[1, 2]", "name: [unclosed", "42", "x" * 1_000_001])
def test_bad_yaml_names_the_yaml(text: str) -> None:
    with pytest.raises(builder.BuilderError, match=r"^yaml: "):
        builder.parse_document(text)


def test_a_builder_scenario_names_no_server_file() -> None:
    document = builder.set_field(cache_aside(), ("workload", "trace_file"), "/etc/passwd")
    problems = builder.problems_by_field(document)
    assert "cannot name files" in problems["workload.trace_file"][0]
    assert "root:" not in problems["workload.trace_file"][0]  # nothing of the file is read or told


def test_share_link_round_trips_compactly() -> None:
    link = builder.encode_link(cache_aside())
    assert link.startswith("v1.") and len(link) < 600
    assert builder.decode_link(link) == cache_aside()


def _packed(payload: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")


@pytest.mark.parametrize("link", [
    "", "v2.abc", "v1.!!!!", "v1." + "A" * 10, _packed(b"[1, 2, 3]"), "v1." + "A" * 200_001,
    _packed(b" " * 5_000_000),  # a compression bomb: 5 MB of spaces in a few kB
])
def test_hostile_links_are_refused_by_name(link: str) -> None:
    with pytest.raises(builder.BuilderError, match=r"^(link|yaml): "):
        builder.decode_link(link)

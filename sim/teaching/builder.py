"""The architecture builder's document: a scenario as plain data that forms edit one field at a time.

The app's builder page keeps a scenario as a mapping (``BLANK`` to start), changes it through these functions
(add, remove, wire, set a field), checks it with the same validation as ``python -m sim validate`` (problems
grouped by the field they name, so the page shows each beside its widget), writes it as YAML both ways, and
packs it into a share link (``?scenario=...``: JSON, zlib-compressed, base64url), read back within bounds.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import zlib
from typing import Any

import yaml

from sim.kinds.base import ComponentSpecBase
from sim.kinds.registry import KINDS
from sim.model.errors import ScenarioError
from sim.model.workload import WorkloadSpec
from sim.model.yaml12 import YamlError, safe_load_yaml
from sim.scenario.scenario import MAX_COMPONENTS, MAX_SCENARIO_BYTES, parse_scenario_text
from sim.teaching.builder_forms import FormField, form_fields, starter_block

BLANK: dict[str, Any] = {"name": "my-architecture", "duration_s": 20.0, "warmup_s": 2.0,
                         "workload": {"rate_rps": 100.0}, "components": {}}
LINK_PREFIX = "v1."
MAX_LINK_CHARACTERS = 200_000
MAX_NAME_CHARACTERS = 100
WORKLOAD_FORM_SKIP = ("trace_file", "trace_csv")  # a builder names no server file; a pasted trace goes in the YAML


class BuilderError(ValueError):
    """A builder action that cannot be done; the message names the field or the link."""


def blank() -> dict[str, Any]:
    """A new, empty architecture: traffic but no component yet."""
    return copy.deepcopy(BLANK)


def component_form(kind: str) -> list[FormField]:
    """The form of one component kind."""
    spec_class = KINDS[kind]
    return form_fields(spec_class, spec_class.reference_fields)


def workload_form() -> list[FormField]:
    """The form of the traffic (the workload's fields a form can hold; the rest through the YAML)."""
    return [field for field in form_fields(WorkloadSpec, ("entry",), ())
            if field.name not in WORKLOAD_FORM_SKIP]


def add_component(document: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """A copy of ``document`` with a new component ``name`` of ``kind``, its required fields started; the first
    component becomes the traffic's entry."""
    name = name.strip()
    components = document.get("components") or {}
    if kind not in KINDS:
        raise BuilderError(f"kind: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if not name or len(name) > MAX_NAME_CHARACTERS:
        raise BuilderError(f"name: give the component a name of 1 to {MAX_NAME_CHARACTERS} characters")
    if name in components:
        raise BuilderError(f"name: there is already a component called {name!r}")
    if len(components) >= MAX_COMPONENTS:
        raise BuilderError(f"components: at most {MAX_COMPONENTS} components")
    spec_class = KINDS[kind]
    result = copy.deepcopy(document)
    block = {"kind": kind, **starter_block(spec_class, spec_class.reference_fields)}
    for field in component_form(kind):
        target = _fitting_target(spec_class, field.name, components) if field.widget == "component" else None
        if target is not None:
            block[field.name] = target
    result.setdefault("components", {})[name] = block
    workload = result.setdefault("workload", {})
    if not workload.get("entry"):
        workload["entry"] = name
    return result


def _fitting_target(spec_class: type[ComponentSpecBase], field_name: str, components: dict[str, Any]) -> str | None:
    """The most recently added component that ``field_name`` may name (a balancer's service, a cache's store)."""
    for name, block in reversed(list(components.items())):
        target_class = _kind_class(block)
        if target_class is not None and not spec_class.reference_problems(field_name, name, target_class):
            return name
    return None


def _kind_class(block: Any) -> type[ComponentSpecBase] | None:
    """The spec class of a component block as written (None when its kind is not known)."""
    kind = block.get("kind") if isinstance(block, dict) else None
    return KINDS.get(kind) if isinstance(kind, str) else None


def remove_component(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy without component ``name`` and without every reference to it (the traffic's entry included)."""
    result = copy.deepcopy(document)
    result.get("components", {}).pop(name, None)
    for block in result.get("components", {}).values():
        spec_class = _kind_class(block)
        for field_name in spec_class.reference_fields if spec_class else ():
            value = block.get(field_name)
            if value == name:
                del block[field_name]
            elif isinstance(value, list):
                block[field_name] = [item for item in value if item != name]
    if result.get("workload", {}).get("entry") == name:
        del result["workload"]["entry"]
    return result


def set_field(document: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy with the field at ``path`` (e.g. ``("components", "api", "workers")``) set; None removes it."""
    result = copy.deepcopy(document)
    parent = result
    for part in path[:-1]:
        parent = parent.setdefault(part, {})
    if value is None:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return result


def problems_by_field(document: dict[str, Any]) -> dict[str, list[str]]:
    """What ``python -m sim validate`` would say, by field path ("" for the whole scenario); empty when valid.

    Checked as an upload is: a builder's scenario may name no file on the server.
    """
    try:
        parse_scenario_text(json.dumps(document), source="builder")
    except ScenarioError as error:
        grouped: dict[str, list[str]] = {}
        for problem in error.problems:
            grouped.setdefault(problem.path, []).append(problem.message)
        return grouped
    return {}


def document_yaml(document: dict[str, Any]) -> str:
    """The document as YAML, in the order it was built."""
    return yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)


class _PlainDumper(yaml.SafeDumper):
    """Writes a value shared by two fields twice, never as an anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def parse_document(text: str) -> dict[str, Any]:
    """YAML text (pasted or uploaded) as a document; a field-named error when it is not a mapping."""
    if len(text) > MAX_SCENARIO_BYTES:
        raise BuilderError(f"yaml: too large ({len(text):,} characters; at most {MAX_SCENARIO_BYTES:,})")
    try:
        data = safe_load_yaml(text)
    except YamlError as problem:
        raise BuilderError(f"yaml: {problem}") from None
    if not isinstance(data, dict):
        raise BuilderError("yaml: a scenario is a mapping of fields (name, workload, components, ...)")
    return data


def encode_link(document: dict[str, Any]) -> str:
    """The document as a share-link value: compact JSON, zlib-compressed, base64url without padding."""
    packed = zlib.compress(json.dumps(document, separators=(",", ":")).encode("utf-8"), 9)
    return LINK_PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_link(value: str) -> dict[str, Any]:
    """A share-link value back as a document, never unpacking more than a scenario file may hold."""
    if not value.startswith(LINK_PREFIX) or len(value) > MAX_LINK_CHARACTERS:
        raise BuilderError(f"link: not a scenario link (it starts with {LINK_PREFIX!r}, at most "
                           f"{MAX_LINK_CHARACTERS:,} characters)")
    body = value[len(LINK_PREFIX):]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        unpacker = zlib.decompressobj()
        text = unpacker.decompress(packed, MAX_SCENARIO_BYTES)
    except (binascii.Error, ValueError, zlib.error):
        raise BuilderError("link: the scenario in the link is damaged (copy the whole link)") from None
    if unpacker.unconsumed_tail or not unpacker.eof:
        raise BuilderError(f"link: the scenario is damaged or larger than {MAX_SCENARIO_BYTES:,} bytes")
    return parse_document(text.decode("utf-8", errors="replace"))

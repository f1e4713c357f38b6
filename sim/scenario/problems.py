"""Turning pydantic's validation errors into problems a person can act on: path, what is wrong, what is allowed.

Each problem names the field as the user wrote it (``components.api.workers``), says what is wrong and what
was given, and suggests the closest allowed name for a misspelt key or kind.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from sim.kinds.registry import KINDS
from sim.model.base import SHAPE_TAG
from sim.model.distributions import DISTRIBUTION_NAMES, ExponentialSpec
from sim.model.errors import Problem, did_you_mean
from sim.model.workload import ProfileSpec, WorkloadSpec

PROFILE_KINDS = tuple(get_args(model.model_fields["kind"].annotation)[0]
                      for model in get_args(get_args(ProfileSpec)[0]))


def component_kinds() -> tuple[str, ...]:
    """The kind names a scenario accepts now (a kind registered later counts too)."""
    return tuple(KINDS)


def distribution_fields() -> frozenset[str]:
    """Names of the fields, in the workload or any kind, that hold a ``distribution:`` block."""
    models: list[type[BaseModel]] = [WorkloadSpec, *KINDS.values()]
    return frozenset(name for model in models for name, field in model.model_fields.items()
                     if ExponentialSpec in _models_in(field.annotation))


def pydantic_problems(error: ValidationError, data: Any, root: type[BaseModel]) -> list[Problem]:
    """One problem per pydantic error, located in the user's terms; ``root`` is the top-level model."""
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        location = _drop_union_tags(tuple(detail["loc"]))
        if detail["type"] == "union_tag_invalid":  # point at the tag field itself, e.g. `kind`
            location = (*location, detail["ctx"]["discriminator"].strip("'"))
        path = ".".join(str(part) for part in location)
        problems.append(Problem(path, _describe(detail, location, data, root)))
    return unique_problems(problems)


def closest_kind(kind: Any) -> str | None:
    """The component kind ``kind`` names, or the one it most likely misspells (None if none is close)."""
    if not isinstance(kind, str):  # a list or mapping in the kind's place is not hashable: nothing to correct
        return None
    if kind in KINDS:
        return kind
    close = difflib.get_close_matches(kind, component_kinds(), n=1, cutoff=0.6)
    return close[0] if close else None


def _closest(value: Any, options: tuple[str, ...]) -> Any:
    if not isinstance(value, str) or value in options:
        return value
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return close[0] if close else value


def _correct_distributions(block: dict[str, Any]) -> bool:
    """Replace misspelt ``distribution`` names inside one block's time fields; True if any changed."""
    changed = False
    for field in distribution_fields() & set(block):
        spec = block[field]
        if isinstance(spec, Mapping) and "distribution" in spec:
            fixed = _closest(spec["distribution"], DISTRIBUTION_NAMES)
            if fixed != spec["distribution"]:
                block[field] = {**spec, "distribution": fixed}
                changed = True
    return changed


def spelling_corrected(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Copies of ``data`` with misspelt names replaced by the closest valid ones, so the fields behind them are
    checked too: first component kinds only (which reveals misspelt distributions inside), then also every
    distribution and profile name. Empty when nothing is misspelt.

    Pydantic stops at a union's unknown tag; checking the corrected copies finds the rest of that block's
    problems in the same pass. The tag problems themselves are reported from the data as written.
    """
    kinds_fixed = _corrected(data, inner=False)
    everything_fixed = _corrected(data, inner=True)
    return [copy for copy in (kinds_fixed, everything_fixed) if copy is not None]


def _corrected(data: Mapping[str, Any], inner: bool) -> dict[str, Any] | None:
    copy = dict(data)
    changed = False
    components = copy.get("components")
    if isinstance(components, Mapping):
        fixed_components = {}
        for name, spec in components.items():
            block = dict(spec) if isinstance(spec, Mapping) else spec
            if isinstance(block, dict):
                kind = closest_kind(block.get("kind"))
                if kind is not None and kind != block.get("kind"):
                    block["kind"], changed = kind, True
                changed = (inner and _correct_distributions(block)) or changed
            fixed_components[name] = block
        copy["components"] = fixed_components
    workload = copy.get("workload")
    if inner and isinstance(workload, Mapping):
        block = dict(workload)
        changed = _correct_distributions(block) or changed
        profile = block.get("profile")
        if isinstance(profile, Mapping) and _closest(profile.get("kind"), PROFILE_KINDS) != profile.get("kind"):
            block["profile"], changed = {**profile, "kind": _closest(profile.get("kind"), PROFILE_KINDS)}, True
        copy["workload"] = block
    return copy if changed else None


def unknown_for_every_kind(data: Mapping[str, Any]) -> list[Problem]:
    """Fields of a component whose kind is unknown and close to none, that no kind accepts."""
    components = data.get("components")
    if not isinstance(components, Mapping):
        return []
    every_field = sorted({field for model in KINDS.values() for field in model.model_fields})
    problems = []
    for name, spec in components.items():
        if not isinstance(spec, Mapping) or "kind" not in spec or closest_kind(spec["kind"]) is not None:
            continue
        for key in spec:
            if key not in every_field:
                problems.append(Problem(f"components.{name}.{key}", f"unknown field for every kind"
                                        f"{did_you_mean(str(key), every_field)}"))
    return problems


def _drop_union_tags(location: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pydantic puts the chosen union member (e.g. ``service``) in the path; users never wrote it."""
    kept: list[Any] = []
    fields = distribution_fields()
    for index, part in enumerate(location):
        after_component = index == 2 and location[0] == "components"
        after_distribution = index > 0 and location[index - 1] in fields
        after_profile = index > 0 and location[index - 1] == "profile"
        if isinstance(part, str) and part.startswith(SHAPE_TAG) and index > 0 and isinstance(location[index - 1], int):
            continue  # a list item's shape (a kind's union of item forms)
        if ((after_component and part in KINDS) or (after_distribution and part in DISTRIBUTION_NAMES)
                or (after_profile and part in PROFILE_KINDS)):
            continue
        kept.append(part)
    return tuple(kept)


def _describe(detail: Mapping[str, Any], location: tuple[Any, ...], data: Any, root: type[BaseModel]) -> str:
    kind = detail["type"]
    got = detail.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(location[:-1], data, root)
        hint = did_you_mean(str(location[-1]), allowed)
        listing = f"; allowed: {', '.join(sorted(allowed))}" if allowed else ""
        return f"unknown field{hint}{listing}"
    if kind == "union_tag_invalid":
        expected = detail["ctx"]["expected_tags"]
        got = detail["ctx"]["tag"]
        options = [tag.strip(" '") for tag in str(expected).split(",")]
        return f"unknown value {got!r}{did_you_mean(str(got), options)}; allowed: {expected}"
    if kind == "union_tag_not_found":
        field = detail.get("ctx", {}).get("discriminator", "kind").strip("'")
        return f"missing required field '{field}'"
    if kind == "missing":
        return "missing required field"
    message = detail["msg"].removeprefix("Value error, ")
    if isinstance(got, Mapping | list):  # a check across several fields: its message already says what it saw
        return message
    return f"{message} (got {_short(got)})"


def _allowed_keys(location: tuple[Any, ...], data: Any, root: type[BaseModel]) -> list[str]:
    """The field names accepted at ``location``, found by walking the models alongside the data."""
    model: Any = root
    node: Any = data
    for part in location:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        node = node.get(part) if isinstance(node, Mapping) else None
        if model is root and part == "components":
            model = dict
            continue
        candidates = list(KINDS.values()) if model is dict else _models_in(_field_annotation(model, part))
        model = _model_for(candidates, node)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _field_annotation(model: Any, name: str) -> Any:
    field = getattr(model, "model_fields", {}).get(name)
    return field.annotation if field is not None else None


def _model_for(candidates: list[Any], node: Any) -> Any:
    """The model among ``candidates`` that ``node`` is meant to be (by its kind or distribution)."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    tags = (node.get("kind"), node.get("distribution")) if isinstance(node, Mapping) else ()
    tag = {value for value in tags if isinstance(value, str)}  # a list written as a tag is not a tag
    for model in candidates:
        literal = model.model_fields.get("kind") or model.model_fields.get("distribution")
        if literal is not None and set(get_args(literal.annotation)) & tag:
            return model
    return None


def _models_in(annotation: Any) -> list[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[Any] = []
    for argument in get_args(annotation):
        found.extend(_models_in(argument))
    return found


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print (Python refuses more than 4,300 digits)
        return "a number too long to print"
    return text if len(text) <= 60 else text[:57] + "..."


def unique_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in order, each once."""
    seen: dict[str, Problem] = {}
    for problem in problems:
        seen.setdefault(str(problem), problem)
    return list(seen.values())

"""Form fields generated from a spec model's schema, for the app's architecture builder.

The builder draws one widget per field of a component kind (or of the workload) without knowing the kind: this
module reads the pydantic model (types, bounds, choices, defaults, examples) and says which widget suits each
field. Fields with no simple widget (a distribution, a call graph's groups, nested blocks) are edited as one line
of YAML (``{distribution: exponential, mean_ms: 10}``).
"""

from __future__ import annotations

import copy
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

WIDGETS = ("int", "float", "bool", "choice", "name", "component", "components", "yaml")
# the value a required block with no example starts from, tried against the field's type (a service time)
BLOCK_STARTERS: tuple[Any, ...] = ({"distribution": "exponential", "mean_ms": 10.0},)


@dataclass(frozen=True)
class FormField:
    """One field of a form: which widget, its bounds or choices, and the value a new block starts with."""

    name: str
    widget: str
    required: bool
    default: Any = None
    options: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


def form_fields(model: type[BaseModel], references: tuple[str, ...] = (), skip: tuple[str, ...] = ("kind",)
                ) -> list[FormField]:
    """The form of ``model``: one field each, in declaration order (``references`` name other components)."""
    return [_form_field(name, info, name in references) for name, info in model.model_fields.items()
            if name not in skip]


def starter_block(model: type[BaseModel], references: tuple[str, ...]) -> dict[str, Any]:
    """Values for the required fields of a new block: an example the model gives, a bound or a block of the
    right type (left out when none fits, and for a single reference: the form flags it)."""
    block: dict[str, Any] = {}
    for field in form_fields(model, references):
        if field.required:
            value = _starter_value(field, model.model_fields[field.name])
            if value is not None:
                block[field.name] = value
    return block


def _starter_value(field: FormField, info: FieldInfo) -> Any:
    if info.examples:
        return copy.deepcopy(info.examples[0])
    if field.widget == "component":
        return None  # the builder picks a component that fits (it knows their kinds)
    if field.widget == "components":
        return []
    if field.widget in ("int", "float"):
        low = max(field.minimum or 0.0, 1.0)
        return int(low) if field.widget == "int" else float(low)
    if field.widget == "choice":
        return field.options[0]
    adapter: TypeAdapter[Any] = TypeAdapter(info.annotation or Any)
    for candidate in BLOCK_STARTERS:
        try:
            adapter.validate_python(candidate)
        except ValidationError:
            continue
        return copy.deepcopy(candidate)
    return None


def _form_field(name: str, info: FieldInfo, is_reference: bool) -> FormField:
    annotation, metadata = _unwrap(info.annotation, list(info.metadata))
    minimum, maximum = _bounds(metadata)
    widget, options = _widget(annotation, is_reference)
    default = None if info.is_required() else to_jsonable_python(info.get_default(call_default_factory=True))
    text = info.description or ""
    return FormField(name, widget, info.is_required(), default, options, minimum, maximum, text)


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The type under ``Optional`` and ``Annotated``, with the constraints gathered on the way."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata += extra
        elif origin in (Union, types.UnionType) and type(None) in get_args(annotation):
            rest = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(rest) != 1:
                return Union[tuple(rest)], metadata  # noqa: UP007 (a union rebuilt at run time)
            annotation = rest[0]
        else:
            return annotation, metadata


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    minimum = maximum = None
    for item in metadata:
        constraints = item.metadata if isinstance(item, FieldInfo) else [item]
        for constraint in constraints:
            if isinstance(constraint, annotated_types.Ge | annotated_types.Gt):
                minimum = float(getattr(constraint, "ge", getattr(constraint, "gt", 0.0)))
            elif isinstance(constraint, annotated_types.Le | annotated_types.Lt):
                maximum = float(getattr(constraint, "le", getattr(constraint, "lt", 0.0)))
    return minimum, maximum


def _widget(annotation: Any, is_reference: bool) -> tuple[str, tuple[Any, ...]]:
    origin = get_origin(annotation)
    if is_reference:
        return ("components" if origin is list else "component"), ()
    if origin is Literal:
        return "choice", get_args(annotation)
    simple = {bool: "bool", int: "int", float: "float", str: "name"}
    return simple.get(annotation, "yaml"), ()

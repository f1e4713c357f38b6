"""A knob: one control a user interface may offer over a scenario field, with its kind, bounds and value.

Each knob is a dotted field path (the same paths ``sim.scenario.overrides.with_overrides`` takes), a label, the
kind of widget that suits it, its bounds and its current value. Each component kind offers its own knobs
(``knobs()`` in its module); nothing here knows about a user interface.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

KnobKind = Literal["int", "float", "choice", "ordered"]


@dataclass(frozen=True)
class Knob:
    """One control: where it writes, what it is called, how it is entered and its limits.

    Attributes:
        path: Dotted field path, e.g. ``components.api.instances``.
        label: Short human label, e.g. ``api: instances``.
        kind: ``int`` or ``float`` (a slider between ``minimum`` and ``maximum`` by ``step``), ``choice``
            (unordered options, e.g. a policy) or ``ordered`` (ordered options, e.g. cache sizes).
        value: The scenario's current value.
        minimum: Lowest value (numeric kinds).
        maximum: Highest value (numeric kinds).
        step: Slider step (numeric kinds).
        options: The allowed values (choice kinds), always including ``value``.
        option_labels: Display text for each option, same order as ``options``.
        component: The component the knob belongs to; None for the workload.
        help: One sentence on what the knob does.
    """

    path: str
    label: str
    kind: KnobKind
    value: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    options: tuple[Any, ...] = ()
    option_labels: tuple[str, ...] = ()
    component: str | None = None
    help: str = ""

    def format_option(self, option: Any) -> str:
        """The display text of one option (the option itself when no label was given)."""
        if option in self.options and self.option_labels:
            return self.option_labels[self.options.index(option)]
        return str(option)


def nice_step(raw: float) -> float:
    """The 1-2-5 number (…, 0.5, 1, 2, 5, 10, …) at or below ``raw``."""
    if raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    for mantissa in (5, 2, 1):
        if mantissa * 10**exponent <= raw:
            return float(mantissa * 10**exponent)
    return float(10**exponent)


def integer_knob(name: str, field: str, value: int, low: int, schema_max: int, help_text: str) -> Knob:
    high = min(schema_max, max(16, 2 * value))
    return Knob(f"components.{name}.{field}", f"{name}: {field.replace('_', ' ')}", "int", value,
                low, high, 1, component=name, help=help_text)

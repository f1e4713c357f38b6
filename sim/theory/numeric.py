"""Bisection, the one root-finder of the project (cache theory, Student's t, the twin's closed-workload rate)."""

from __future__ import annotations

import math
from collections.abc import Callable

DEFAULT_STEPS = 200


def bisect_root(below_root: Callable[[float], bool], low: float, high: float, *, relative_tolerance: float = 0.0,
           geometric: bool = False, steps: int = DEFAULT_STEPS) -> tuple[float, float]:
    """Narrow ``[low, high]`` around the point where ``below_root`` turns from True to False.

    Args:
        below_root: True for points below the root (the low end moves up to them), False above it.
        low, high: A bracket: ``below_root(low)`` holds and ``below_root(high)`` does not.
        relative_tolerance: Stop once the bracket is this narrow relative to its top (``high / low - 1`` when
            geometric); 0 runs until the midpoint can no longer be told from an end (floating point exhausted).
        geometric: Split at the geometric mean (bisection on a log scale, for brackets spanning decades).
        steps: At most this many halvings.

    Returns:
        The final bracket ``(low, high)``.
    """
    for _step in range(steps):
        width = high / low - 1.0 if geometric else (high - low) / high if high else 0.0
        if width <= relative_tolerance and relative_tolerance > 0:
            break
        middle = math.sqrt(low * high) if geometric else (low + high) / 2.0
        if middle in (low, high):
            break
        if below_root(middle):
            low = middle
        else:
            high = middle
    return low, high

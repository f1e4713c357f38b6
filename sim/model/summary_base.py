"""The base of every typed summary model: typed fields, item access, and a JSON form without the unset ones.

It lives in the model layer so a kind can type its own statistics (``stats_fields``) with nested models that
readers reach the same way as the rest of the summary (``sim.results.summary_models`` builds on it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class SummaryModel(BaseModel):
    """Base of every summary model: typed fields, item access, and a JSON form without the unset ones."""

    model_config = ConfigDict(extra="forbid")

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.model_fields_set

    def get(self, key: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when the field is unset or unknown."""
        return getattr(self, key) if key in self.model_fields_set else default

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data: what ``--json`` prints (unset fields left out)."""
        return self.model_dump(mode="json", exclude_unset=True)


class LatencyStats(SummaryModel):
    """Latency of the requests that arrived in the window and completed, in ms (None when there are none)."""

    mean: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    p999: float | None

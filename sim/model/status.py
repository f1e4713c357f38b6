"""How a request or a visit ended: the status codes every layer reads (engine, results, CLI)."""

from __future__ import annotations

OK, DROPPED, TIMED_OUT, FAILED = 0, 1, 2, 3
STATUS_NAMES = ("ok", "dropped", "timed_out", "failed")

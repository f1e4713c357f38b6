"""How a request or a visit ended: the status codes every layer reads (engine, results, CLI)."""

from __future__ import annotations

OK, DROPPED, TIMED_OUT, FAILED, THROTTLED = 0, 1, 2, 3, 4
STATUS_NAMES = ("ok", "dropped", "timed_out", "failed", "throttled")
# Statuses a caller may retry: the request was refused before any work, and asking again later can succeed.
RETRYABLE = frozenset({THROTTLED})

"""The ``kind: function`` package: a serverless function's spec, statistics, twin and cost (``spec``) and its
runtime of numbered instance slots, warm, busy or reclaimed (``runtime``)."""

from sim.kinds.function.spec import FunctionSpec

__all__ = ["FunctionSpec"]

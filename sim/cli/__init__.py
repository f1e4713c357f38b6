"""The command line (typer): ``sim`` / ``python -m sim``.

``common`` holds the app and the error path every command shares; ``main`` registers the scenario commands
(run, validate, schema, list, example), ``experiments`` the experiment commands (replicate, sweep, plan), and
``render`` turns a summary into terminal text.
"""

from sim.cli import experiments, interop, main
from sim.cli.common import EXIT_INVALID, app

__all__ = ["EXIT_INVALID", "app", "experiments", "interop", "main"]

"""``python -m sim``: the command line."""

from sim.cli import app

app(prog_name="python -m sim")

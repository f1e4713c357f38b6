"""Data shipped in the wheel: the gallery scenarios (``scenarios/``) and the lessons (``lessons/``).

Read them through ``sim.data.data_path`` (``importlib.resources``), never by a path relative to the source tree,
so an installed package finds them too. The top-level ``scenarios`` and ``lessons`` folders of the repository are
links to these, kept for people browsing the project.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(*parts: str) -> Path:
    """The file or folder ``parts`` inside the shipped data, as a filesystem path."""
    return Path(str(resources.files(__name__).joinpath(*parts)))

"""The gallery of ready scenarios, shipped with the package (``sim/data/scenarios``)."""

from __future__ import annotations

from pathlib import Path

from sim.data import data_path
from sim.scenario.scenario import Scenario, load_scenario

SCENARIO_DIRECTORY = data_path("scenarios")
DEFAULT_SCENARIO = "single-server"


def gallery_paths() -> dict[str, Path]:
    """Gallery scenario names (file stems) mapped to their files, sorted by name."""
    return {path.stem: path for path in sorted(SCENARIO_DIRECTORY.glob("*.yaml"))}


def scenario_reference(text: str | Path) -> Path:
    """The file a command-line reference names: an existing path, else the gallery scenario of that name.

    A reference that is neither is returned as a path, so reading it fails with the usual file message.
    """
    path = Path(text)
    if path.exists():
        return path
    return gallery_paths().get(str(text), path)


def load_gallery_scenario(name: str) -> Scenario:
    """Load the gallery scenario called ``name`` (for example ``"cache-aside"``)."""
    paths = gallery_paths()
    if name not in paths:
        raise KeyError(f"no gallery scenario {name!r}; available: {', '.join(paths)}")
    return load_scenario(paths[name])


def first_sentence(text: str) -> str:
    """The first sentence of a description, for one-line listings."""
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end < 0 else flat[: end + 1]

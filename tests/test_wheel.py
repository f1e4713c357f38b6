"""The built wheel is a complete install: gallery and lessons ship inside it, and the ``sim`` command works.

The wheel is built from this checkout (no build isolation: setuptools and wheel come from the dev extra) and
installed into a fresh virtual environment that sees this environment's dependencies through a ``.pth`` path but
not the editable install of the project, then its ``sim`` command runs from an unrelated folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

TIMEOUT_S = 300


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv with the project's wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy, so the build leaves nothing behind in the checkout
    shutil.copytree(PROJECT_ROOT / "sim", source / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(root / "dist"), str(source)], check=True, timeout=TIMEOUT_S)
    wheel = next((root / "dist").glob("scalability_sandbox-*.whl"))
    environment = root / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    site_packages = next(environment.glob("lib/python*/site-packages"))
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(environment / "bin" / "python"), "install",
                    "--no-deps", "--no-index", "--quiet", str(wheel)], check=True, timeout=TIMEOUT_S)
    return environment / "bin"


def _sim(bin_folder: Path, *arguments: str, folder: Path) -> str:
    finished = subprocess.run([str(bin_folder / "sim"), *arguments], cwd=folder, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def test_the_wheel_carries_the_gallery_and_the_lessons(installed_wheel: Path, tmp_path: Path) -> None:
    listing = _sim(installed_wheel, "list", folder=tmp_path)
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    assert len(names) >= 4 and "single-server" in names
    where = subprocess.run([str(installed_wheel / "python"), "-c",
                            "import sim, sim.teaching.lessons as lessons; print(sim.__file__); "
                            "print(len(lessons.lesson_paths()))"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT_S, check=True)
    module_file, lesson_count = where.stdout.split()
    assert "site-packages" in module_file and str(PROJECT_ROOT) not in module_file
    assert int(lesson_count) >= 6


def test_the_installed_command_runs_a_gallery_scenario_by_name(installed_wheel: Path, tmp_path: Path) -> None:
    output = _sim(installed_wheel, "run", "single-server", "--duration", "5", folder=tmp_path)
    assert "single-server" in output and "throughput" in output

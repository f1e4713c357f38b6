"""The house rules a reader relies on: layers that import downwards only, no cycles, one SimPy importer.

The layers, bottom to top, are listed in ``LAYERS`` (docs/architecture.md explains each). A module may import
from its own package or from a lower layer; layers on one rank (the twin and the engine) never import each other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

SIM = PROJECT_ROOT / "sim"
LAYERS: list[tuple[str, ...]] = [
    ("data",),
    ("model",),
    ("theory",),
    ("runtime",),
    ("kinds",),
    ("scenario",),
    ("twin", "engine"),
    ("results",),
    ("experiments",),
    ("viz", "interop"),
    ("teaching",),
    ("cli",),
]
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> Iterator[tuple[str, int]]:
    """Modules imported when ``path`` runs (``if TYPE_CHECKING:`` blocks left out), with their line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(child) for node in ast.walk(tree)
               if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for child in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def sim_modules() -> dict[str, Path]:
    return {module_name(path): path for path in SIM.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports at run time."""
    modules = sim_modules()
    return {name: {target for target, _line in runtime_imports(path) if target in modules and target != name}
            for name, path in modules.items()}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def test_every_package_has_a_layer() -> None:
    packages = {path.parent.name for path in SIM.glob("*/__init__.py")}
    assert packages <= set(RANK), f"packages without a layer in LAYERS: {sorted(packages - set(RANK))}"


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, targets in import_graph().items():
        source = package_of(module)
        for target in targets:
            destination = package_of(target)
            if source is None or destination is None or source == destination:
                continue
            if RANK[destination] >= RANK[source]:
                wrong.append(f"{module} imports {target} ({source} -> {destination})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*trail[trail.index(target):], target]
            if target not in state:
                cycle = visit(target, [*trail, target])
                if cycle:
                    return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [module])
            assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize(("library", "allowed"), [("simpy", {"sim.runtime.loop"}), ("plotly", {"sim.viz.base"}),
                                                   ("streamlit", set())])
def test_heavy_libraries_have_one_door(library: str, allowed: set[str]) -> None:
    importers = {module for module, path in sim_modules().items()
                 for target, _line in runtime_imports(path) if target.split(".")[0] == library}
    assert importers <= allowed, f"{library} imported by {sorted(importers - allowed)}"


def test_only_the_kinds_branch_on_a_spec_class() -> None:
    from sim.kinds.registry import KINDS

    kind_classes = {spec_class.__name__ for spec_class in KINDS.values()}
    offenders = [f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                 for path in SIM.rglob("*.py") if "kinds" not in path.relative_to(SIM).parts
                 for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance"
                 and len(node.args) == 2 and kind_classes & {getattr(name, "id", getattr(name, "attr", None))
                                                             for name in ast.walk(node.args[1])}]
    assert not offenders, offenders


@pytest.mark.parametrize("package", ["sim.theory", "sim.twin", "sim.kinds", "sim.scenario", "sim.model"])
def test_theory_and_the_model_load_without_the_engine(package: str) -> None:
    probe = (f"import sys, importlib, pkgutil, {package}\n"
             f"for info in pkgutil.walk_packages({package}.__path__, '{package}.'):\n"
             "    importlib.import_module(info.name)\n"
             "loaded = sorted(name for name in sys.modules if name == 'simpy' or name.startswith(('simpy.', "
             "'sim.engine', 'sim.runtime.loop')))\n"
             "print(','.join(loaded))\n")
    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT,
                              timeout=120, check=True)
    assert finished.stdout.strip() == "", f"importing {package} loaded {finished.stdout.strip()}"

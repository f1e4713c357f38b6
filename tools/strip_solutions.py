"""Make a student copy of a lesson notebook: drop cells tagged ``solution`` and clear every output.

Usage: ``python tools/strip_solutions.py notebooks/01-queues.ipynb student/01-queues.ipynb``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def strip(source: Path, target: Path) -> int:
    """Write the student copy; return how many solution cells were removed."""
    notebook = nbformat.read(source, as_version=4)
    kept = [cell for cell in notebook.cells if "solution" not in cell.get("metadata", {}).get("tags", [])]
    removed = len(notebook.cells) - len(kept)
    for cell in kept:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.cells = kept
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return removed


def main(arguments: list[str]) -> int:
    if len(arguments) != 2:
        print("usage: python tools/strip_solutions.py SOURCE.ipynb TARGET.ipynb", file=sys.stderr)
        return 2
    removed = strip(Path(arguments[0]), Path(arguments[1]))
    print(f"wrote {arguments[1]} without {removed} solution cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

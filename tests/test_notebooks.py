"""The lesson notebooks are generated from the lesson files and can be reset for students.

(The notebooks themselves are executed by nbmake: ``pytest`` collects ``notebooks/*.ipynb``.)
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import nbformat

from sim.teaching.lesson_views import question_markdown, solution_markdown, step_markdown
from sim.teaching.lessons import lesson_paths, load_lesson
from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "tools"))

import make_notebooks
import strip_solutions

NOTEBOOKS = PROJECT_ROOT / "notebooks"


def test_every_lesson_has_an_up_to_date_notebook() -> None:
    for slug, path in lesson_paths().items():
        notebook = nbformat.read(NOTEBOOKS / f"{path.stem}.ipynb", as_version=4)
        expected = make_notebooks.build(load_lesson(slug))
        assert [cell.source for cell in notebook.cells] == [cell.source for cell in expected.cells], (
            f"{path.stem}.ipynb is stale: run python tools/make_notebooks.py")


def test_each_reveal_follows_a_prediction_cell() -> None:
    notebook = nbformat.read(NOTEBOOKS / "01-queues.ipynb", as_version=4)
    sources = [cell.source for cell in notebook.cells]
    for index, source in enumerate(sources):
        if "views.verdict(lesson" in source and "my_prediction" in source:
            guess = source.split("views.verdict(lesson, ")[1].split(", ")[1]
            assert any(earlier.startswith(f"{guess} = None") for earlier in sources[:index])


def test_notebooks_read_before_they_run_without_giving_the_answers_away() -> None:
    lesson = load_lesson("caching")
    notebook = nbformat.read(NOTEBOOKS / "03-caching.ipynb", as_version=4)
    prose = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert prose[0].startswith(f"# Lesson {lesson.number}: {lesson.title}")
    assert step_markdown(lesson, 0) in prose and question_markdown(lesson, 0) in prose
    explanation = next(step.after for step in lesson.steps if step.after).strip().splitlines()[0]
    assert not any(explanation in source for source in prose), "what a step explains waits for its reveal"
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "stored unrun"


def test_strip_solutions_removes_solutions_and_outputs(tmp_path: Path) -> None:
    source = NOTEBOOKS / "01-queues.ipynb"
    original = nbformat.read(source, as_version=4)
    solutions = sum("solution" in cell.metadata.get("tags", []) for cell in original.cells)
    assert solutions == len(load_lesson("queues").exercises) >= 2
    target = tmp_path / "student.ipynb"
    assert strip_solutions.main([str(source), str(target)]) == 0
    student = nbformat.read(target, as_version=4)
    assert len(student.cells) == len(original.cells) - solutions
    solution = solution_markdown(load_lesson("queues"), 0)
    assert any(cell.source == solution for cell in original.cells)
    assert not any(cell.source == solution for cell in student.cells)
    assert all(not cell.get("outputs") for cell in student.cells if cell.cell_type == "code")


def test_the_instructors_setup_installs_what_it_then_runs() -> None:
    """docs/teaching.md installs an extra and then runs `jupyter notebook`: that extra must bring Notebook."""
    guide = (PROJECT_ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    extra = re.search(r"pip install -e '\.\[(\w+)\]'", guide)
    assert extra and "jupyter notebook notebooks/" in guide
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in extras[extra.group(1)]}
    assert {"notebook", "ipykernel"} <= names

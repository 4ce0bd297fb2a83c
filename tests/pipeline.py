"""Helpers for the tests that drive the real nbgrader pipeline.

The repository is itself a course folder (:data:`COURSE`, an
``instructor.Course``): ``nbgrader_config.py``, ``solutions/`` and the
released ``exercises/``. A test that grades gets a course folder of its own,
a copy of the configuration and of one chapter's solutions, released with the
instructor's own ``course release`` code; learners' notebooks are placed in
``submitted/``, and nbgrader grades them into a real gradebook.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path

import nbformat

from course_lib.instructor.course import Course
from course_lib.instructor.release import release

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(ROOT)
BIN = Path(sys.executable).parent
# The `course` command and nbgrader run `alembic` (for the gradebook) and kernels from the environment's bin.
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def course_folder(tmp: Path, *chapters: str) -> Course:
    """A new course folder in ``tmp``: the repository's nbgrader configuration and these chapters' sources."""
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    for chapter in chapters:
        shutil.copytree(COURSE.solutions / chapter, tmp / "solutions" / chapter)
    return Course(tmp)


def released_course(tmp: Path, chapter: str) -> Course:
    """A course folder with one chapter released (``exercises/``) and recorded in its gradebook."""
    course = course_folder(tmp, chapter)
    release(course, [chapter])
    return course


def test_ids(nb: nbformat.NotebookNode, answer: str) -> list[str]:
    """grade_ids of the test cells of one answer: ``test_<answer>_<aspect>``."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")
            and c.metadata["nbgrader"]["grade_id"].startswith(f"test_{answer}_")]


def _lines_between(nb: nbformat.NotebookNode, begin: str, end: str) -> list[str]:
    """Every non-blank line between a ``begin`` marker and its ``end`` marker."""
    lines, inside = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def hidden_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Every non-blank line between the hidden-test markers."""
    return _lines_between(nb, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Every non-blank line between the solution markers."""
    return _lines_between(nb, "BEGIN SOLUTION", "END SOLUTION")


def with_answers(nb: nbformat.NotebookNode, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose solution cells are replaced (keyed by grade_id)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements and cell.metadata["nbgrader"].get("solution"):
            cell.source = replacements[grade_id]
    return nb


def submit(course: Course, student: str, chapter: str, nbs: dict[str, nbformat.NotebookNode]) -> None:
    """Place a learner's notebooks where ``nbgrader autograde`` looks for them."""
    folder = course.submission(student, chapter)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in nbs.items():
        nbformat.write(nb, folder / name)


def variants(chapter: str) -> tuple[dict, dict]:
    """The chapter's MUTANTS and ALTERNATIVES (tests/answers/<chapter>.py)."""
    module = importlib.import_module(f"tests.answers.{chapter}")
    return module.MUTANTS, module.ALTERNATIVES

"""Helpers for the tests that drive the real nbgrader pipeline.

A temporary course folder gets a copy of ``nbgrader_config.py`` and of the
chapter's solutions; nbgrader generates the assignment, learners' notebooks
are placed in ``submitted/``, and ``nbgrader autograde`` grades them into a
real gradebook.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
BIN = Path(sys.executable).parent
NBGRADER = [str(BIN / "nbgrader")]
# nbgrader runs `alembic` (for the gradebook) and kernels from the environment's bin.
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def chapters() -> list[str]:
    """Assignment ids: one folder of solutions per chapter."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def notebooks(chapter: str) -> list[Path]:
    return sorted((SOLUTIONS / chapter).glob("*.ipynb"))


def nbgrader(course: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in a course folder; fail loudly on a non-zero exit."""
    result = subprocess.run(NBGRADER + list(args), cwd=course, capture_output=True, text=True,
                            timeout=timeout, env=ENV)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def make_course(tmp: Path, chapter: str) -> Path:
    """A course folder with the chapter's source and a gradebook."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    shutil.copytree(SOLUTIONS / chapter, tmp / "solutions" / chapter)
    nbgrader(tmp, "generate_assignment", chapter, "--force")
    return tmp


def answer_ids(nb: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the solution cells (the graded answers)."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]


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


def submit(course: Path, student: str, chapter: str, nbs: dict[str, nbformat.NotebookNode]) -> None:
    """Place a learner's notebooks where ``nbgrader autograde`` looks for them."""
    folder = course / "submitted" / student / chapter
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in nbs.items():
        nbformat.write(nb, folder / name)


def variants(chapter: str) -> tuple[dict, dict]:
    """The chapter's MUTANTS and ALTERNATIVES (tests/answers/<chapter>.py)."""
    module = importlib.import_module(f"tests.answers.{chapter}")
    return module.MUTANTS, module.ALTERNATIVES


def scores(course: Path, chapter: str) -> dict[str, dict[str, tuple[float, float]]]:
    """student -> test cell grade_id -> (score, max score), from the gradebook."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(chapter):
            cells = out.setdefault(submission.student_id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = (float(grade.score), float(grade.max_score))
    return out

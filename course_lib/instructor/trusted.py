"""nbgrader's side of the trusted grader: the autograde preprocessor that decides every score.

nbgrader executes the submitted notebook in the (sandboxed) kernel as
before: the learner's view, outputs and visible tests. That run is not
trusted: the learner's code ran in the same process as the checks. Then
:class:`TrustedGrade`, placed before nbgrader's ``SaveAutoGrades``:

1. hands the notebook to ``course_grader`` (a grader-only package the sandbox
   does not mount), which starts a sandboxed worker with the notebook's cells
   (setup and answers; not the test cells), calls the learner's functions
   through a plain-data channel and runs each graded cell's check
   (``test_<grade_id>``: the visible and the hidden checks) in this process;
2. replaces each graded test cell's outputs with the trusted verdict: the
   cell's confirmation line when it passed, the check's message as an error
   when it failed. ``SaveAutoGrades`` then records exactly that score, and
   formgrader, exports and feedback all show it;
3. records in the notebook's metadata (``course_grader``) the cells where the
   kernel said "pass" but the trusted check failed in its visible part (the
   same checks the kernel ran: a sign of tampering), the lines an instructor
   should review, and the forbidden shortcuts the static check found.
   ``course autograde`` turns these into the statuses ``tamper suspected``
   and ``review`` (:func:`status_of`).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from traitlets import Bool, Integer, Unicode

METADATA = "course_grader"
TAMPER = "tamper suspected"
REVIEW = "review"


def import_grader(path: str = "") -> Any:
    """``course_grader.run``: installed, or from ``path`` / $COURSE_GRADER_PATH / grader/ beside course_lib."""
    try:
        return importlib.import_module("course_grader.run")
    except ModuleNotFoundError:
        pass
    import course_lib
    candidates = [path, os.environ.get("COURSE_GRADER_PATH", ""),
                  str(Path(course_lib.__file__).resolve().parents[1] / "grader")]
    for folder in candidates:
        if folder and (Path(folder) / "course_grader" / "run.py").is_file():
            sys.path.insert(0, str(Path(folder).resolve()))
            return importlib.import_module("course_grader.run")
    return None


def kernel_passed(cell: NotebookNode) -> bool:
    """nbgrader's rule: a test cell passed when its outputs hold no error and nothing on stderr."""
    return not any(out.get("output_type") == "error"
                   or (out.get("output_type") == "stream" and out.get("name") == "stderr")
                   for out in cell.get("outputs", []))


def verdict_outputs(passed: bool, message: str) -> list[NotebookNode]:
    if passed:
        return [new_output("stream", name="stdout", text=message + "\n")]
    return [new_output("error", ename="AssertionError", evalue=message,
                       traceback=[f"AssertionError: {message}"])]


class TrustedGrade(Preprocessor):
    """Score every graded test cell with the trusted grader's verdict (see the module's docstring)."""

    enabled = Bool(True, help="nbconvert runs only enabled preprocessors.").tag(config=True)
    grader_path = Unicode("", help="Folder holding course_grader, when it is not installed.").tag(config=True)
    cell_timeout = Integer(0, help="Seconds each notebook cell may run in the worker (0: Execute.timeout)."
                           ).tag(config=True)
    required = Bool(True, help="Fail grading when the trusted grader cannot be loaded "
                               "(False: keep the kernel's results, with a warning).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        chapter = resources.get("nbgrader", {}).get("assignment", "")
        cwd = resources.get("metadata", {}).get("path") or os.getcwd()
        run = import_grader(self.grader_path)
        if run is None:
            if self.required:
                raise RuntimeError("the trusted grader (course_grader) is not installed: "
                                   "pip install -e ./grader, or set TrustedGrade.grader_path")
            self.log.warning("course_grader is not installed: the kernel's results stand")
            return nb, resources
        start = time.monotonic()
        seconds = self.cell_timeout or self.config.Execute.get("timeout", None) or 60
        report = run.grade(chapter, nb, cwd, cell_seconds=float(seconds))
        if report is None:
            self.log.warning("course_grader has no checks for %s: the kernel's results stand", chapter)
            return nb, resources
        tamper, failed = [], []
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            verdict = report.verdicts.get(grade_id)
            if verdict is None:
                continue
            if kernel_passed(cell) and not verdict.passed and verdict.phase == "visible":
                tamper.append(grade_id)
            if not verdict.passed:
                failed.append(grade_id)
            cell.outputs = verdict_outputs(verdict.passed, verdict.message)
        nb.metadata[METADATA] = {
            "tamper": tamper, "review": report.review, "forbidden": report.forbidden, "failed": failed,
            "cell_errors": report.cell_errors, "checked": len(report.verdicts),
            "seconds": round(time.monotonic() - start, 2),
        }
        self.log.info("trusted grader: %d cells checked, %d failed, tamper suspected in %s",
                      len(report.verdicts), len(failed), tamper or "none")
        return nb, resources


def status_of(notebooks: list[NotebookNode]) -> tuple[str | None, list[str]]:
    """(``tamper suspected`` / ``review`` / None, the notes) from graded notebooks' metadata."""
    status, notes = None, []
    tamper = [g for nb in notebooks for g in nb.metadata.get(METADATA, {}).get("tamper", [])]
    review = [line for nb in notebooks for line in nb.metadata.get(METADATA, {}).get("review", [])]
    forbidden = [g for nb in notebooks for g in nb.metadata.get(METADATA, {}).get("forbidden", {})]
    if tamper:
        status = TAMPER
        notes.append("the kernel passed but the trusted grader failed the same checks in " + ", ".join(tamper))
    if review:
        status = status or REVIEW
        notes.append("review: " + " | ".join(review[:8]) + (f" (and {len(review) - 8} more)" if len(review) > 8 else ""))
    if forbidden:
        notes.append("forbidden shortcut in the source: " + ", ".join(forbidden))
    return status, notes

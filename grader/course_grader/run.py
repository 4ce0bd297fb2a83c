"""Grade one notebook in the trusted process: the verdict of each graded test cell."""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import asdict, dataclass, field
from types import ModuleType

from course_grader import static
from course_grader.channel import Answers, Worker


@dataclass
class Verdict:
    """The trusted outcome of one graded test cell."""

    grade_id: str
    passed: bool
    message: str       # the check's message on failure, the cell's confirmation line on success
    phase: str = ""    # "visible" or "hidden": where a failure happened


@dataclass
class Report:
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)          # constructs an instructor should look at
    forbidden: dict[str, str] = field(default_factory=dict)   # grade_id -> static forbidden-shortcut message
    cell_errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"verdicts": {k: asdict(v) for k, v in self.verdicts.items()}, "review": self.review,
                "forbidden": self.forbidden, "cell_errors": self.cell_errors, "seconds": round(self.seconds, 2)}


def chapter_module(chapter: str) -> ModuleType | None:
    """``course_grader.<chapter>``, or None when the grader has no checks for that assignment."""
    try:
        return importlib.import_module(f"course_grader.{chapter}")
    except ModuleNotFoundError as error:
        if error.name == f"course_grader.{chapter}":
            return None
        raise


def _meta(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def is_test_cell(cell) -> bool:
    meta = _meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def worker_cells(nb) -> list[tuple[str, str]]:
    """The cells the worker runs: every code cell but the test cells, in order."""
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        label = _meta(cell).get("grade_id") or f"cell {index + 1}"
        cells.append((label, "".join(cell.get("source", ""))))
    return cells


def check_name(grade_id: str) -> str:
    """The check of a test cell: its grade_id when that starts with ``test_`` (all do), else ``test_<grade_id>``."""
    return grade_id if grade_id.startswith("test_") else f"test_{grade_id}"


def run_check(check, answers: Answers, grade_id: str) -> Verdict:
    answers.phase = "visible"
    try:
        line = check(answers)
    except AssertionError as error:
        return Verdict(grade_id, False, str(error) or "a check failed", answers.phase)
    except Exception as error:  # noqa: BLE001 (an answer returned something the check cannot use)
        where = traceback.extract_tb(error.__traceback__)[-1]
        return Verdict(grade_id, False, f"the check could not use what your answer returned "
                       f"({type(error).__name__}: {error}; at {where.name})", answers.phase)
    return Verdict(grade_id, True, str(line or "passed"), "")


def grade(chapter: str, nb, cwd: str, module: ModuleType | None = None, cell_seconds: float = 60.0
          ) -> Report | None:
    """Run every graded test cell's trusted check against the notebook's answers."""
    module = module or chapter_module(chapter)
    if module is None:
        return None
    start = time.monotonic()
    report = Report()
    locked = {_meta(c).get("grade_id") for c in nb["cells"] if _meta(c).get("locked") and not _meta(c).get("solution")}
    cells = worker_cells(nb)
    learner = [(label, source) for label, source in cells if label not in locked]
    setup = [(label, source) for label, source in cells if label in locked]
    findings = static.read_source(learner, setup, getattr(module, "FORBIDDEN", {}))
    report.review = findings.review
    worker = Worker(cells, cwd, cell_seconds=cell_seconds, course_cells=locked)
    answers = Answers(worker)
    try:
        for cell in nb["cells"]:
            if not is_test_cell(cell):
                continue
            grade_id = _meta(cell).get("grade_id", "")
            check = getattr(module, check_name(grade_id), None)
            if check is None:
                continue
            if grade_id in findings.forbidden:
                report.verdicts[grade_id] = Verdict(grade_id, False, findings.forbidden[grade_id], "static")
                report.forbidden[grade_id] = findings.forbidden[grade_id]
                continue
            report.verdicts[grade_id] = run_check(check, answers, grade_id)
    finally:
        worker.close()
    report.cell_errors = {**worker.errors, **{k: f"not run: {v}" for k, v in worker.broken.items()}}
    report.seconds = time.monotonic() - start
    return report

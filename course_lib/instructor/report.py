"""Feedback for learners and grades for the instructor, from nbgrader's gradebook.

* :func:`feedback` runs nbgrader's ``generate_feedback`` per learner; the
  course's ``nbgrader_config.py`` removes hidden tests and shortens every
  traceback to the message a check wrote.
* :func:`grades` writes ``grades/grades.csv`` (one row per learner and chapter:
  score, status, message, and points per exercise), ``grades/summary.csv``
  (per exercise: mean, median, share of full marks) and
  ``grades/<chapter>_histogram.png``.
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

from tqdm.auto import tqdm

from course_lib.instructor.autograde import GRADED, STATUS_FILE
from course_lib.instructor.course import Course
from course_lib.instructor.submissions import answer_ids


def feedback(course: Course, chapters: list[str]) -> list[Path]:
    """nbgrader feedback HTML for every autograded learner; returns the reports written."""
    from nbgrader.apps import NbGraderAPI

    api = NbGraderAPI(config=course.config())
    failures = []
    for chapter in tqdm(chapters, desc="feedback", unit="chapter", file=sys.stderr):
        result = api.generate_feedback(chapter)  # every learner of the chapter in one nbgrader run
        if not result.get("success"):
            failures.append(f"{chapter}: {result.get('error', '')[-500:]}")
    if failures:
        print("feedback failed for " + "\n".join(failures), file=sys.stderr)
    return sorted(course.feedback.rglob("*.html")) if course.feedback.is_dir() else []


def _exercise(test_id: str, answers: list[str]) -> str:
    """The answer a test cell checks: ``test_<answer>_<aspect>``, the longest matching answer."""
    matches = [a for a in answers if test_id.startswith(f"test_{a}_") or test_id == f"test_{a}"]
    return max(matches, key=len) if matches else test_id


def _answers(course: Course, chapter: str) -> list[str]:
    return [answer for path in course.notebooks(chapter) for answer in answer_ids(course.source(chapter, path.name))]


def cell_scores(course: Course, chapter: str) -> dict[str, dict[str, tuple[float, float]]]:
    """learner -> test cell grade_id -> (score, maximum score), from the gradebook."""
    from nbgrader.api import Gradebook

    table: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(course.db_url) as gb:
        for submission in gb.assignment_submissions(chapter):
            cells = table.setdefault(submission.student_id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = (float(grade.score or 0.0), float(grade.max_score))
    return table


def _scores(course: Course, chapter: str) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """learner -> exercise -> points, and exercise -> maximum points, from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    answers = _answers(course, chapter)
    table: dict[str, dict[str, float]] = {}
    maxima: dict[str, float] = {}
    with Gradebook(course.db_url) as gb:
        try:
            assignment = gb.find_assignment(chapter)
        except MissingEntry:
            return table, maxima
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                ex = _exercise(cell.name, answers)
                maxima[ex] = maxima.get(ex, 0.0) + float(cell.max_score)
    for learner, cells in cell_scores(course, chapter).items():
        row = table.setdefault(learner, {})
        for name, (score, _) in cells.items():
            ex = _exercise(name, answers)
            row[ex] = row.get(ex, 0.0) + score
    return table, maxima


def grades(course: Course, chapters: list[str]) -> list[dict[str, str]]:
    """Write the grades CSV, the summary per exercise and a histogram per chapter; return the summary."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    course.grades.mkdir(exist_ok=True)
    statuses = course.read_json(STATUS_FILE, {})
    rows, summary = [], []
    for chapter in chapters:
        table, maxima = _scores(course, chapter)
        learners = sorted(set(table) | set(statuses.get(chapter, {})))
        full = sum(maxima.values())
        totals = []
        for learner in learners:
            points = table.get(learner, {})
            status = statuses.get(chapter, {}).get(learner, {"status": "not autograded", "message": ""})
            if status["status"] not in GRADED:
                points = {}  # a failed grading run may leave partial rows: they do not count
            total = sum(points.values())
            totals.append(total)
            rows.append({"learner": learner, "chapter": chapter, "score": f"{total:g}", "max_score": f"{full:g}",
                         "status": status["status"], "message": status["message"],
                         **{ex: f"{points.get(ex, 0.0):g}" for ex in maxima}})
        for ex, top in maxima.items():
            got = [table.get(learner, {}).get(ex, 0.0) if statuses.get(chapter, {}).get(learner, {}).get(
                "status") in GRADED else 0.0 for learner in learners] or [0.0]
            summary.append({"chapter": chapter, "exercise": ex, "max": f"{top:g}",
                            "mean": f"{statistics.mean(got):.2f}", "median": f"{statistics.median(got):g}",
                            "full_marks": f"{sum(g >= top for g in got) / len(got):.0%}"})
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.hist(totals, bins=range(int(full) + 2), align="left", rwidth=0.8, color="#4C72B0")
        ax.set(xlabel=f"score out of {full:g}", ylabel="learners", title=f"{chapter}: {len(totals)} learners")
        fig.tight_layout()
        fig.savefig(course.grades / f"{chapter}_histogram.png", dpi=100)
        plt.close(fig)
    _write_csv(course.grades / "grades.csv", rows)
    _write_csv(course.grades / "summary.csv", summary)
    return summary


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def table(rows: list[dict[str, str]]) -> str:
    """Rows as an aligned text table."""
    if not rows:
        return "(nothing graded yet)"
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines += ["  ".join(r[k].ljust(widths[k]) for k in keys) for r in rows]
    return "\n".join(lines)

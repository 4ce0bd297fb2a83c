"""Release: the learners' notebooks, made from the source notebooks and checked.

``course release`` (and ``make release``, which runs it) is the one way to
make ``exercises/``: nbgrader's generate_assignment writes each chapter's
learner version and records its cells and points in the gradebook, then
:func:`check` reads back what was written. A release that still holds a
solution or a hidden test, or that lost a graded cell, stops with the list of
problems.
"""

from __future__ import annotations

import sys

import nbformat
from tqdm.auto import tqdm

from course_lib.instructor.autograde import register
from course_lib.instructor.course import Course
from course_lib.instructor.submissions import grade_ids

MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS")  # what nbgrader removes; never in a release


def check(course: Course, chapter: str) -> list[str]:
    """What is wrong with the released notebooks of one chapter (nothing: an empty list)."""
    problems = []
    for source in course.notebooks(chapter):
        released = course.exercises / chapter / source.name
        if not released.is_file():
            problems.append(f"{released} was not written")
            continue
        text = released.read_text(encoding="utf-8")
        problems += [f"{released} still holds '{marker}'" for marker in MARKERS if marker in text]
        cells = [gid for gid, _ in grade_ids(nbformat.read(released, as_version=4))]
        if cells != [gid for gid, _ in grade_ids(course.source(chapter, source.name))]:
            problems.append(f"{released} lost graded cells")
    return problems


def release(course: Course, chapters: list[str]) -> None:
    """Write ``exercises/<chapter>/`` for each chapter, record it in the gradebook, and check it."""
    for chapter in tqdm(chapters, desc="release", unit="chapter", file=sys.stderr):
        register(course, chapter, release_directory=course.exercises)
    problems = [problem for chapter in chapters for problem in check(course, chapter)]
    if problems:
        raise SystemExit("release check failed:\n  " + "\n  ".join(problems))

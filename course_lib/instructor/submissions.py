"""What a submitted notebook looks like next to its source, before nbgrader sees it.

nbgrader repairs much on its own (``OverwriteCells`` restores edited test
cells and, with ``add_missing_cells``, deleted ones); these checks name what
happened so the grades report can say it, and stop the cases nbgrader cannot
grade: a file that is empty, not JSON, not a notebook, or another chapter's.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from course_lib.instructor.course import Course


class Unreadable(Exception):
    """The submission cannot be graded at all; the message says why."""


def grade_ids(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(grade_id, cell type) of the nbgrader cells, in order."""
    out = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id"):
            out.append((meta["grade_id"], cell.get("cell_type", "")))
    return out


def answer_ids(nb: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the answer cells (the code cells a learner writes), in order."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]


def read(path: Path) -> nbformat.NotebookNode:
    """A notebook, or :class:`Unreadable` with a message a person can act on."""
    data = path.read_bytes()
    if not data.strip():
        raise Unreadable(f"{path.name} is an empty file")
    try:
        nb = nbformat.reads(data.decode("utf-8", errors="replace"), as_version=4)
    except json.JSONDecodeError as error:
        raise Unreadable(f"{path.name} is not valid JSON ({error.msg} at line {error.lineno})") from None
    except Exception as error:  # nbformat raises several kinds for a non-notebook
        raise Unreadable(f"{path.name} is not a Jupyter notebook ({type(error).__name__}: {error})") from None
    if not isinstance(nb.get("cells"), list):
        raise Unreadable(f"{path.name} is not a Jupyter notebook (it has no cells)")
    return nb


def identify(course: Course, nb: nbformat.NotebookNode) -> tuple[str, str] | None:
    """(chapter, notebook file name) whose graded cells this notebook shares most, if any."""
    ids = {gid for gid, _ in grade_ids(nb)}
    best, best_overlap = None, 0
    for chapter in course.chapters():
        for path in course.notebooks(chapter):
            overlap = len(ids & {gid for gid, _ in grade_ids(course.source(chapter, path.name))})
            if overlap > best_overlap:
                best, best_overlap = (chapter, path.name), overlap
    return best


def _locked_sources(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of the cells a learner may not edit (tests and locked cells)."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") and not c.metadata["nbgrader"].get("solution")
            and (c.metadata["nbgrader"].get("locked") or c.metadata["nbgrader"].get("grade"))}


def compare(source: nbformat.NotebookNode, nb: nbformat.NotebookNode,
            released: nbformat.NotebookNode | None = None) -> list[str]:
    """Notes on how the graded cells of ``nb`` differ from ``source`` and ``released`` (nbgrader fixes most)."""
    notes = []
    theirs = dict(grade_ids(nb))
    mine = grade_ids(source)
    deleted = [gid for gid, _ in mine if gid not in theirs]
    if deleted:
        notes.append(f"graded cells deleted and restored from the source: {', '.join(deleted)}")
    retyped = [gid for gid, kind in mine if gid in theirs and theirs[gid] != kind]
    if retyped:
        notes.append(f"graded cells changed to another type: {', '.join(retyped)}")
    order = [gid for gid, _ in grade_ids(nb) if gid in dict(mine)]
    expected = [gid for gid, _ in mine if gid in theirs]
    if order != expected:
        notes.append("graded cells were moved; they ran in the learner's order")
    originals = [_locked_sources(source)] + ([_locked_sources(released)] if released else [])
    edited = [gid for gid, text in _locked_sources(nb).items()
              if gid in originals[0] and all(text != o.get(gid) for o in originals)]
    if edited:
        notes.append(f"test or locked cells edited and restored from the source: {', '.join(edited)}")
    return notes


def notes_on(course: Course, learner: str, chapter: str) -> list[str]:
    """Notes on a learner's submission of a chapter; :class:`Unreadable` if it cannot be graded."""
    folder = course.submission(learner, chapter)
    notes = []
    for path in course.notebooks(chapter):
        submitted = folder / path.name
        if not submitted.is_file():
            notes.append(f"{path.name} is missing (scored 0)")
            continue
        nb = read(submitted)
        source = course.source(chapter, path.name)
        given = course.exercises / chapter / path.name  # what learners got: hidden tests removed
        released = nbformat.read(given, as_version=4) if given.is_file() else None
        match = identify(course, nb)
        if match is None:
            raise Unreadable(f"{path.name} has none of the graded cells of {chapter}: "
                             "is it the right notebook?")
        if match != (chapter, path.name):
            raise Unreadable(f"{path.name} is the notebook of another assignment "
                             f"({match[0]}/{match[1]}), not of {chapter}")
        notes += compare(source, nb, released)
    return notes

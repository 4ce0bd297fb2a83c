"""An nbgrader preprocessor for feedback reports.

A traceback quotes the lines around the failing one, and in a test cell those
can be hidden tests. In feedback, each error keeps only its message: the
checks in :mod:`course_lib.grading` write messages meant to be read alone.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from nbformat import NotebookNode


class ShortTracebacks(NbGraderPreprocessor):
    """Replace every error's traceback by one line: ``ExceptionName: message``."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


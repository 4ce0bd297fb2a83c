"""Print the course's performance figures, one ``name: value`` line each.

Run with ``make bench``. The spine's own figures are measured here:

- ``book_build_s``: a full book build, every chapter executed afresh and every
  model trained (an empty zoo cache), as on a clean clone;
- ``chapter_exec_s_<chapter>``: executing one chapter page on its own;
- ``autograde_s_per_notebook``: nbgrader autograde of the solutions, per notebook;
- ``test_cell_max_s``: the slowest test cell of any solution notebook (hidden tests included).

Every other module in ``benchmarks/`` with a ``measure() -> dict[str, float]``
adds its own figures. Nothing here asserts a target: the figures are printed
for people (and closing notes) to compare with the budgets listed in the
README ("Budgets").
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # so that `tests.pipeline` can be imported

from tests import pipeline  # noqa: E402

BIN = Path(sys.executable).parent


def report(name: str, value: float) -> None:
    print(f"{name}: {value:.4g}", flush=True)


def book_build_s() -> float:
    """A full build of the book into a temporary folder, nothing cached: every model trained."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, COURSE_LIB_CACHE=str(Path(tmp) / "zoo"))  # an empty zoo
        book = Path(tmp) / "book"
        shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build"))
        shutil.rmtree(book / "exercises", ignore_errors=True)
        shutil.copytree(ROOT / "exercises", book / "exercises")
        start = time.perf_counter()
        subprocess.run([str(BIN / "jupyter-book"), "build", str(book), "--warningiserror", "--nitpick"],
                       check=True, capture_output=True, cwd=ROOT, env=env)
        return time.perf_counter() - start


def chapter_exec_s(page: Path) -> float:
    """Execute one MyST chapter page as a notebook, as the book build does."""
    nb = jupytext.read(page)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(page.parent)}}).execute()
    return time.perf_counter() - start


def test_cell_times(path: Path) -> list[float]:
    """Seconds taken by each graded test cell of a solution notebook."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    times = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.metadata.get("nbgrader", {}).get("grade"):
                times.append(time.perf_counter() - start)
    return times


def autograde_s_per_notebook() -> float:
    """nbgrader autograde of every chapter's solutions, as one learner, per notebook."""
    with tempfile.TemporaryDirectory() as tmp:
        total, count = 0.0, 0
        for chapter in pipeline.COURSE.chapters():
            course = pipeline.released_course(Path(tmp) / chapter, chapter)
            sources = {p.name: nbformat.read(p, as_version=4) for p in course.notebooks(chapter)}
            pipeline.submit(course, "learner", chapter, sources)
            start = time.perf_counter()
            course.nbgrader("autograde", chapter)
            total += time.perf_counter() - start
            count += len(sources)
        return total / count


def main() -> None:
    report("book_build_s", book_build_s())
    for page in sorted((ROOT / "book" / "chapters").glob("*.md")):
        report(f"chapter_exec_s_{page.stem}", chapter_exec_s(page))
    report("autograde_s_per_notebook", autograde_s_per_notebook())
    cells = [t for ch in pipeline.COURSE.chapters() for p in pipeline.COURSE.notebooks(ch) for t in test_cell_times(p)]
    report("test_cell_max_s", max(cells))
    for module_path in sorted(Path(__file__).parent.glob("*.py")):
        if module_path.stem == "bench" or module_path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{module_path.stem}")
        for name, value in module.measure().items():
            report(name, value)


if __name__ == "__main__":
    main()

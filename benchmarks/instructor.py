"""Instructor figures: how many learners per minute autograding gets through.

The same 30 synthetic learners (solutions, blank notebooks, mutants and
alternatives of ``tests/answers/<chapter>.py``) submit every chapter in
``solutions/``; they are graded twice, each time in a fresh copy of the course:

- ``autograde_learners_per_min_serial``: plain ``nbgrader autograde`` (nbgrader's
  own preprocessors: the learner's kernel decides the scores), one process,
  chapter after chapter;
- ``autograde_trusted_learners_per_min_jobs2``: ``course autograde --jobs 2``
  (sandboxed kernels, and every score decided by the trusted grader, which
  runs each learner's answers in a sandboxed worker; private gradebooks
  merged);
- ``autograde_trusted_speedup``: their ratio (issue 13's target: at least 1.5
  on 2 cores);
- ``autograde_cpu_s_per_notebook_plain`` and ``_trusted``: CPU seconds of
  every process each run started (nbgrader, kernels, sandboxes, workers), per
  notebook: what a busy machine cannot distort. Their ratio says how much
  work the trusted grader adds; ``autograde_trusted_speedup_cpu_estimate`` =
  2 x plain / trusted is the speedup two idle cores would give at best.

Run on its own with ``python benchmarks/instructor.py [CHAPTER ...]``.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # so that `tests.pipeline` can be imported

from course_lib.instructor.course import Course  # noqa: E402
from tests import pipeline  # noqa: E402

COURSE = str(Path(sys.executable).parent / "course")


def _learner_notebooks(chapter: str, count: int) -> list[dict[str, nbformat.NotebookNode]]:
    """``count`` learners' notebooks of a chapter: cycling through perfect, blank, mutants, alternatives."""
    sources = {p.name: nbformat.read(p, as_version=4) for p in pipeline.COURSE.notebooks(chapter)}
    blank = {name: nbformat.read(pipeline.COURSE.exercises / chapter / name, as_version=4) for name in sources}
    try:
        mutants, alternatives = pipeline.variants(chapter)
    except ModuleNotFoundError:
        mutants, alternatives = {}, {}
    kinds = [sources, blank]
    for table in (mutants, alternatives):
        for k in range(max((len(v) for v in table.values()), default=0)):
            chosen = {answer: versions[k] for answer, versions in table.items() if k < len(versions)}
            kinds.append({name: pipeline.with_answers(nb, chosen) for name, nb in sources.items()})
    return [kinds[i % len(kinds)] for i in range(count)]


def make_course(folder: Path, chapters: list[str], learners: int) -> Course:
    """A course folder with the chapters' sources and every learner's submissions (not released yet)."""
    course = pipeline.course_folder(folder, *chapters)
    for chapter in chapters:
        for i, nbs in enumerate(_learner_notebooks(chapter, learners)):
            pipeline.submit(course, f"learner{i:02d}", chapter, nbs)
    return course


def plain_nbgrader_config(folder: Path) -> None:
    """The course's nbgrader_config.py without the trusted grader: nbgrader as it comes."""
    lines = (ROOT / "nbgrader_config.py").read_text().splitlines(keepends=True)
    (folder / "nbgrader_config.py").write_text("".join(line for line in lines if "TrustedGrade" not in line))


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(command: list[str], cwd: Path, cpu: list[float] | None = None) -> float:
    start, start_cpu = time.perf_counter(), _cpu()
    subprocess.run(command, cwd=cwd, env=pipeline.ENV, check=True, capture_output=True, timeout=3600)
    if cpu is not None:
        cpu.append(_cpu() - start_cpu)
    return time.perf_counter() - start


def measure(chapters: list[str] | None = None, learners: int = 30) -> dict[str, float]:
    chapters = chapters or pipeline.COURSE.chapters()
    with tempfile.TemporaryDirectory() as tmp:
        serial_course = Path(tmp) / "serial"
        serial = make_course(serial_course, chapters, learners)
        parallel_course = Path(tmp) / "parallel"
        shutil.copytree(serial_course, parallel_course)
        plain_nbgrader_config(serial_course)
        for chapter in chapters:
            serial.nbgrader("generate_assignment", chapter, "--force")
        subprocess.run([COURSE, "release"], cwd=parallel_course, env=pipeline.ENV, check=True, capture_output=True)
        plain_cpu: list[float] = []
        trusted_cpu: list[float] = []
        serial_s = sum(_timed([str(pipeline.BIN / "nbgrader"), "autograde", chapter], serial_course, plain_cpu)
                       for chapter in chapters)
        parallel_s = _timed([COURSE, "autograde", "--jobs", "2"], parallel_course, trusted_cpu)
    notebooks = learners * len(chapters)
    return {"autograde_learners_per_min_serial": learners / (serial_s / 60),
            "autograde_trusted_learners_per_min_jobs2": learners / (parallel_s / 60),
            "autograde_trusted_speedup": serial_s / parallel_s,
            "autograde_cpu_s_per_notebook_plain": sum(plain_cpu) / notebooks,
            "autograde_cpu_s_per_notebook_trusted": sum(trusted_cpu) / notebooks,
            "autograde_trusted_speedup_cpu_estimate": 2 * sum(plain_cpu) / sum(trusted_cpu)}


if __name__ == "__main__":
    for name, value in measure(sys.argv[1:] or None).items():
        print(f"{name}: {value:.4g}")

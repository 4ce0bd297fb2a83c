"""Autograde every learner's chapters, several at a time, each kernel in the sandbox.

The grader is nbgrader itself (its Python API, one call per learner and
chapter). ``jobs`` worker processes each load nbgrader once and take
learners from a queue. No two processes ever write the same gradebook: each
worker grades into its own copy of the course's gradebook, and the parent
process alone merges each finished submission into ``gradebook.db`` (one
transaction per submission), so grades cannot be lost or half-written when
jobs finish together.

Each learner and chapter ends with a status in ``.course/status.json``,
written only by the parent process, whole or not at all:

* ``graded`` — nbgrader graded it; the message lists anything worth knowing
  (restored cells, a timeout, the memory limit, a dead kernel...);
* ``tamper suspected`` — graded, but in some test cells the learner's kernel
  said "pass" where the trusted grader failed the same checks (the cells are
  named); the trusted scores are recorded;
* ``review`` — graded, but the answer cells use constructs an instructor
  should look at (``exec``, ``inspect``, frames...; the lines are quoted);
* ``not graded`` — the file is empty, not a notebook, another chapter's, or
  nbgrader failed; the message says which, and the learner scores 0.

Re-running skips submissions graded before and unchanged since (``force``
grades them again), so running twice gives the same gradebook.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from course_lib.instructor import sandbox, submissions, trusted
from course_lib.instructor.course import Course

STATUS_FILE = "status.json"
GRADED = ("graded", trusted.TAMPER, trusted.REVIEW)  # statuses whose scores are in the gradebook


@dataclass
class Options:
    """How to grade: parallel jobs, time per cell, sandbox and its limits."""

    jobs: int = 2
    timeout: int | None = None       # seconds per cell; None: nbgrader_config.py's Execute.timeout
    isolate: bool = True             # False: no namespaces (another user and resource limits only)
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    force: bool = False
    uid_base: int = 64000            # worker k's kernels run as user uid_base + k


@dataclass
class Status:
    """How one learner's chapter went."""

    status: str
    message: str = ""
    digest: str = ""


# --- in each worker process ----------------------------------------------------------

_api = None   # this worker's nbgrader
_slot = 0     # this worker's number: its gradebook copy and its kernels' user id


def _start_worker(root: str, options: Options, workspace: str, slots: "multiprocessing.Queue[int]") -> None:
    """Load nbgrader once, with the course's configuration, a private gradebook and the sandboxed kernel."""
    global _api, _slot
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    course = Course(Path(root))
    slot = _slot = slots.get()
    os.chdir(root)
    # Connection files and kernel sockets go to a folder of the run's workspace, which stays
    # root's: the sandbox gives each kernel a fresh runtime folder of its own and makes these
    # socket paths links into it. jupyter_client writes connection files with tempfile.
    runtime = tempfile.mkdtemp(prefix=f"worker{slot}-", dir=workspace)
    os.environ["JUPYTER_RUNTIME_DIR"] = os.environ["TMPDIR"] = runtime
    tempfile.tempdir = None
    os.environ["JUPYTER_PATH"] = str(course.state / "jupyter")
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // options.jobs))
    os.environ[sandbox.ENV_SETTINGS] = sandbox.Settings(
        uid=options.uid_base + slot, limits=options.limits, isolate=options.isolate, workspace=workspace,
        hide=tuple(sandbox.hidden_paths(course.root, Path(__file__).resolve().parents[2]))).to_env()

    config = course.config()
    extra = Config()
    extra.CourseDirectory.db_url = _private_db_url(course, slot)
    extra.KernelManager.transport = "ipc"            # the kernel has no network, only files
    extra.KernelManager.ip = os.path.join(runtime, "kernel")
    extra.Autograde.autograde_preprocessors = [
        "course_lib.instructor.execute.GuardedExecute", "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
        "course_lib.instructor.trusted.TrustedGrade", "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata"]
    if options.timeout:
        extra.Execute.timeout = options.timeout
    config.merge(extra)
    _api = NbGraderAPI(config=config)


def _grade(chapter: str, learner: str) -> tuple[dict, int]:
    """nbgrader autograde for one learner and chapter: ({success, log, error}, worker slot)."""
    try:
        return dict(_api.autograde(chapter, learner, force=True, create=True)), _slot
    except Exception as error:  # noqa: BLE001 (a failure is reported, never raised)
        return {"success": False, "log": "", "error": f"{type(error).__name__}: {error}"}, _slot


# --- gradebooks: one private copy per worker, merged by the parent --------------------------

def _private_db_url(course: Course, slot: int) -> str:
    return f"sqlite:///{course.state / 'work' / f'gradebook-{slot}.db'}"


def _copy_gradebook(course: Course, slot: int) -> None:
    """Give worker ``slot`` a consistent copy of the gradebook (SQLite's backup, never a file copy)."""
    target = course.state / "work" / f"gradebook-{slot}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    with sqlite3.connect(course.gradebook) as source, sqlite3.connect(target) as copy:
        source.backup(copy)


GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_FIELDS = ("auto_comment", "manual_comment")


def merge(course: Course, slot: int, chapter: str, learner: str) -> None:
    """Copy one learner's graded submission from worker ``slot``'s gradebook into the course's (one commit)."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own add_submission warns; it is harmless
    with Gradebook(_private_db_url(course, slot), course.course_id) as src, \
            Gradebook(course.db_url, course.course_id) as dst:
        theirs = src.find_submission(chapter, learner)
        mine = dst.update_or_create_submission(chapter, learner)
        mine.timestamp, mine.extension = theirs.timestamp, theirs.extension
        for notebook in theirs.notebooks:
            target = dst.find_submission_notebook(notebook.name, chapter, learner)
            target.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                copy_fields(grade, dst.find_grade(grade.name, notebook.name, chapter, learner), GRADE_FIELDS)
            for comment in notebook.comments:
                copy_fields(comment, dst.find_comment(comment.name, notebook.name, chapter, learner),
                            COMMENT_FIELDS)
        dst.db.commit()


def copy_fields(source: object, target: object, names: tuple[str, ...]) -> None:
    for name in names:
        setattr(target, name, getattr(source, name))


# --- in the parent process --------------------------------------------------------------

def register(course: Course, chapter: str, release_directory: Path | None = None) -> None:
    """Make sure the gradebook knows the chapter's current source (cells, points, tests).

    nbgrader's generate_assignment records the source in the gradebook; it
    writes the learner version to ``release_directory`` (by default a scratch
    folder: ``course release`` passes ``exercises/``). Skipped when neither the
    source nor the gradebook changed since.
    """
    registered = course.read_json("registered.json", {})
    digest = course.digest(course.solutions / chapter)
    if release_directory is None and registered.get(chapter) == digest and course.gradebook.exists():
        return
    release = release_directory or course.state / "release"
    course.nbgrader("generate_assignment", chapter, "--force", f"--CourseDirectory.release_directory={release}")
    registered[chapter] = digest
    course.write_json("registered.json", registered)


def _events(notebook: nbformat.NotebookNode) -> list[str]:
    """What the sandbox and the time limits stopped, read from the graded notebook's errors."""
    found = []
    patterns = [
        ("CellTimeoutError|still running after|KeyboardInterrupt", "a cell ran out of time"),
        ("MemoryError|Cannot allocate memory", "the memory limit stopped a cell"),
        ("Read-only file system|Permission denied", "a write outside the learner's folder was refused"),
        ("Resource temporarily unavailable|BlockingIOError", "the process limit stopped a fork"),
        ("output cut here", "a cell printed too much; its output was cut"),
        ("the kernel stopped while", "the kernel stopped (exit, kill or limit); later cells were not run"),
        ("the kernel stopped answering", "the kernel stopped answering after a timeout; later cells were not run"),
        ("SystemExit", "the notebook called sys.exit()"),
    ]
    text = "\n".join(str(out.get("evalue", "")) + str(out.get("text", "")) + str(out.get("ename", ""))
                     for cell in notebook.cells for out in cell.get("outputs", []))
    for pattern, message in patterns:
        if re.search(pattern, text):
            found.append(message)
    return found


def _outcome(course: Course, chapter: str, learner: str, result: dict, notes: list[str]) -> Status:
    if not result.get("success"):
        lines = [line for line in (result.get("log", "") + "\n" + result.get("error", "")).splitlines()
                 if ("ERROR" in line or "Error" in line or "sandbox:" in line) and "above traceback" not in line]
        return Status("not graded", "nbgrader failed: " + (lines[-1].strip() if lines else "unknown error"))
    graded = [nbformat.read(path, as_version=4)
              for path in sorted((course.autograded / learner / chapter).glob("*.ipynb"))]
    for nb in graded:
        notes = notes + _events(nb)
    flag, trusted_notes = trusted.status_of(graded)
    return Status(flag or "graded", "; ".join(trusted_notes + notes))


def _ensure_students(course: Course, learners: set[str]) -> None:
    from nbgrader.api import Gradebook
    with Gradebook(course.db_url) as gb:
        for learner in sorted(learners):
            gb.update_or_create_student(learner)


def autograde(course: Course, chapters: list[str], options: Options) -> dict[str, dict[str, Status]]:
    """Grade every submission of ``chapters``; return chapter -> learner -> status."""
    statuses = {ch: {k: Status(**v) for k, v in table.items()}
                for ch, table in course.read_json(STATUS_FILE, {}).items()}
    sandbox.install_kernel(course.state / "jupyter")
    tasks = {}
    for chapter in chapters:
        register(course, chapter)
        done = statuses.setdefault(chapter, {})
        for learner in course.learners(chapter):
            digest = course.digest(course.submission(learner, chapter))
            if not options.force and learner in done and done[learner].digest == digest:
                continue
            try:
                notes = submissions.notes_on(course, learner, chapter)
            except submissions.Unreadable as error:
                done[learner] = Status("not graded", str(error), digest)
                continue
            tasks[(chapter, learner)] = (notes, digest)
    course.write_json(STATUS_FILE, _plain(statuses))
    if not tasks:
        return statuses
    _ensure_students(course, {learner for _, learner in tasks})

    if options.isolate and not sandbox.namespaces_allowed():
        print("warning: this machine does not allow namespaces: kernels run as another user with "
              "resource limits, but can read what that user may (see `course sandbox`)", file=sys.stderr)
        options = replace(options, isolate=False)
    for slot in range(options.jobs):
        _copy_gradebook(course, slot)
    workspace = sandbox.make_workspace()
    try:
        _run_pool(course, tasks, statuses, options, workspace)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)  # scratch copies of killed kernels, sockets
    return statuses


def _run_pool(course: Course, tasks: dict, statuses: dict[str, dict[str, Status]], options: Options,
              workspace: Path) -> None:
    """Grade ``tasks`` in ``options.jobs`` processes; merge and record each as it finishes."""
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for slot in range(options.jobs):
        slots.put(slot)
    with ProcessPoolExecutor(options.jobs, mp_context=context, initializer=_start_worker,
                             initargs=(str(course.root), options, str(workspace), slots)) as pool:
        futures = {pool.submit(_grade, ch, learner): (ch, learner) for ch, learner in tasks}
        bar = tqdm(as_completed(futures), total=len(futures), desc="autograde", unit="notebook",
                   file=sys.stderr)
        for future in bar:
            chapter, learner = futures[future]
            notes, digest = tasks[(chapter, learner)]
            try:
                result, slot = future.result()
            except Exception as error:  # noqa: BLE001 (a worker died: say so, go on)
                result, slot = {"success": False, "error": f"the grading process died ({error!r})"}, -1
            status = _outcome(course, chapter, learner, result, notes)
            if status.status in GRADED:
                merge(course, slot, chapter, learner)
                status.digest = digest
            statuses[chapter][learner] = status
            course.write_json(STATUS_FILE, _plain(statuses))


def _plain(statuses: dict[str, dict[str, Status]]) -> dict:
    return {ch: {learner: asdict(s) for learner, s in table.items()} for ch, table in statuses.items()}

"""The instructor's `course` command on Chapter 1: a zip of 30 good, partial, broken and hostile submissions and 16 tampering ones, to grades.

One module-scoped run (``course release``, ``collect``, ``autograde --jobs 2``,
``feedback``, ``grades``) in a temporary course folder; the tests read what it
left. The bad submissions are the files in ``tests/submissions/ch1/``.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.instructor import collect, sandbox
from course_lib.instructor.course import Course
from tests import pipeline

pytestmark = pytest.mark.xdist_group("instructor")
COURSE = [str(Path(sys.executable).parent / "course")]
SAMPLES = Path(__file__).resolve().parent / "submissions" / "ch1"
NAME = "neural_networks.ipynb"
FULL = 13.0
LAST = 2.0  # points of count_parameters, the answer the hostile samples replace

# sample -> (status, words the message must hold, score; None: not checked)
EXPECTED = {
    "invalid_json": ("not graded", "not a Jupyter notebook", 0.0),
    "empty": ("not graded", "empty file", 0.0),
    "other_assignment": ("not graded", "graded cells of ch1", 0.0),
    "deleted_cell": ("graded", "deleted and restored", FULL),
    "moved_cell": ("graded", "moved", FULL),  # the trusted grader runs every answer before any check
    "retyped_cell": ("graded", "changed to another type", FULL),
    "edited_test": ("graded", "edited and restored", FULL),
    "infinite_loop": ("graded", "ran out of time", FULL - LAST),
    "memory_bomb": ("graded", "memory limit", FULL - LAST),
    "huge_output": ("graded", "output was cut", FULL - LAST),
    "sys_exit": ("graded", "sys.exit()", FULL - LAST),
    "os_exit": ("graded", "kernel stopped", FULL - LAST),
    "kill_kernel": ("graded", "kernel stopped", FULL - LAST),
    "read_secrets": ("graded", "", None),
    "write_outside": ("graded", "", None),
    "fork_bomb": ("graded", "", FULL - LAST),
}
ISOLATED = sandbox.namespaces_allowed()
TAMPER_SAMPLES = Path(__file__).resolve().parent / "submissions" / "tamper"
FLAGS = ("tamper suspected", "review")
# tampering sample -> what it must end as: "tamper suspected", "review", or "zero" (no points, any status);
# whatever it is, never full credit unflagged (see tests/submissions/make.py, TAMPER)
# ("flagged": either flag; where the kernel also said "pass" to a failed check, "tamper suspected" wins)
TAMPER_EXPECTED = {
    "ast_transformer": "tamper suspected", "exception_handler": "flagged",
    "grading_functions_replaced": "flagged", "sys_modules_entry": "flagged", "redefined_asserts": "tamper suspected",
    "numpy_allclose": "flagged", "always_equal_int": "flagged", "ne_returns_false": "flagged",
    "default_argument": "zero", "closure": "zero", "patched_forbidden": "flagged", "frame_expected": "flagged",
    "exec_submissions_zip": "flagged", "exec_second_clone": "flagged", "worker_tripwire": "flagged",
    "builtins_patched": "flagged",
}


def course(folder: Path, *args: str, timeout: int = 600) -> str:
    result = subprocess.run(COURSE + ["--course-dir", str(folder), *args], capture_output=True, text=True,
                            timeout=timeout, env=pipeline.ENV)
    assert result.returncode == 0, f"course {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


def learner(sample: str) -> str:
    return sample.replace("_", "-")


def _mounts() -> str:
    return subprocess.run(["findmnt", "-rn"], capture_output=True, text=True).stdout


def _variant(alternative: int) -> nbformat.NotebookNode:
    """The solutions with every answer replaced by its known-right alternative number ``alternative``."""
    _, alternatives = pipeline.variants("ch1")
    source = nbformat.read(pipeline.COURSE.solutions / "ch1" / NAME, as_version=4)
    return pipeline.with_answers(source, {a: v[alternative] for a, v in alternatives.items()})


def _partial_learners() -> dict[str, nbformat.NotebookNode]:
    """Learners with one answer wrong (a known mistake, two per answer), the rest right: partial credit."""
    mutants, _ = pipeline.variants("ch1")
    source = nbformat.read(pipeline.COURSE.solutions / "ch1" / NAME, as_version=4)
    return {f"partial-{answer.replace('_', '-')}-{k}": pipeline.with_answers(source, {answer: wrong[k]})
            for answer, wrong in mutants.items() for k in (0, 1)}


def _grade_everything(root: Path) -> dict:
    """The whole sequence of the instructor guide on a zip of flat LMS files."""
    pipeline.course_folder(root, "ch1")
    with zipfile.ZipFile(root / "submissions.zip", "w") as archive:
        archive.write(pipeline.COURSE.solutions / "ch1" / NAME, f"export/Ana María_1001_{NAME}")
        archive.writestr(f"export/carl_1002_{NAME}", nbformat.writes(_variant(alternative=0)))
        archive.writestr(f"export/dana_1003_{NAME}", nbformat.writes(_variant(alternative=1)))
        archive.write(pipeline.COURSE.exercises / "ch1" / NAME, f"export/blank_1004_{NAME}")
        for name, notebook in _partial_learners().items():
            archive.writestr(f"export/{name}_1005_{NAME}", nbformat.writes(notebook))
        for path in sorted(SAMPLES.glob("*.ipynb")):
            archive.write(path, f"export/{learner(path.stem)}_2000_attempt_{NAME}")
        for path in sorted(TAMPER_SAMPLES.glob("*.ipynb")):
            archive.write(path, f"export/tamper-{learner(path.stem)}_3000_{NAME}")
    mounts = _mounts()
    out = {"release": course(root, "release"), "collect": course(root, "collect", str(root / "submissions.zip"))}
    out["autograde"] = course(root, "autograde", "--jobs", "2", "--timeout", "5", "--memory-mb", "1024",
                              "--processes", "64", "--cpu-seconds", "60")
    out["again"] = course(root, "autograde", "--jobs", "2")
    out["feedback"] = course(root, "feedback")
    out["grades"] = course(root, "grades")
    out["mounts_changed"] = mounts != _mounts()
    with open(root / "grades" / "grades.csv") as f:
        out["rows"] = {row["learner"]: row for row in csv.DictReader(f)}
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Grade once per test session, even when xdist spreads this module over workers (a file lock)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "instructor"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "out.json"
        if not done.exists():
            (shared / "course").mkdir()
            done.write_text(json.dumps(_grade_everything(shared / "course")))
    return shared / "course", json.loads(done.read_text())


def test_collect_reads_the_zip_and_normalises_names(run):
    root, out = run
    assert f"{30 + len(TAMPER_EXPECTED)} notebooks collected" in out["collect"], out["collect"]
    assert (root / "submitted" / "ana-maria" / "ch1" / NAME).is_file()
    assert len(out["rows"]) == 30 + len(TAMPER_EXPECTED)


def test_good_learners_get_full_marks_and_blank_gets_zero(run):
    _, out = run
    for name in ("ana-maria", "carl", "dana"):
        assert float(out["rows"][name]["score"]) == FULL and out["rows"][name]["status"] == "graded"
    assert float(out["rows"]["blank"]["score"]) == 0 and out["rows"]["blank"]["status"] == "graded"


def test_partial_learners_get_partial_credit(run):
    _, out = run
    partial = {name: row for name, row in out["rows"].items() if name.startswith("partial-")}
    assert len(partial) == 10
    for name, row in partial.items():
        assert row["status"] == "graded" and 0 < float(row["score"]) < FULL, row


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_bad_submission_has_status_message_and_score(run, sample):
    status, words, score = EXPECTED[sample]
    row = run[1]["rows"][learner(sample)]
    assert row["status"] == status and words in row["message"], row
    if score is not None:
        assert float(row["score"]) == score, row


def test_every_sample_is_in_a_test():
    assert {p.stem for p in SAMPLES.glob("*.ipynb")} == set(EXPECTED)
    assert {p.stem for p in TAMPER_SAMPLES.glob("*.ipynb")} == set(TAMPER_EXPECTED)
    assert len(TAMPER_EXPECTED) >= 14


@pytest.mark.parametrize("sample", sorted(TAMPER_EXPECTED))
def test_tampering_ends_flagged_or_at_zero(run, sample):
    """Issue 13: no tampering notebook gets full (or any) credit unflagged; honest learners beside them keep theirs."""
    row = run[1]["rows"][f"tamper-{learner(sample)}"]
    score, status, expected = float(row["score"]), row["status"], TAMPER_EXPECTED[sample]
    assert status in FLAGS or score == 0, row
    if expected == "zero":
        assert score == 0, row
    elif expected == "flagged":
        assert status in FLAGS, row
    else:
        assert status == expected, row
    if status == "tamper suspected":
        assert "test_" in row["message"], row  # the cells are named


def _output(root: Path, sample: str) -> str:
    nb = nbformat.read(root / "autograded" / learner(sample) / "ch1" / NAME, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "count_parameters")
    return "".join(o.get("text", "") for o in cell.outputs)


@pytest.mark.skipif(not ISOLATED, reason="this machine forbids namespaces: files are not hidden")
def test_learner_code_cannot_read_solutions_or_the_gradebook(run):
    assert "nothing leaked" in _output(run[0], "read_secrets")


def test_learner_code_cannot_write_outside_its_folder(run):
    root, _ = run
    assert "nothing written" in _output(root, "write_outside")
    assert not list(root.rglob("pwned.txt")) and not Path("/usr/pwned.txt").exists()


def test_the_fork_bomb_was_stopped_and_nothing_is_left_running(run):
    users = subprocess.run(["ps", "-eo", "uid="], capture_output=True, text=True).stdout.split()
    assert not [u for u in users if int(u) >= 64000]


def test_the_machine_mounts_are_unchanged(run):
    assert not run[1]["mounts_changed"]


def test_autograde_again_changes_nothing(run):
    root, out = run
    assert out["again"].splitlines()[0] == out["autograde"].splitlines()[0]
    with Gradebook(Course(root).db_url) as gb:
        graded = {s.student_id for s in gb.assignment_submissions("ch1")}
    assert graded == {name for name, row in out["rows"].items() if row["status"] in ("graded",) + FLAGS}


def test_feedback_has_no_hidden_tests(run):
    root, _ = run
    reports = list((root / "feedback").glob(f"*/ch1/{NAME[:-6]}.html"))
    assert len(reports) == sum(r["status"] in ("graded",) + FLAGS for r in run[1]["rows"].values())
    source = nbformat.read(pipeline.COURSE.solutions / "ch1" / NAME, as_version=4)
    for report in reports:
        text = report.read_text()
        assert "HIDDEN TESTS" not in text
        assert not [line for line in pipeline.hidden_lines(source) if line in text], report


def test_grades_summary_and_histogram(run):
    root, out = run
    assert "mean" in out["grades"] and "full_marks" in out["grades"]
    assert (root / "grades" / "summary.csv").is_file()
    assert (root / "grades" / "ch1_histogram.png").stat().st_size > 1000


def test_collect_folders_unknown_layout_and_force(tmp_path):
    root = tmp_path / "course"
    c = pipeline.course_folder(root, "ch1")
    folders = tmp_path / "folders"
    (folders / "Zoë" / "ch1").mkdir(parents=True)
    shutil.copy(pipeline.COURSE.exercises / "ch1" / NAME, folders / "Zoë" / "ch1" / NAME)
    assert collect.collect(c, folders).placed == ["zoe/ch1/" + NAME]
    shutil.copy(pipeline.COURSE.solutions / "ch1" / NAME, folders / "Zoë" / "ch1" / NAME)
    assert collect.collect(c, folders).kept and collect.collect(c, folders, force=True).placed
    odd = tmp_path / "odd"
    (odd / "readme.txt").parent.mkdir()
    (odd / "readme.txt").write_text("hello")
    (odd / "notes").mkdir()
    with pytest.raises(SystemExit, match="(?s)Unknown layout.*readme.txt"):
        collect.collect(c, odd)


def test_every_subcommand_has_help():
    for command in ("release", "collect", "autograde", "feedback", "grades", "sandbox"):
        out = subprocess.run(COURSE + [command, "--help"], capture_output=True, text=True, env=pipeline.ENV)
        assert out.returncode == 0 and "usage: course" in out.stdout


def test_learner_ids():
    assert collect.learner_id("Ana María") == "ana-maria"
    assert collect.learner_id("  O'Brien, Seán ") == "o-brien-sean"
    assert collect.learner_id("日本").startswith("learner-") and collect.learner_id("日本") != collect.learner_id("中国")
    assert os.sep not in collect.learner_id("../../etc")

"""``course``: the instructor's command, from release to grades (a thin layer over nbgrader).

    course release                      regenerate exercises/ from solutions/ and check them
    course collect PATH                 import submissions from a folder or a zip
    course autograde [--chapter C] [--jobs N]
    course feedback                     feedback HTML per learner, hidden tests removed
    course grades                       grades/grades.csv, grades/summary.csv, histograms
    course sandbox                      show what the grading sandbox enforces here

Every command works in the course folder (``--course-dir``, by default the
current folder); see ``course COMMAND --help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.instructor import autograde
from course_lib.instructor import collect as collecting
from course_lib.instructor import report, sandbox
from course_lib.instructor.course import Course
from course_lib.instructor.release import release


def _chapters(course: Course, chosen: list[str] | None) -> list[str]:
    known = course.chapters()
    unknown = sorted(set(chosen or []) - set(known))
    if unknown:
        raise SystemExit(f"unknown chapter(s) {', '.join(unknown)}; the course has {', '.join(known)}")
    return chosen or known


def cmd_release(course: Course, args: argparse.Namespace) -> None:
    chapters = _chapters(course, args.chapter)
    release(course, chapters)
    print(f"released {len(chapters)} chapter(s) into {course.exercises}: no solutions, no hidden tests")


def cmd_collect(course: Course, args: argparse.Namespace) -> None:
    result = collecting.collect(course, Path(args.path), force=args.force)
    for label in result.kept:
        print(f"kept (already collected, differs): {label}")
    for label in result.unplaced:
        print(f"unplaced: {label}")
    print(result.summary())


def cmd_autograde(course: Course, args: argparse.Namespace) -> None:
    options = autograde.Options(jobs=args.jobs, timeout=args.timeout, force=args.force,
                              limits=sandbox.Limits(cpu_seconds=args.cpu_seconds,
                                                    memory_bytes=args.memory_mb << 20,
                                                    processes=args.processes))
    if options.isolate and not sandbox.can_isolate():
        print("warning: not root on Linux, so kernels get resource limits only "
              "(no file, network or process isolation); see `course sandbox`", file=sys.stderr)
    statuses = autograde.autograde(course, _chapters(course, args.chapter), options)
    for chapter, table in statuses.items():
        counts: dict[str, int] = {}
        for status in table.values():
            counts[status.status] = counts.get(status.status, 0) + 1
        print(f"{chapter}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        for learner, status in sorted(table.items()):
            if status.message:
                print(f"  {learner}: {status.status}: {status.message}")


def cmd_feedback(course: Course, args: argparse.Namespace) -> None:
    reports = report.feedback(course, _chapters(course, args.chapter))
    print(f"{len(reports)} feedback reports in {course.feedback}")


def cmd_grades(course: Course, args: argparse.Namespace) -> None:
    summary = report.grades(course, _chapters(course, args.chapter))
    print(report.table(summary))
    print(f"\nwrote {course.grades / 'grades.csv'}, {course.grades / 'summary.csv'} and a histogram per chapter")


def cmd_sandbox(course: Course, args: argparse.Namespace) -> None:
    """Run a probe in the sandbox and print what it could and could not do."""
    isolate = sandbox.namespaces_allowed()
    if not sandbox.can_isolate():
        print("Not root on Linux: kernels get resource limits only.")
    elif not isolate:
        print("Namespaces are not allowed here: kernels run as another user with resource limits.")
    settings = sandbox.Settings(isolate=isolate,
                                hide=tuple(sandbox.hidden_paths(course.root, Path(__file__).resolve().parents[1])))
    course.state.mkdir(exist_ok=True)
    for what, outcome in sandbox.probe(course.state, settings).items():
        print(f"{what:50s} {outcome}")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    main.add_argument("--course-dir", default=".", help="the course folder (default: the current folder)")
    sub = main.add_subparsers(dest="command", required=True)

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    def chapter_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--chapter", action="append", help="only this chapter (repeatable; default: all)")

    chapter_option(command("release", cmd_release, "regenerate exercises/ from solutions/ and check them"))
    p = command("collect", cmd_collect, "import submissions from a folder or a zip (one folder per learner, "
                                        "or flat files <learner>_<anything>_<notebook>.ipynb)")
    p.add_argument("path", help="a folder or a .zip")
    p.add_argument("--force", action="store_true", help="replace submissions collected before")
    p = command("autograde", cmd_autograde, "autograde every submission with nbgrader, in parallel, sandboxed")
    chapter_option(p)
    p.add_argument("--jobs", type=int, default=2, help="learners graded at once (default 2)")
    p.add_argument("--timeout", type=int, help="seconds per cell (default: Execute.timeout of nbgrader_config.py)")
    p.add_argument("--force", action="store_true", help="grade again submissions graded before and unchanged")
    p.add_argument("--cpu-seconds", type=int, default=300, help="CPU time per kernel (default 300)")
    p.add_argument("--memory-mb", type=int, default=4096, help="address space per process (default 4096)")
    p.add_argument("--processes", type=int, default=256, help="processes and threads per kernel (default 256)")
    chapter_option(command("feedback", cmd_feedback, "feedback HTML per learner (hidden tests removed)"))
    chapter_option(command("grades", cmd_grades, "grades CSV, summary per exercise, histogram per chapter"))
    command("sandbox", cmd_sandbox, "try what a hostile notebook would try, and show what the sandbox stops")
    return main


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(Course.at(args.course_dir), args)


if __name__ == "__main__":
    main()

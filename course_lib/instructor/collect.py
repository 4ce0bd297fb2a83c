"""Import learners' submissions from a folder or a zip into nbgrader's ``submitted/``.

Two layouts are understood:

* one folder per learner: ``alice/ch1/neural_networks.ipynb`` or
  ``alice/neural_networks.ipynb``;
* flat files as learning-management systems export them:
  ``<learner>_<anything>_<notebook>.ipynb`` (the learner is the part before
  the first ``_``; the notebook is recognised by its name, else by its graded
  cells).

Learner ids are normalised (``"Ana María"`` -> ``"ana-maria"``). A file already
collected is never overwritten unless ``force``; one whose chapter cannot be
told (not a notebook, unknown name) is kept in ``.course/unplaced/``, so
nothing is lost.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.instructor import submissions
from course_lib.instructor.course import Course

IGNORED = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints")


@dataclass
class Report:
    """What ``collect`` did, file by file."""

    placed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)       # already there and different: not overwritten
    unplaced: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.placed)} notebooks collected, {len(self.unchanged)} unchanged, "
                f"{len(self.kept)} kept (already collected; --force replaces them), "
                f"{len(self.unplaced)} unplaced (see .course/unplaced/)")


def learner_id(name: str) -> str:
    """A learner id nbgrader and file systems accept: lower case ASCII letters, digits and dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    normal = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    # A name with no Latin letter at all still gets an id of its own.
    return normal or "learner-" + hashlib.sha256(name.strip().encode()).hexdigest()[:8]


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name not in IGNORED and not p.name.startswith("."))


def _unwrap(folder: Path, course: Course) -> Path:
    """A zip often holds one folder that holds everything: look inside it.

    A single folder is a wrapper unless it is a learner's own: one that holds
    chapter folders or notebooks under their released names.
    """
    own = set(course.chapters()) | set(_known_names(course))
    entries = _entries(folder)
    while len(entries) == 1 and entries[0].is_dir():
        inside = _entries(entries[0])
        if not inside or any(p.name in own for p in inside):
            break
        folder, entries = entries[0], inside
    return folder


def _known_names(course: Course) -> dict[str, str]:
    """Notebook file name -> chapter."""
    return {path.name: chapter for chapter in course.chapters() for path in course.notebooks(chapter)}


def _place_by_content(course: Course, path: Path) -> tuple[str, str] | None:
    try:
        return submissions.identify(course, submissions.read(path))
    except submissions.Unreadable:
        return None


def _target(course: Course, path: Path, name_hint: str, chapter_hint: str | None) -> tuple[str, str] | None:
    """(chapter, notebook name) for a submitted file."""
    names = _known_names(course)
    for name, chapter in names.items():
        if name_hint == name or name_hint.endswith("_" + name):
            return chapter_hint or chapter, name
    match = _place_by_content(course, path)
    if match:
        return (chapter_hint, match[1]) if chapter_hint else match
    return None


def _layout(root: Path) -> str:
    entries = _entries(root)
    if entries and all(p.is_dir() for p in entries):
        return "folders"
    if entries and all(p.is_file() and p.suffix == ".ipynb" and "_" in p.stem for p in entries):
        return "flat"
    found = "\n".join(f"  {p.relative_to(root)}{'/' if p.is_dir() else ''}" for p in entries[:20])
    raise SystemExit(
        "Unknown layout: expected one folder per learner (alice/ch1/notebook.ipynb) or flat files "
        "named <learner>_<anything>_<notebook>.ipynb. Found:\n" + (found or "  (nothing)"))


def _files(root: Path, course: Course) -> list[tuple[str, Path, str, str | None]]:
    """(learner, file, name hint, chapter hint) for every submitted file."""
    chapters = set(course.chapters())
    if _layout(root) == "flat":
        return [(learner_id(p.name.split("_", 1)[0]), p, p.name, None) for p in _entries(root)]
    out = []
    for folder in _entries(root):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(part in IGNORED for part in path.parts):
                parent = path.parent.name if path.parent != folder else None
                out.append((learner_id(folder.name), path, path.name, parent if parent in chapters else None))
    return out


def collect(course: Course, source: Path, force: bool = False) -> Report:
    """Copy every notebook of ``source`` (a folder or a .zip) into ``submitted/``."""
    report = Report()
    with tempfile.TemporaryDirectory() as scratch:
        if source.is_file() and zipfile.is_zipfile(source):
            _unzip(source, Path(scratch))
            root = _unwrap(Path(scratch), course)
        elif source.is_dir():
            root = _unwrap(source, course)
        else:
            raise SystemExit(f"{source} is neither a folder nor a zip file.")
        for learner, path, hint, chapter_hint in _files(root, course):
            target = _target(course, path, hint, chapter_hint)
            if target is None:
                dest = course.state / "unplaced" / learner / path.name
                report.unplaced.append(f"{learner}: {path.name}")
            else:
                dest = course.submission(learner, target[0]) / target[1]
            _copy(path, dest, force, report, f"{learner}/{dest.parent.name}/{dest.name}")
    return report


def _unzip(source: Path, folder: Path) -> None:
    """Extract a zip; names stored without the UTF-8 flag (most zip tools) are read as UTF-8 where they can be."""
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            if not info.flag_bits & 0x800:
                try:
                    info.filename = info.filename.encode("cp437").decode("utf-8")
                except UnicodeError:
                    pass
            archive.extract(info, folder)  # zipfile drops ".." and absolute parts of names


def _copy(path: Path, dest: Path, force: bool, report: Report, label: str) -> None:
    if dest.exists():
        if dest.read_bytes() == path.read_bytes():
            report.unchanged.append(label)
            return
        if not force:
            report.kept.append(label)
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    if "unplaced" not in dest.parts and ".course" not in dest.parts:
        report.placed.append(label)

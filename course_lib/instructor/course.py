"""The course folder: where nbgrader's files live, and a few facts about them.

A course folder holds ``nbgrader_config.py`` and ``solutions/`` (one folder
per chapter: the assignment ids). nbgrader adds ``exercises/``,
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db``; this
package adds ``grades/`` (reports) and ``.course/`` (its own state).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

BIN = Path(sys.executable).parent


class Course:
    """Paths and facts of one course folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.solutions = self.root / "solutions"
        self.exercises = self.root / "exercises"
        self.submitted = self.root / "submitted"
        self.autograded = self.root / "autograded"
        self.feedback = self.root / "feedback"
        self.grades = self.root / "grades"
        self.state = self.root / ".course"  # this package's own files (statuses, kernel spec)
        self.gradebook = self.root / "gradebook.db"
        # The gradebook, waiting up to a minute for a lock (parallel graders write to it).
        self.db_url = f"sqlite:///{self.gradebook}?timeout=60"

    @classmethod
    def at(cls, folder: str | Path) -> "Course":
        root = Path(folder).resolve()
        if not (root / "nbgrader_config.py").is_file() or not (root / "solutions").is_dir():
            raise SystemExit(f"{root} is not a course folder: it needs nbgrader_config.py and solutions/.")
        return cls(root)

    # --- what is in it ----------------------------------------------------------
    def chapters(self) -> list[str]:
        """Assignment ids: the folders of ``solutions/`` that hold notebooks."""
        return sorted(p.name for p in self.solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, chapter: str) -> list[Path]:
        """The source notebooks of a chapter."""
        return sorted((self.solutions / chapter).glob("*.ipynb"))

    def source(self, chapter: str, name: str) -> nbformat.NotebookNode:
        return nbformat.read(self.solutions / chapter / name, as_version=4)

    def learners(self, chapter: str | None = None) -> list[str]:
        """Learners with a submission (of ``chapter``, or of any chapter)."""
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir()
                      if p.is_dir() and (chapter is None or (p / chapter).is_dir()))

    def submission(self, learner: str, chapter: str) -> Path:
        return self.submitted / learner / chapter

    def digest(self, folder: Path) -> str:
        """A fingerprint of every file in a folder (to see whether it changed)."""
        h = hashlib.sha256()
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                h.update(str(path.relative_to(folder)).encode())
                h.update(path.read_bytes())
        return h.hexdigest()[:16]

    # --- running nbgrader -----------------------------------------------------------
    def nbgrader(self, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
        """Run the nbgrader command line in this folder; stop with its log if it fails."""
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=self.root, env=env,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0 or "[ERROR]" in result.stderr:
            raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def config(self):
        """nbgrader's configuration of this course, pointed at this folder and its gradebook."""
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        return config

    @property
    def course_id(self) -> str:
        return self.config().CourseDirectory.get("course_id", "default_course")

    def read_json(self, name: str, default: object) -> object:
        path = self.state / name
        return json.loads(path.read_text()) if path.is_file() else default

    def write_json(self, name: str, data: object) -> None:
        """Write a state file whole or not at all (rename is atomic)."""
        path = self.state / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)

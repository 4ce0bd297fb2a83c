"""No solution line and no hidden test reaches a learner or a reader."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from tests import pipeline

SITE = pipeline.ROOT / "book" / "_build" / "html"
# Lines too generic to be a leak (they also appear in stubs and ordinary code).
# "if mask is not None:" is the guard of any function with an optional mask, such as
# the library's gpt.attention, which Chapter 4 shows.
GENERIC = {"return h", "return out", "return total", "h = X", "total = 0", "import numpy as np",
           "if mask is not None:"}


def _secret_lines() -> dict[str, str]:
    """Each solution or hidden-test line -> where it comes from."""
    secrets = {}
    for chapter in pipeline.COURSE.chapters():
        for path in pipeline.COURSE.notebooks(chapter):
            nb = nbformat.read(path, as_version=4)
            for line in pipeline.solution_lines(nb) + pipeline.hidden_lines(nb):
                if len(line) >= 12 and line not in GENERIC and not line.startswith("#"):
                    secrets[line] = f"{chapter}/{path.name}"
    return secrets


def _visible_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def _leaks(files: list[Path]) -> list[str]:
    secrets = _secret_lines()
    found = []
    for path in files:
        text = _visible_text(path)
        found += [f"{path}: {line!r} (from {src})" for line, src in secrets.items() if line in text]
    return found


def test_there_are_secrets_to_look_for():
    assert len(_secret_lines()) >= 10


def test_exercises_hold_no_solution_or_hidden_test():
    files = list(pipeline.COURSE.exercises.rglob("*.ipynb"))
    assert files
    leaks = _leaks(files)
    assert not leaks, "\n".join(leaks[:10])


def test_built_site_holds_no_solution_or_hidden_test():
    if not SITE.exists():
        pytest.fail("book/_build/html is missing: run `make book` (make test does it first)")
    files = [p for p in SITE.rglob("*") if p.is_file() and p.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".py"}]
    leaks = _leaks(files)
    assert not leaks, "\n".join(leaks[:10])


def test_the_leak_check_catches_a_leak(tmp_path):
    line = next(iter(_secret_lines()))
    page = tmp_path / "page.html"
    page.write_text(f"<pre><span>{html.escape(line)}</span></pre>")
    assert _leaks([page])

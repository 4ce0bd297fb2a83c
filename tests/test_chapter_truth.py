"""The chapters keep their promise: what they say is checked when the book is built.

* Every chapter asserts its claims in cells readers do not see (at least
  ``MIN_CLAIMS`` calls of ``course_lib.claims.claim`` in ``remove-cell`` cells).
* Reader-facing cells hold teaching code only: publishing code (``glue``,
  ``Markdown``, thread settings, claims) lives in ``remove-cell`` cells.
* A number in the prose or a caption that a chapter also computes is glued,
  never typed: after the book is built, every number written in the text is
  compared with the values the chapter glued (``book/_build/jupyter_execute``).
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import jupytext
import pytest

from tests.pipeline import ROOT

CHAPTERS = sorted((ROOT / "book" / "chapters").glob("*.md"))
EXECUTED = ROOT / "book" / "_build" / "jupyter_execute" / "chapters"
MIN_CLAIMS = 8
PUBLISHING = ("glue", "Markdown", "set_num_threads", "one_thread", "claim")


def _cells(chapter: Path) -> list:
    return jupytext.read(chapter).cells


def _hidden(cell) -> bool:
    return "remove-cell" in cell.metadata.get("tags", [])


def _called_names(source: str) -> list[str]:
    """The names of the functions a cell calls (``f(...)`` and ``obj.f(...)``)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            names.append(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def _code(cell) -> str:
    """A code cell's Python, without IPython's magics and shell lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_asserts_its_claims(chapter):
    claims = [name for cell in _cells(chapter) if cell.cell_type == "code" and _hidden(cell)
              for name in _called_names(_code(cell)) if name == "claim"]
    assert len(claims) >= MIN_CLAIMS, (
        f"{chapter.name} asserts {len(claims)} claims; every qualitative claim that depends on a "
        f"computed result needs `claim(...)` in a remove-cell cell (at least {MIN_CLAIMS} per chapter)")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_reader_cells_hold_teaching_code_only(chapter):
    shown = [(i, name) for i, cell in enumerate(_cells(chapter)) if cell.cell_type == "code" and not _hidden(cell)
             for name in _called_names(_code(cell)) if name in PUBLISHING]
    assert not shown, (f"{chapter.name}: publishing code in cells readers see (cell, call): {shown}; "
                       "move it to a cell tagged remove-cell")


# --- numbers in the prose --------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.\-])(\d+(?:,\d{3})*(?:\.\d+)?)(\s?%)?(?![\w])")
STRIP = [
    re.compile(r"```.*?```", re.S),            # fenced code and directives
    re.compile(r"\$\$.*?\$\$", re.S),          # display math
    re.compile(r"\$[^$\n]+\$"),                # inline math
    re.compile(r"\{[\w:-]+\}`[^`]*`"),         # roles: {glue:text}`...`, {term}`...`, {numref}`...`
    re.compile(r"`[^`]*`"),                    # inline code
    re.compile(r"\]\([^)]*\)"),                # link targets
    re.compile(r"<!--.*?-->", re.S),           # comments
    re.compile(r"^\(.*\)=\s*$", re.M),         # labels
    re.compile(r"^#+ .*$", re.M),              # headings ("## 4. Transformers")
]


def _prose(chapter: Path) -> str:
    """The chapter's Markdown text and figure captions, without code, math or roles."""
    parts = []
    for cell in _cells(chapter):
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        elif cell.cell_type == "code":
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            parts.append(str(figure.get("caption", "")))
    text = "\n\n".join(parts)
    for pattern in STRIP:
        text = pattern.sub(" ", text)
    return text


def _glued_numbers(chapter: Path) -> dict[str, float]:
    path = EXECUTED / f"{chapter.stem}.glue.json"
    if not path.exists():
        return {}
    values = {}
    for name, output in json.loads(path.read_text(encoding="utf-8")).items():
        try:
            value = float(output.get("data", {}).get("text/plain", "").strip("'\""))
        except ValueError:
            continue
        if math.isfinite(value):
            values[name] = value
    return values


def _matches(written: str, percent: bool, value: float) -> bool:
    """Does the number as written equal ``value`` rounded the way it is written?"""
    number = float(written.replace(",", ""))
    decimals = len(written.split(".")[1]) if "." in written else 0
    candidates = [value] + ([100 * value] if percent else [])
    return any(round(c, decimals) == number for c in candidates)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_numbers_in_the_prose_that_the_chapter_computes_are_glued(chapter):
    if not EXECUTED.exists():
        pytest.fail("book/_build/jupyter_execute is missing: run `make book` (make test does it first)")
    glued = _glued_numbers(chapter)
    typed = []
    for match in NUMBER.finditer(_prose(chapter)):
        written, percent = match.group(1), bool(match.group(2))
        plain = float(written.replace(",", ""))
        if not ("." in written or percent or plain >= 10) or 1900 <= plain <= 2100:
            continue  # small whole numbers (chapters, counts of things) and years
        same = [name for name, value in glued.items() if _matches(written, percent, value)]
        if same:
            typed.append(f"{match.group(0).strip()} (computed as {same[0]})")
    assert not typed, (f"{chapter.name} types numbers it computes; glue them instead: " + "; ".join(typed))

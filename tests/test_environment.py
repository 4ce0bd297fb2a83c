"""pyproject.toml and environment.yml pin the same stack; each kind of user installs only what it needs."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.pipeline import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SELF = re.compile(r"^course_lib\[")  # an extra that includes other extras


def _pins() -> list[str]:
    """Every pinned requirement: the base install and every extra."""
    extras = [d for deps in PROJECT["optional-dependencies"].values() for d in deps if not SELF.match(d)]
    return PROJECT["dependencies"] + extras


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[=<>\[]", r)[0] for r in requirements}


def test_conda_environment_pins_what_pyproject_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(_pins()) == sorted(p for p in pip_list if not p.startswith("-e "))
    assert '-e ".[dev]"' in pip_list
    assert "python=3.11" in env["dependencies"]


def test_every_dependency_is_pinned():
    assert all("==" in d for d in _pins()), _pins()
    assert "torch==2.13.0" in PROJECT["dependencies"]


def test_a_learner_installs_no_grading_book_or_test_tools():
    """`pip install -e .` gives a learner the chapters and exercises, nothing of the instructor's or the tests'."""
    base = _names(PROJECT["dependencies"])
    assert {"torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab"} <= base
    assert not base & {"nbgrader", "jupyter-book", "playwright", "pytest", "nbval", "pytest-xdist"}
    extras = PROJECT["optional-dependencies"]
    assert _names(extras["instructor"]) == {"nbgrader"}
    assert _names(extras["book"]) == {"jupyter-book"}
    assert "course_lib[instructor,book]" in extras["dev"]

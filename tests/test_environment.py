"""pyproject.toml and environment.yml pin the same stack."""

from __future__ import annotations

import tomllib

import yaml

from tests.pipeline import ROOT


def test_conda_environment_pins_what_pyproject_pins():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pyproject) == sorted(p for p in pip_list if p != "-e .")
    assert "-e ." in pip_list
    assert "python=3.11" in env["dependencies"]


def test_every_dependency_is_pinned():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all("==" in d for d in pyproject), pyproject
    assert "torch==2.13.0" in pyproject

"""Every solution notebook passes its own tests; every exercise fails them (unsolved)."""

from __future__ import annotations

import pytest
from nbgrader.validator import Validator

from tests import pipeline

SOLUTIONS = [p for ch in pipeline.COURSE.chapters() for p in pipeline.COURSE.notebooks(ch)]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_solution_passes_its_tests(path):
    result = Validator().validate(str(path))
    assert not result, f"{path.name} fails its own tests: {result}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_released_exercise_is_unsolved(path):
    released = pipeline.COURSE.exercises / path.parent.name / path.name
    validator = Validator()
    validator.invert = True
    result = validator.validate(str(released))
    assert not result, f"{released.name} passes some tests without any answer: {result}"

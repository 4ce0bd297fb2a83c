"""exercises/ is exactly what nbgrader makes of solutions/, and never runs ahead of it."""

from __future__ import annotations

import pytest

from tests import pipeline


@pytest.mark.parametrize("chapter", pipeline.chapters())
def test_exercises_are_generated_from_solutions(chapter, tmp_path):
    pipeline.nbgrader(pipeline.ROOT, "generate_assignment", chapter, "--no-db", "--force",
                      f"--CourseDirectory.release_directory={tmp_path}")
    generated = sorted(p.name for p in (tmp_path / chapter).glob("*.ipynb"))
    committed = sorted(p.name for p in (pipeline.EXERCISES / chapter).glob("*.ipynb"))
    assert generated == committed, f"{chapter}: exercises/ holds {committed}, nbgrader makes {generated}"
    for name in generated:
        fresh = (tmp_path / chapter / name).read_bytes()
        assert (pipeline.EXERCISES / chapter / name).read_bytes() == fresh, (
            f"exercises/{chapter}/{name} differs from what nbgrader generates; run `make release`"
        )


def test_no_exercise_without_a_solution():
    released = sorted(p.name for p in pipeline.EXERCISES.iterdir() if p.is_dir())
    assert released == pipeline.chapters()

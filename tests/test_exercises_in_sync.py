"""Generated files stay in step with their sources: exercises/ is exactly what `course release`
makes of solutions/ (and never runs ahead of it), and the sample submissions are what
tests/submissions/make.py makes of the current Chapter 1."""

from __future__ import annotations

import pytest

from tests import pipeline


@pytest.mark.parametrize("chapter", pipeline.COURSE.chapters())
def test_exercises_are_generated_from_solutions(chapter, tmp_path):
    course = pipeline.released_course(tmp_path, chapter)  # what `make release` and `course release` run
    generated = sorted(p.name for p in (course.exercises / chapter).glob("*.ipynb"))
    committed = sorted(p.name for p in (pipeline.COURSE.exercises / chapter).glob("*.ipynb"))
    assert generated == committed, f"{chapter}: exercises/ holds {committed}, nbgrader makes {generated}"
    for name in generated:
        fresh = (course.exercises / chapter / name).read_bytes()
        assert (pipeline.COURSE.exercises / chapter / name).read_bytes() == fresh, (
            f"exercises/{chapter}/{name} differs from what nbgrader generates; run `make release`"
        )


def test_no_exercise_without_a_solution():
    released = sorted(p.name for p in pipeline.COURSE.exercises.iterdir() if p.is_dir())
    assert released == pipeline.COURSE.chapters()


def test_sample_submissions_are_made_from_the_current_notebooks():
    """The instructor tests grade tests/submissions/: they must be what make.py makes of today's Chapter 1."""
    from tests.submissions import make

    stale = [str(path.relative_to(pipeline.ROOT)) for path, text in make.samples().items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    assert not stale, f"{stale} differ from what tests/submissions/make.py writes; run `.venv/bin/python -m tests.submissions.make`"

"""The real nbgrader round trip, chapter by chapter.

For each chapter: generate the assignment, submit the solutions (full marks),
the untouched exercises (zero, no crash), the common mistakes (each loses
points on its answer) and correct alternatives (full marks), autograde them
all in one nbgrader run (every score decided by the trusted grader, which
``nbgrader_config.py`` puts before SaveAutoGrades), and check the feedback
hides the hidden tests.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor import trusted
from course_lib.instructor.report import cell_scores
from course_lib.instructor.submissions import answer_ids
from tests import pipeline

CHAPTERS = [pytest.param(ch, marks=pytest.mark.xdist_group(ch)) for ch in pipeline.COURSE.chapters()]
# A bug in an earlier answer costs that answer's points only: (answer, index of its mutant), each
# submitted alone (every other answer right); no other answer's test cell may lose a point.
CHARGED_ONCE = {
    "ch4": [("attention", 0),             # no scaling by sqrt(d_k)
            ("multi_head_attention", 3)],  # heads merged without swapping the axes back
}


@pytest.fixture(scope="module", params=CHAPTERS)
def graded(request, tmp_path_factory):
    """Autograde every kind of submission of one chapter; return what came out."""
    chapter = request.param
    course = pipeline.released_course(tmp_path_factory.mktemp(chapter), chapter)
    sources = {p.name: nbformat.read(p, as_version=4) for p in pipeline.COURSE.notebooks(chapter)}
    released = {name: nbformat.read(course.exercises / chapter / name, as_version=4) for name in sources}
    mutants, alternatives = pipeline.variants(chapter)

    pipeline.submit(course, "perfect", chapter, sources)
    pipeline.submit(course, "blank", chapter, released)
    for kind, table in (("mutant", mutants), ("alt", alternatives)):
        for k in range(max(len(v) for v in table.values())):
            chosen = {answer: versions[k] for answer, versions in table.items() if k < len(versions)}
            pipeline.submit(course, f"{kind}{k}", chapter,
                            {name: pipeline.with_answers(nb, chosen) for name, nb in sources.items()})
    for answer, k in CHARGED_ONCE.get(chapter, []):
        pipeline.submit(course, f"solo-{answer}-{k}", chapter,
                        {name: pipeline.with_answers(nb, {answer: mutants[answer][k]}) for name, nb in sources.items()})
    course.nbgrader("autograde", chapter)
    course.nbgrader("generate_feedback", chapter)
    return chapter, course, sources, cell_scores(course, chapter)


def _answers(sources):
    for name, nb in sources.items():
        for answer in answer_ids(nb):
            yield answer, pipeline.test_ids(nb, answer)


def test_every_answer_has_tests_mutants_and_alternatives(graded):
    chapter, _, sources, _ = graded
    mutants, alternatives = pipeline.variants(chapter)
    for answer, tests in _answers(sources):
        assert tests, f"{chapter}: answer {answer} has no test cell named test_{answer}_..."
        assert len(mutants.get(answer, [])) >= 5, f"{chapter}: {answer} needs at least 5 mutants"
        assert len(alternatives.get(answer, [])) >= 2, f"{chapter}: {answer} needs at least 2 alternatives"
        points = sum(c.metadata["nbgrader"]["points"] for nb in sources.values() for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") in tests)
        assert len(tests) >= 2 or points == 1, f"{chapter}: split {answer}'s points over several test cells"


def test_solutions_get_full_marks(graded):
    chapter, _, _, scores = graded
    lost = {cell: s for cell, s in scores["perfect"].items() if s[0] < s[1]}
    assert scores["perfect"] and not lost, f"{chapter}: the solutions lose points in {lost}"


def test_untouched_exercises_get_zero(graded):
    chapter, _, _, scores = graded
    earned = {cell: s for cell, s in scores["blank"].items() if s[0] > 0}
    assert scores["blank"] and not earned, f"{chapter}: an unanswered notebook earns points in {earned}"


def test_every_mutant_loses_points_on_its_answer(graded):
    chapter, _, sources, scores = graded
    mutants, _ = pipeline.variants(chapter)
    for answer, tests in _answers(sources):
        for k, source in enumerate(mutants[answer]):
            got = sum(scores[f"mutant{k}"][t][0] for t in tests)
            full = sum(scores[f"mutant{k}"][t][1] for t in tests)
            assert got < full, f"{chapter}: mutant {k} of {answer} keeps full marks:\n{source}"


def test_a_bug_costs_only_its_own_answers_points(graded):
    """One bug charged once: the checks of later answers run with the course's earlier functions."""
    chapter, _, sources, scores = graded
    tests = dict(_answers(sources))
    for answer, k in CHARGED_ONCE.get(chapter, []):
        got = scores[f"solo-{answer}-{k}"]
        own = set(tests[answer])
        assert sum(got[t][0] for t in own) < sum(got[t][1] for t in own), f"{chapter}: {answer} mutant {k} keeps its points"
        lost = {cell: s for cell, s in got.items() if cell not in own and s[0] < s[1]}
        assert not lost, f"{chapter}: a bug in {answer} (mutant {k}) also costs {lost}"


def test_every_alternative_keeps_full_marks(graded):
    chapter, _, sources, scores = graded
    _, alternatives = pipeline.variants(chapter)
    for answer, tests in _answers(sources):
        for k, source in enumerate(alternatives[answer]):
            lost = {t: scores[f"alt{k}"][t] for t in tests if scores[f"alt{k}"][t][0] < scores[f"alt{k}"][t][1]}
            assert not lost, f"{chapter}: alternative {k} of {answer} loses points {lost}:\n{source}"


def test_the_trusted_grader_decided_every_score_and_flags_no_honest_learner(graded):
    """Every graded cell's score came from course_grader; no honest submission is flagged."""
    chapter, course, sources, _ = graded
    cells = sum(1 for nb in sources.values() for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
    for path in sorted(course.autograded.glob(f"*/{chapter}/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        verdict = nb.metadata.get(trusted.METADATA)
        learner = path.parent.parent.name
        assert verdict and verdict["checked"] == cells, f"{chapter}/{learner}: not graded by the trusted grader"
        assert not verdict["tamper"] and not verdict["review"], f"{chapter}/{learner} flagged: {verdict}"


def _text(path: Path) -> str:
    """The visible text of an HTML file, tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def test_feedback_shows_messages_not_hidden_tests(graded):
    chapter, course, sources, _ = graded
    hidden = {line for nb in sources.values() for line in pipeline.hidden_lines(nb)}
    reports = list(course.feedback.rglob("*.html"))
    assert len(reports) >= 2, "nbgrader generate_feedback wrote no reports"
    for report in reports:
        text = _text(report)
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{report.relative_to(course.root)} shows hidden test lines: {leaked[:3]}"
    mutant_report = _text(next((course.feedback / "mutant0").rglob("*.html")))
    assert "expected" in mutant_report, "a mutant's feedback should carry the checks' messages"

"""The built website: every page of the table of contents, with its figures, and no errors."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tests.pipeline import ROOT

# The built site under test; COURSE_SITE_DIR points at another build (e.g. of a
# copy of book/), whose table of contents is then the one in its book folder.
SITE = Path(os.environ.get("COURSE_SITE_DIR") or ROOT / "book" / "_build" / "html")
BOOK = SITE.parent.parent


def _toc_files() -> list[str]:
    """Every page of the table of contents, in order (sections included)."""
    def pages(entries: list[dict]) -> list[str]:
        return [name for entry in entries
                for name in ([entry["file"]] if "file" in entry else []) + pages(entry.get("sections", []))]

    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    return [toc["root"]] + pages([chapter for part in toc.get("parts", []) for chapter in part["chapters"]])


@pytest.fixture(scope="module")
def site():
    if not (SITE / "intro.html").exists():
        pytest.fail("book/_build/html is missing: run `make book` (make test does it first)")
    return SITE


@pytest.mark.parametrize("page", _toc_files())
def test_every_toc_page_is_built_without_errors(site, page):
    text = (site / f"{page}.html").read_text(encoding="utf-8")
    assert "<h1" in text
    for marker in ("Traceback (most recent call last)", "Error executing", "output_stderr"):
        assert marker not in text, f"{page}.html shows {marker!r}"


@pytest.mark.parametrize("page", [f for f in _toc_files() if f.startswith("chapters/") or f == "intro"])
def test_chapters_show_their_figures(site, page):
    text = (site / f"{page}.html").read_text(encoding="utf-8")
    figures = re.findall(r'<img[^>]+src="([^"]+\.png)"', text)
    # the Welcome page's pipeline is an SVG drawn into the page, so that its boxes are links
    inline_svg_figure = re.search(r'<figure[^>]*>(?:(?!</figure>).)*<svg[^>]*role="img"', text, re.S)
    assert figures or inline_svg_figure, f"{page}.html has no figure"
    for src in figures:
        assert (site / page).parent.joinpath(src).resolve().exists(), f"{page}.html: missing image {src}"


def test_exercise_pages_are_learner_versions_not_executed(site):
    for page in (f for f in _toc_files() if f.startswith("exercises/")):
        text = (site / f"{page}.html").read_text(encoding="utf-8")
        assert "NotImplementedError" in text, f"{page}: the learner's stubs should show"
        assert "cell_output docutils container" not in text, f"{page}: exercise pages are shown without running them"


def test_chapter_one_demos_report_computed_results(site):
    text = (site / "chapters" / "01_neural_networks.html").read_text(encoding="utf-8")
    accuracies = [int(a) for a in re.findall(r"test accuracy: (\d+)%", text)]
    assert len(accuracies) == 4
    assert min(accuracies[1], accuracies[3]) > 90 and max(accuracies[0], accuracies[2]) < 75
    assert re.search(r"GPT-3 in total: +17\d,\d{3},\d{3},\d{3}", text)

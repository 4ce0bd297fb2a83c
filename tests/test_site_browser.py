"""The built website in a real browser, as a reader gets it, with no network
but 127.0.0.1: every page of the table of contents loads without a console error,
a failed request or a request to another host; its math is typeset, its images
load, its widgets render, its figures are numbered with captions and alt text.
Search works, and each exercise page offers its notebook for download.

Each page is saved as a full-page screenshot under screenshots/light/ (not
committed); `make screenshots` also saves the dark theme, in screenshots/dark/
(COURSE_SCREENSHOT_THEMES="light dark"). COURSE_SITE_DIR tests another build
than book/_build/html (see tests/test_book.py).
"""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from tests.browser import SCREENSHOTS, PageWatch, chromium, serve
from tests.pipeline import ROOT
from tests.test_book import BOOK, SITE, _toc_files

pytestmark = pytest.mark.xdist_group("site_browser")

PAGES = _toc_files()
THEMES = os.environ.get("COURSE_SCREENSHOT_THEMES", "light").split()
CHAPTERS = [page for page in PAGES if page.startswith("chapters/")]
EXERCISES = [page for page in PAGES if page.startswith("exercises/")]

# Resolves once MathJax has typeset the page (at once on a page without math).
WAIT_FOR_MATH = """async () => {
    if (!document.querySelector('script[src*="mathjax"]')) return;
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
        await new Promise(resolve => setTimeout(resolve, 50));
    }
    await MathJax.startup.promise;
}"""

# What a reader would see go wrong, as a list of sentences.
PAGE_PROBLEMS = r"""() => {
    const problems = [];
    const article = document.querySelector('article') || document.body;
    for (const math of article.querySelectorAll('.math')) {
        if (!math.querySelector('mjx-container')) problems.push('math left as TeX: ' + math.textContent.slice(0, 60));
        if (math.querySelector('mjx-merror')) problems.push('math with a TeX error: ' + math.textContent.slice(0, 60));
    }
    // TeX that never became math (e.g. a delimiter MyST did not parse), outside code.
    const text = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, node =>
        node.parentElement.closest('pre, code, script, style, mjx-container, .math') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT);
    while (text.nextNode()) {
        const tex = text.currentNode.textContent.match(/\$\$|\\\(|\\\[|\\(frac|sum|mathrm|begin)\b/);
        if (tex) problems.push('TeX left in the text: ' + text.currentNode.textContent.trim().slice(0, 60));
    }
    for (const img of document.querySelectorAll('img')) {
        if (!img.complete || img.naturalWidth === 0) problems.push('image did not load: ' + img.getAttribute('src'));
    }
    for (const view of document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')) {
        const area = view.previousElementSibling;
        if (!area || !area.classList.contains('widget-subarea') || !area.children.length) {
            problems.push('widget not rendered: ' + view.textContent.slice(0, 80));
        }
    }
    return problems;
}"""

# Every picture in a chapter is a numbered figure with a caption and alt text.
FIGURE_PROBLEMS = """() => {
    const problems = [];
    for (const img of document.querySelectorAll('article img')) {
        const src = img.getAttribute('src');
        const alt = (img.getAttribute('alt') || '').trim();
        if (alt.length < 10 || src.includes(alt)) problems.push('no real alt text: ' + src);
        const figure = img.closest('figure');
        const number = figure && figure.querySelector('figcaption .caption-number');
        if (!number || !/^Fig\\. \\d+/.test(number.textContent.trim())) problems.push('not a numbered figure: ' + src);
        else if (figure.querySelector('figcaption').textContent.trim().length < 20) problems.push('caption too short: ' + src);
    }
    return problems;
}"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def _new_page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    return page


@pytest.fixture(scope="module")
def site_page(browser):
    """A browser tab on the built site, served from 127.0.0.1, and its PageWatch."""
    if not (SITE / "intro.html").exists():
        pytest.fail(f"{SITE} is missing: run `make book` (make test does it first)")
    with serve(SITE) as base_url:
        page = _new_page(browser)
        yield page, PageWatch(page), base_url
        page.close()


def _open(site_page, path: str):
    page, watch, base_url = site_page
    watch.take()
    page.goto(f"{base_url}/{path}", wait_until="load")
    page.evaluate(WAIT_FOR_MATH)
    return page, watch


def _screenshot(page, name: str) -> None:
    """Full-page screenshots in each theme of THEMES."""
    for theme in THEMES:
        page.evaluate("theme => { document.documentElement.dataset.theme = theme; document.documentElement.dataset.mode = theme; }", theme)
        path = SCREENSHOTS / theme / f"{name.replace('/', '_')}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    page.evaluate("() => { document.documentElement.dataset.theme = 'light'; document.documentElement.dataset.mode = 'light'; }")


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders_offline(site_page, page_name):
    page, watch = _open(site_page, f"{page_name}.html")
    # Widgets render after the page has loaded: give the widget manager its moment.
    page.wait_for_function("""() => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
        .every(view => view.previousElementSibling && view.previousElementSibling.classList.contains('widget-subarea'))""")
    _screenshot(page, page_name)
    problems = page.evaluate(PAGE_PROBLEMS)
    if page_name in CHAPTERS or page_name == "intro":
        problems += page.evaluate(FIGURE_PROBLEMS)
    problems += watch.take()
    assert not problems, f"{page_name}.html:\n" + "\n".join(problems)


def _widget_demo_page() -> str:
    """A page like the book's pages with a saved widget (a slider): the scripts
    the site loads for widgets (nb_ipywidgets_js in _config.yml), its state and its view."""
    import ipywidgets
    from ipywidgets.embed import embed_data

    config = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))
    scripts = "".join(f'<script src="_static/{src}"></script>' for src in config["sphinx"]["config"]["nb_ipywidgets_js"])
    saved = embed_data(views=[ipywidgets.IntSlider(value=7, description="knob")])
    state = json.dumps(saved["manager_state"])
    view = json.dumps(saved["view_specs"][0])
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8">{scripts}'
            f'<script type="application/vnd.jupyter.widget-state+json">{state}</script></head>'
            f'<body><article><script type="application/vnd.jupyter.widget-view+json">{view}</script></article></body></html>')


def test_saved_widgets_render_offline(browser, tmp_path):
    """The chapters show widgets as static figures, yet a page with a saved
    widget state renders it with the site's own widget manager, no CDN."""
    (tmp_path / "_static").symlink_to(SITE / "_static")
    (tmp_path / "widget.html").write_text(_widget_demo_page(), encoding="utf-8")
    with serve(tmp_path) as base_url:
        page = _new_page(browser)
        watch = PageWatch(page)
        page.goto(f"{base_url}/widget.html", wait_until="load")
        page.locator(".widget-subarea .widget-slider").wait_for()
        page.wait_for_load_state("networkidle")
        assert "knob" in page.locator(".widget-subarea").inner_text()
        assert not page.evaluate(PAGE_PROBLEMS) + watch.take()
        page.close()


def test_math_is_typeset_on_the_chapter_pages(site_page):
    page, _ = _open(site_page, f"{CHAPTERS[0]}.html")
    assert page.locator("article mjx-container").count() > 3


def test_site_has_its_favicon_and_logo(site_page):
    page, watch = _open(site_page, "intro.html")
    favicon = page.locator('link[rel="icon"]').get_attribute("href")
    response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + favicon)
    assert response.ok and b"<svg" in response.body()
    assert page.locator("img.logo__image").first.is_visible()
    assert not watch.take()


def _search(site_page, word: str) -> list[str]:
    page, watch = _open(site_page, f"search.html?q={word}")
    page.wait_for_function("() => /Search finished/.test(document.querySelector('#search-results')?.textContent || '')")
    assert not watch.take()
    return [href.split("#")[0].split("?")[0].removeprefix("./") for href in page.locator("#search-results ul.search li a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")]


def test_search_finds_the_chapter_about_a_word(site_page):
    # "attention" is Chapter 4's subject; before Chapter 4 exists, Chapter 1's "neuron" will do.
    chapter_4 = {f"{page}.html" for page in CHAPTERS if page.startswith("chapters/04")}
    word, expected = ("attention", chapter_4) if chapter_4 else \
        ("neuron", {f"{page}.html" for page in CHAPTERS if page.startswith("chapters/01")})
    assert expected, "the table of contents has no Chapter 1"
    found = set(_search(site_page, word))
    assert expected <= found, f"searching {word!r} found {sorted(found)}, expected at least {sorted(expected)}"


@pytest.mark.parametrize("page_name", EXERCISES)
def test_exercise_page_offers_the_notebook_for_download(site_page, page_name):
    page, watch = _open(site_page, f"{page_name}.html")
    link = page.locator('.dropdown-download-buttons a[href$=".ipynb"]')
    assert link.count() == 1, "the download menu should offer the .ipynb"
    response = page.request.get(link.evaluate("a => a.href"))
    assert response.ok
    downloaded = json.loads(response.body())
    original = json.loads((ROOT / f"{page_name}.ipynb").read_text(encoding="utf-8"))
    assert downloaded["cells"] == original["cells"], "the download should be the learner's notebook"
    assert not watch.take()


def test_launch_buttons_point_at_files_in_the_repository(site_page):
    """Launch buttons come with a repository address (book/_ext/site_config.py).
    The launch links of an exercise page open `exercises/...` (the file in the
    repository) and those of a Markdown chapter offer no Colab (it opens only .ipynb)."""
    page, _ = _open(site_page, f"{EXERCISES[0]}.html")
    exercise_links = page.locator(".dropdown-launch-buttons a").evaluate_all("links => links.map(a => a.href)")
    has_repository = page.locator(".btn-source-repository-button").count() > 0
    assert bool(exercise_links) == has_repository, "launch buttons should show exactly when the repository is known"
    if not has_repository:
        return
    assert all("/exercises/" in url and "book/exercises" not in url for url in exercise_links), exercise_links
    page, _ = _open(site_page, f"{CHAPTERS[0]}.html")
    chapter_links = page.locator(".dropdown-launch-buttons a").evaluate_all("links => links.map(a => a.href)")
    assert chapter_links and not any(re.search(r"colab", url) for url in chapter_links), chapter_links

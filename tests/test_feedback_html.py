"""Feedback reports run no script from a learner's notebook, opened in Chromium.

A small assignment is graded with the course's ``nbgrader_config.py``
(``nbgrader autograde``, then ``generate_feedback`` with the course's
preprocessors) for a learner whose notebook carries script every way we know:
``<script>``, ``onerror=`` and other event handlers, ``<iframe>``,
``<object>``, ``<embed>``, ``javascript:`` links, JavaScript and widget
outputs, SVG with script, an "isolated" HTML output, an image whose width is
an attribute injection, and Markdown cells with raw HTML. Each would set
``document.title`` or ``window.pwned``; in the report, none may. The same
notebook rendered without the course's sanitiser does run script (the
attacks are real).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib.instructor.feedback import clean, markdown_block
from course_lib.instructor.release import release
from tests import pipeline
from tests.browser import chromium, serve

TITLE = "feedback"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

# Code run by the learner's kernel at autograde time: every output is an attack.
ATTACKS = r'''
from IPython.display import HTML, Javascript, Markdown, SVG, Latex, display, publish_display_data
display(HTML('<p>harmless html</p><script>document.title="pwned-script"; window.pwned = 1</script>'
             '<img src="x" onerror="document.title=\'pwned-onerror\'; window.pwned = 2">'
             '<iframe src="javascript:parent.document.title=\'pwned-iframe\'"></iframe>'
             '<iframe srcdoc="<script>parent.document.title=\'pwned-srcdoc\'</script>"></iframe>'
             '<object data="javascript:parent.document.title=\'pwned-object\'"></object>'
             '<embed src="javascript:parent.document.title=\'pwned-embed\'">'
             '<a id="jslink" href="javascript:document.title=\'pwned-link\'">a link</a>'
             '<svg><image href="x" onerror="document.title=\'pwned-svgimage\'"/></svg>'
             '<details open ontoggle="document.title=\'pwned-toggle\'">details</details>'
             '<input autofocus onfocus="document.title=\'pwned-focus\'">'
             '<style>@import "javascript:alert(1)";</style>'))
display(Javascript('document.title = "pwned-javascript"; window.pwned = 3'))
display(Markdown('harmless markdown <img src="x" onerror="document.title=\'pwned-markdown\'"> '
                 '[a link](javascript:document.title="pwned-mdlink")'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="document.title=\'pwned-svgload\'">'
            '<script>document.title="pwned-svg"</script><circle r="5"/></svg>'))
publish_display_data({"image/png": "''' + PNG + r'''", "text/plain": "a pixel"},
                     metadata={"image/png": {"width": "1 onload=document.title='pwned-width'", "height": 2}})
publish_display_data({"text/html": "<b>isolated</b><script>parent.document.title='pwned-isolated'</script>"},
                     metadata={"text/html": {"isolated": True}})
publish_display_data({"application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2,
                      "version_minor": 0}, "text/plain": "a widget"})
display(Latex(r"$\href{javascript:document.title='pwned-mathjax'}{x}$"))
print('<script>document.title="pwned-stream"</script>')
'''
MARKDOWN = ("# Notes\n\nharmless notes\n\n<script>document.title='pwned-cell'; window.pwned = 4</script>\n\n"
            "<img src=\"x\" onerror=\"document.title='pwned-cellimg'\">\n\n"
            "[click me](javascript:document.title='pwned-celllink')\n\n"
            "<div>\n\n[inside](javascript:document.title='pwned-inside')\n\n</div>\n\n"
            "<iframe src=\"data:text/html,<script>parent.document.title='pwned-dataframe'</script>\"></iframe>\n")


def _assignment() -> nbformat.NotebookNode:
    meta = lambda **kw: {"nbgrader": {"schema_version": 3, "locked": False, "solution": False,  # noqa: E731
                                      "grade": False, **kw}}
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [
        new_markdown_cell("Write `double`."),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=meta(solution=True, grade_id="double")),
        new_code_cell("assert double(2) == 4", metadata=meta(grade=True, locked=True, points=1,
                                                             grade_id="test_double")),
    ]
    return nb


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The feedback report of the hostile learner, and the same notebook rendered without the sanitiser."""
    course = pipeline.course_folder(tmp_path_factory.mktemp("feedback"))
    root = course.root
    (course.solutions / TITLE).mkdir(parents=True)
    nbformat.write(_assignment(), course.solutions / TITLE / f"{TITLE}.ipynb")
    release(course, [TITLE])
    learner = _assignment()
    learner.cells[1:1] = [new_markdown_cell(MARKDOWN), new_code_cell(ATTACKS)]
    pipeline.submit(course, "mallory", TITLE, {f"{TITLE}.ipynb": learner})
    course.nbgrader("autograde", TITLE)
    course.nbgrader("generate_feedback", TITLE)
    report = root / "feedback" / "mallory" / TITLE / f"{TITLE}.html"
    from nbconvert import HTMLExporter
    plain, _ = HTMLExporter(template_name="classic").from_filename(
        str(root / "autograded" / "mallory" / TITLE / f"{TITLE}.ipynb"))
    (root / "plain.html").write_text(plain)
    return report, root / "plain.html"


def _open(path: Path) -> dict:
    """Open a page in Chromium (nothing but the page's folder reachable), click its links; what ran."""
    with serve(path.parent) as base, chromium() as browser:
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                   else route.abort("blockedbyclient"))
        page.goto(f"{base}/{path.name}", wait_until="load")
        page.wait_for_timeout(500)
        found = page.evaluate("""() => ({
            title: document.title, pwned: window.pwned === undefined ? null : window.pwned,
            handlers: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
                .filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name)),
            frames: document.querySelectorAll('iframe, object, embed, frame').length,
            jsurls: [...document.querySelectorAll('[href], [src], [action], [data]')].flatMap(e =>
                ['href', 'src', 'action', 'data'].map(n => (e.getAttribute(n) || '').trim().toLowerCase())
                .filter(v => v.startsWith('javascript:') || v.startsWith('data:text'))),
            scripts: [...document.scripts].map(s => s.src || s.text).filter(t => t.includes('pwned')),
            text: document.body.innerText,
        })""")
        for link in page.query_selector_all("a[href^='javascript' i], a[href='#'], a:not([href*='://'])"):
            try:  # links that stay on the page: a javascript: one would run when clicked
                link.click(timeout=500, no_wait_after=True)
            except Exception:  # noqa: BLE001 (hidden or covered: its href was checked above)
                pass
        page.wait_for_timeout(300)
        found["title"] += " " + page.title()
        found["dialogs"] = dialogs
        return found


def test_feedback_runs_no_script_from_the_learner(reports):
    report, _ = reports
    found = _open(report)
    assert "pwned" not in found["title"] and found["pwned"] is None, found["title"]
    assert found["handlers"] == [] and found["frames"] == 0 and found["jsurls"] == [], found
    assert found["scripts"] == [] and found["dialogs"] == []
    for words in ("harmless html", "harmless markdown", "harmless notes", "isolated", "a link", "click me"):
        assert words in found["text"], words  # what is not script is still shown


def test_without_the_sanitiser_the_same_notebook_runs_script(reports):
    _, plain = reports
    found = _open(plain)
    assert "pwned" in found["title"] or found["pwned"] is not None, found["title"]


def test_clean_keeps_tables_and_inline_images_only():
    html = ('<table border="1"><tr><td colspan="2" onclick="x()">1</td></tr></table>'
            f'<img src="data:image/png;base64,{PNG}" width="3" onerror="x()">'
            '<img src="data:text/html;base64,PHNjcmlwdD4="><a href="https://example.org">web</a>'
            '<a href="vbscript:x">vb</a><form action="javascript:x"><button>b</button></form>')
    out = clean(html)
    assert 'colspan="2"' in out and f'src="data:image/png;base64,{PNG}"' in out and 'href="https://example.org"' in out
    assert "onclick" not in out and "onerror" not in out and "data:text" not in out and "vbscript" not in out
    assert "<form" not in out and "javascript" not in out


def test_a_markdown_block_is_left_alone_when_rendered_again():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for markdown in (MARKDOWN, "```\na\n\n\nb\n```\n\n    [y](javascript:1)\n", "> [a](javascript:1)\n>\n> b"):
        block = markdown_block(markdown)
        assert markdown2html_mistune(block).strip() == block
        assert "href=\"javascript" not in block.lower() and "<script" not in block

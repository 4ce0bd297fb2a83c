"""nbgrader preprocessors for feedback reports (``GenerateFeedback.preprocessors`` in ``nbgrader_config.py``).

* :class:`ShortTracebacks`: a traceback quotes the lines around the failing
  one, and in a test cell those can be hidden tests. In feedback, each error
  keeps only its message: the checks in :mod:`course_lib.grading` write
  messages meant to be read alone.
* :class:`SanitizeHTML`: a feedback report is a web page the learner opens,
  built from a notebook the learner wrote and outputs the learner's code
  made. nbconvert's templates put HTML and Markdown from the notebook into the
  page as they are (and nbgrader's feedback template does so for Markdown
  cells even when nbconvert is told to sanitise), so a ``<script>``, an
  ``onerror=`` or an ``<iframe>`` in an output would run in the learner's
  browser. This preprocessor leaves only inert HTML: no script, no event
  handlers, no iframes, objects or embeds, no ``javascript:`` (or any other
  non-web) URL, no widgets, and image sizes and execution counts that are
  numbers.
"""

from __future__ import annotations

import base64
import html
import re

import bleach
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

# What inert HTML may hold (tables, text, lists, images over the web or inline PNG/JPEG).
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "tt", "u", "ul", "var"})
ALLOWED_ATTRIBUTES = {
    "*": ["class", "title", "align", "lang", "dir"],
    "a": ["href", "name", "title"],
    "img": ["src", "alt", "width", "height", "title"],
    "td": ["colspan", "rowspan", "align"], "th": ["colspan", "rowspan", "align", "scope"],
    "table": ["border"], "ol": ["start", "type"], "col": ["span"], "colgroup": ["span"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z")
# Output kinds the feedback shows; all others (JavaScript, widgets, PDF, JSON...) are dropped.
KEPT_MIME = ("text/plain", "text/html", "text/latex", "image/png", "image/jpeg", "image/svg+xml")
# MathJax commands that make links or raw HTML from math: shown as text instead.
MATH_HTML = re.compile(r"\\(href|url|class|cssId|style|unicode|data|html)\b")
SAFE_ID = re.compile(r"[A-Za-z0-9_.\-]+\Z")


def _attribute(tag: str, name: str, value: str) -> bool:
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()) and name not in ALLOWED_ATTRIBUTES["*"]:
        return False
    if name in ("href", "src"):  # bleach reads "javascript:1" as a relative path: check the scheme here too
        url = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(value)).lower()
        scheme = re.match(r"([a-z][a-z0-9+.\-]*):", url)
        if "script:" in url or (scheme and scheme.group(1) not in ALLOWED_PROTOCOLS
                                and not url.startswith("https://inline.invalid/")):
            return False
    return True


def _keep_inline_images(html_text: str) -> tuple[str, dict[str, str]]:
    """Swap ``src="data:image/...;base64,..."`` for placeholders that survive cleaning (restored after)."""
    images: dict[str, str] = {}

    def swap(match: re.Match) -> str:
        uri = match.group(2)
        if not INLINE_IMAGE.match(uri):
            return match.group(0)
        key = f"https://inline.invalid/{len(images)}"
        images[key] = re.sub(r"\s", "", uri)
        return f"{match.group(1)}{key}{match.group(3)}"

    return re.sub(r"""(\bsrc\s*=\s*["'])(data:[^"']*)(["'])""", swap, html_text, flags=re.I), images


def clean(html_text: str) -> str:
    """Inert HTML: only :data:`ALLOWED_TAGS` and attributes, web URLs, inline raster images."""
    html_text = re.sub(r"(?is)<(script|style|iframe|object|embed|template|noscript)\b.*?</\1\s*>", "", html_text)
    html_text, images = _keep_inline_images(html_text)
    cleaned = bleach.clean(html_text, tags=ALLOWED_TAGS, attributes=_attribute, protocols=ALLOWED_PROTOCOLS,
                           strip=True, strip_comments=True)
    for key, uri in images.items():
        cleaned = cleaned.replace(f'"{key}"', f'"{uri}"')
    return MATH_HTML.sub(r"\\text", cleaned)


def markdown_block(markdown: str) -> str:
    """Markdown rendered to inert HTML, as one HTML block that rendering again leaves alone.

    nbgrader's feedback template renders a Markdown cell's source with
    ``markdown2html``, which passes raw HTML through and keeps
    ``javascript:`` links. The cell's source becomes one ``<div>`` with no
    blank line (a blank line would end the HTML block and let Markdown run
    again): blank lines become empty comments, which show as the same empty
    lines inside ``<pre>``.
    """
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    body = clean(markdown2html_mistune(markdown))
    body = re.sub(r"\n[ \t]*(?=\n)", "\n<!-- -->", body)
    return f'<div class="course-sanitized">\n{body.strip()}\n</div>'


def _number(value: object) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def clean_output(output: NotebookNode) -> NotebookNode:
    """One output with inert data and metadata (sizes of images only)."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output
    data = output.get("data", {})
    kept = {mime: value for mime, value in data.items() if mime in KEPT_MIME}
    if "text/markdown" in data and "text/html" not in kept:
        kept["text/html"] = markdown_block(_text(data["text/markdown"]))
    if "text/html" in kept:
        kept["text/html"] = clean(_text(kept["text/html"]))
    if "text/latex" in kept:
        kept["text/latex"] = MATH_HTML.sub(r"\\text", _text(kept["text/latex"]))
    if "image/svg+xml" in kept:  # shown as <img src="data:image/svg+xml...">, where no script runs
        svg = _text(kept.pop("image/svg+xml"))
        image = base64.b64encode(svg.encode()).decode()
        kept.setdefault("text/html", f'<img src="data:image/svg+xml;base64,{image}" alt="SVG figure">')
    if not kept:
        kept["text/plain"] = "[an output the feedback does not show]"
    output["data"] = kept
    metadata = {}
    for mime in ("image/png", "image/jpeg"):
        sizes = {k: _number(v) for k, v in output.get("metadata", {}).get(mime, {}).items()
                 if k in ("width", "height")} if isinstance(output.get("metadata", {}).get(mime), dict) else {}
        if any(v is not None for v in sizes.values()):
            metadata[mime] = {k: v for k, v in sizes.items() if v is not None}
    output["metadata"] = metadata
    return output


def _count(value: object) -> bool:
    return value is None or isinstance(value, int) and not isinstance(value, bool)


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


class ShortTracebacks(NbGraderPreprocessor):
    """Replace every error's traceback by one line: ``ExceptionName: message``."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


class SanitizeHTML(NbGraderPreprocessor):
    """Make every Markdown cell, raw cell and output inert HTML (see the module's docstring)."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb.metadata.pop("widgets", None)  # widget state: the page would load a widget manager for it
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type == "markdown":
            cell.source = markdown_block(_text(cell.source))
            cell.pop("attachments", None)
        elif cell.cell_type == "raw":
            cell.source = clean(_text(cell.source))
        if "execution_count" in cell and not _count(cell.execution_count):
            cell.execution_count = None  # the template prints it raw; the kernel can send anything
        for output in cell.get("outputs", []):
            clean_output(output)
            if "execution_count" in output and not _count(output.execution_count):
                output.execution_count = None
        grading = cell.metadata.get("nbgrader", {})
        if "grade_id" in grading and not SAFE_ID.match(str(grading["grade_id"])):
            grading["grade_id"] = html.escape(str(grading["grade_id"]), quote=True)  # the template prints it raw
        for key in ("alt",):
            cell.metadata.pop(key, None)
        return cell, resources

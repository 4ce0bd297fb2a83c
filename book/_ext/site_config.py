"""Settings of the website decided when it is built: the repository link and
the launch buttons, and no Thebe.

The repository's address is not written into the book: a site built from a
clone links to the repository it was cloned from (`git remote get-url origin`,
when that is on GitHub or GitLab), and these environment variables override
both that and `_config.yml`:

    COURSE_REPOSITORY_URL   e.g. https://github.com/ORG/llm-intuition
    COURSE_REPOSITORY_BRANCH   (default: the `repository: branch` of _config.yml)
    COURSE_BINDERHUB_URL    e.g. https://mybinder.org   ("" hides the button)
    COURSE_JUPYTERHUB_URL   e.g. https://hub.example.edu ("" hides the button)
    COURSE_COLAB_URL        e.g. https://colab.research.google.com ("" hides it)

Without a repository address there is no repository button and no launch
button, so a site never links to a repository that does not exist.

Thebe (live code in the page) is off, yet sphinx-thebe, which Jupyter Book
always loads, puts its configuration on every page twice, and the second
`const THEBE_JS_URL` is an error in the browser console: its scripts are dropped.

Two fixes to the theme's launch links, page by page:
- the exercise pages are copies made by `make book` of `exercises/`, so their
  launch links point at `exercises/...` in the repository, not `book/exercises/...`;
- Colab opens only `.ipynb` files, so MyST Markdown chapters get no Colab button.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

LAUNCH_VARIABLES = {
    "binderhub_url": "COURSE_BINDERHUB_URL",
    "jupyterhub_url": "COURSE_JUPYTERHUB_URL",
    "colab_url": "COURSE_COLAB_URL",
}
GIT_REMOTE = re.compile(r"^(?:https://|git@)(github\.com|gitlab\.com)[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def origin_url(folder: Path) -> str:
    """The https address of the clone's `origin` on GitHub or GitLab, else ""."""
    try:
        remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=folder,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    match = GIT_REMOTE.match(remote)
    return f"https://{match[1]}/{match[2]}/{match[3]}" if match else ""


def configure_links(app: Sphinx, config: Config) -> None:
    """Fill in the theme's repository and launch options (config-inited)."""
    options = config.html_theme_options
    url = os.environ.get("COURSE_REPOSITORY_URL") or options.get("repository_url") or origin_url(Path(app.srcdir))
    options["repository_url"] = url.rstrip("/")
    options["repository_branch"] = os.environ.get("COURSE_REPOSITORY_BRANCH") or options.get("repository_branch") or "main"
    options["use_repository_button"] = bool(url)
    launch = dict(options.get("launch_buttons") or {})
    for key, variable in LAUNCH_VARIABLES.items():
        if variable in os.environ:
            launch[key] = os.environ[variable]
    options["launch_buttons"] = launch if url else {}


def drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Leave out sphinx-thebe's scripts: Thebe is off (html-page-context)."""
    if "script_files" in context:
        context["script_files"] = [
            script for script in context["script_files"]
            if "thebe" not in str(script) and "THEBE" not in getattr(script, "attributes", {}).get("body", "")
        ]


def fix_launch_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Point exercise pages at `exercises/` and drop Colab for Markdown pages (html-page-context)."""
    book_path = app.config.html_theme_options.get("path_to_docs", "").strip("/")
    is_markdown = str(context.get("sourcename", "")).endswith((".md", ".md.txt"))
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        if is_markdown:
            group["buttons"] = [b for b in group["buttons"] if b.get("text") != "Colab"]
        if pagename.startswith("exercises/") and book_path:
            for button in group["buttons"]:
                if "url" in button:
                    button["url"] = button["url"].replace(f"{book_path}/exercises/", "exercises/")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", configure_links)
    # After sphinx-book-theme's own launch buttons (priority 501).
    app.connect("html-page-context", fix_launch_links, priority=502)
    app.connect("html-page-context", drop_thebe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""book/_ext/site_config.py: the repository and launch buttons follow the
environment, and their links point at files that exist in the repository."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest

from tests.pipeline import ROOT

_spec = importlib.util.spec_from_file_location("site_config", ROOT / "book" / "_ext" / "site_config.py")
site_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_config)

LAUNCH = {"binderhub_url": "https://mybinder.org", "jupyterhub_url": "", "colab_url": "https://colab.research.google.com"}


@pytest.fixture(autouse=True)
def _no_course_variables(monkeypatch):
    for name in ["COURSE_REPOSITORY_URL", "COURSE_REPOSITORY_BRANCH", *site_config.LAUNCH_VARIABLES.values()]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(site_config, "origin_url", lambda folder: "")


def _configure(**theme_options) -> dict:
    config = SimpleNamespace(html_theme_options={"launch_buttons": dict(LAUNCH), **theme_options})
    site_config.configure_links(SimpleNamespace(srcdir=str(ROOT / "book")), config)
    return config.html_theme_options


def test_without_a_repository_there_are_no_repository_or_launch_buttons():
    options = _configure(repository_url="")
    assert options["use_repository_button"] is False
    assert options["launch_buttons"] == {}


def test_environment_sets_the_repository_and_the_launch_services(monkeypatch):
    monkeypatch.setenv("COURSE_REPOSITORY_URL", "https://github.com/org/llm-intuition/")
    monkeypatch.setenv("COURSE_JUPYTERHUB_URL", "https://hub.example.edu")
    monkeypatch.setenv("COURSE_COLAB_URL", "")
    options = _configure(repository_url="")
    assert options["repository_url"] == "https://github.com/org/llm-intuition"
    assert options["use_repository_button"] is True
    assert options["launch_buttons"]["jupyterhub_url"] == "https://hub.example.edu"
    assert options["launch_buttons"]["colab_url"] == ""
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"


@pytest.mark.parametrize("remote", ["https://github.com/org/llm-intuition.git", "git@github.com:org/llm-intuition.git",
                                    "https://github.com/org/llm-intuition"])
def test_origin_on_github_gives_the_repository_address(remote):
    match = site_config.GIT_REMOTE.match(remote)
    assert match and f"https://{match[1]}/{match[2]}/{match[3]}" == "https://github.com/org/llm-intuition"


def test_a_local_origin_is_not_a_repository_address():
    assert site_config.GIT_REMOTE.match("/srv/git/llm-intuition") is None


def _page(pagename: str, sourcename: str) -> dict:
    buttons = [
        {"text": "Binder", "url": "https://mybinder.org/v2/gh/org/repo/main?urlpath=lab/tree/book/" + sourcename},
        {"text": "Colab", "url": "https://colab.research.google.com/github/org/repo/blob/main/book/" + sourcename},
    ]
    context = {"sourcename": sourcename, "header_buttons": [{"label": "launch-buttons", "buttons": buttons}]}
    app = SimpleNamespace(config=SimpleNamespace(html_theme_options={"path_to_docs": "book"}))
    site_config.fix_launch_links(app, pagename, "page.html", context, None)
    return {button["text"]: button["url"] for button in context["header_buttons"][0]["buttons"]}


def test_exercise_pages_launch_the_notebook_in_exercises():
    urls = _page("exercises/ch1/neural_networks", "exercises/ch1/neural_networks.ipynb")
    assert urls["Binder"].endswith("urlpath=lab/tree/exercises/ch1/neural_networks.ipynb")
    assert urls["Colab"].endswith("/blob/main/exercises/ch1/neural_networks.ipynb")


def test_markdown_chapters_get_no_colab_button():
    urls = _page("chapters/01_neural_networks", "chapters/01_neural_networks.md")
    assert set(urls) == {"Binder"}
    assert urls["Binder"].endswith("lab/tree/book/chapters/01_neural_networks.md")

"""The exercises as learners use them: JupyterLab started from the repository
root, a Chapter 1 exercise notebook opened in Chromium, Run > Run All Cells.

Unanswered, the test cell under the first answer reports, in the page, that the
answer is not written yet; with a correct answer typed into the answer cell,
the same test cell passes. The notebook is a temporary copy: exercises/ is never
touched. JupyterLab is shut down through its REST API at the end.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser import LOCAL_HOST, SCREENSHOTS, chromium, free_port
from tests.pipeline import ROOT

pytestmark = pytest.mark.xdist_group("jupyterlab")

NOTEBOOK = ROOT / "exercises" / "ch1" / "neural_networks.ipynb"
# The first answer of the notebook, a correct one-line answer, and its test cell.
ANSWER = "def neuron(x, w, b, activation): return activation(float(np.dot(w, x)) + b)"
ANSWER_CELL_MARK = "def neuron("
TEST_CELL_MARK = "with no activation"
UNANSWERED = "neuron is not written yet"
PASSED = "neuron: weighted sum and bias are right."


def _wait_until_up(base_url: str, token: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/api/status?token={token}", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {timeout} s")


def _shut_down(base_url: str, token: str, server: subprocess.Popen) -> None:
    """Ask JupyterLab to shut down (it stops its kernels); terminate it if it will not."""
    try:
        request = urllib.request.Request(f"{base_url}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(request, timeout=10).close()
        server.wait(timeout=30)
    except (urllib.error.URLError, ConnectionError, TimeoutError, subprocess.TimeoutExpired):
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def lab():
    """A JupyterLab server on 127.0.0.1 with a token, started from the repository
    root (where nbgrader_config.py is) as `make lab` starts it, with a fresh copy
    of the notebook in .cache/ (ignored by git); yields its URL, token and the
    copy's path from the root. Its settings, logs and runtime files go to /tmp."""
    scratch = Path(tempfile.mkdtemp(prefix="jupyterlab-test-"))
    (ROOT / ".cache").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="jupyterlab-test-", dir=ROOT / ".cache"))
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    port, token = free_port(), secrets.token_hex(16)
    # Fresh settings: no question about Jupyter news popping up over the notebook.
    news = scratch / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    environment = dict(os.environ, JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
                       JUPYTERLAB_SETTINGS_DIR=str(scratch / "settings"))
    command = [
        str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--allow-root",
        f"--ip={LOCAL_HOST}", f"--port={port}", f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        "--ContentsManager.allow_hidden=True",  # the copy lives in .cache/
        f"--LabApp.workspaces_dir={scratch / 'workspaces'}",
        # No update check on the internet (news are fetched only if the user asks).
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(scratch / "jupyterlab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://{LOCAL_HOST}:{port}"
    try:
        _wait_until_up(base_url, token, server)
        yield base_url, token, (work / NOTEBOOK.name).relative_to(ROOT).as_posix()
    finally:
        _shut_down(base_url, token, server)
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    assert server.returncode == 0, "JupyterLab did not shut down cleanly"


def _run_all_cells(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^\s*Run\s*$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^\s*Run All Cells\s*$")).click()


def _cell(page, mark: str):
    """The code cell whose source contains `mark`."""
    return page.locator(".jp-CodeCell").filter(has=page.locator(".cm-content", has_text=mark)).first


def _output_text(cell) -> str:
    """The text of the cell's output (textContent: JupyterLab skips rendering
    cells out of view, and innerText is empty for those)."""
    area = cell.locator(".jp-OutputArea")
    return area.text_content() if area.count() else ""


def _wait_for_output(page, cell, text: str) -> None:
    """Wait until the cell's output (not its source) shows `text`."""
    page.wait_for_function(
        "([cell, text]) => (cell.querySelector('.jp-OutputArea')?.textContent || '').includes(text)",
        arg=[cell.element_handle(), text])


def _wait_for_kernel(page) -> None:
    """Wait until the status bar says the notebook's kernel is idle."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).first.wait_for()


def _screenshot(page, name: str) -> None:
    path = SCREENSHOTS / "jupyterlab" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def test_exercise_notebook_reports_then_accepts_an_answer(lab):
    base_url, token, notebook = lab
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)
        # Like a learner without internet: only the local JupyterLab is reachable.
        page.route("**/*", lambda route: route.continue_() if f"//{LOCAL_HOST}:" in route.request.url
                   or route.request.url.startswith(("data:", "blob:")) else route.abort())
        page.goto(f"{base_url}/lab/tree/{notebook}?token={token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        _wait_for_kernel(page)
        test_cell = _cell(page, TEST_CELL_MARK)

        # 1. Unanswered: the test cell says so, in words a learner understands.
        _run_all_cells(page)
        _wait_for_output(page, test_cell, UNANSWERED)
        report = _output_text(test_cell)
        test_cell.scroll_into_view_if_needed()
        assert test_cell.locator(".jp-OutputArea").is_visible()
        _screenshot(page, "unanswered")
        # The traceback ends with the message (the cell's source, shown in it, holds PASSED).
        assert report.strip().splitlines()[-1].startswith(f"AssertionError: {UNANSWERED}"), report

        # 2. A correct answer typed into the answer cell: the same test passes.
        editor = _cell(page, ANSWER_CELL_MARK).locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(ANSWER)
        page.keyboard.press("Escape")
        _run_all_cells(page)
        _wait_for_output(page, test_cell, PASSED)
        report = _output_text(test_cell)
        test_cell.scroll_into_view_if_needed()
        _screenshot(page, "answered")
        assert report.strip() == PASSED, report
        _wait_for_kernel(page)
        page.close()

"""The browser tests' PageWatch tells a broken page from a request the browser cancelled."""

from __future__ import annotations

import pytest

from tests.browser import PageWatch, chromium, free_port, serve

pytestmark = pytest.mark.xdist_group("site_browser")


def test_page_watch_reports_a_missing_file_and_a_refused_connection(tmp_path):
    closed = free_port()  # nothing listens there
    (tmp_path / "page.html").write_text(
        '<!DOCTYPE html><html><body><img src="missing.png">'
        f'<img src="http://127.0.0.1:{closed}/refused.png"></body></html>', encoding="utf-8")
    with chromium() as browser, serve(tmp_path) as base_url:
        page = browser.new_page()
        watch = PageWatch(page)
        page.goto(f"{base_url}/page.html", wait_until="load")
        page.wait_for_timeout(200)
        problems = "\n".join(watch.take())
        page.close()
    assert "HTTP 404" in problems and "missing.png" in problems
    assert "request failed" in problems and "refused.png" in problems
    assert "ERR_ABORTED" not in problems

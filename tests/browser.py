"""Load an HTML report in headless chromium (playwright) and say what rendered: the tests' check that a
report people open in a browser shows every chart, without console or page errors."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest


class _Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag, attrs):
        name = dict(attrs).get("data-chart")
        if name is not None:
            self.names.append(name)


def chart_names(html: str) -> list[str]:
    """data-chart names in document order (parsed, not searched as text)."""
    parser = _Charts()
    parser.feed(html)
    return parser.names


def _chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("needs playwright (pip install playwright) to load the report in chromium")
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        pytest.skip("needs chromium (Debian: apt-get install chromium) to load the report")
    return path


def render(report: str | Path) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """({chart name: (width, height) of its svg}, console errors and page errors) of `report` in chromium."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            # self-contained: nothing but the file itself (and inline data) may be fetched
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                    else errors.append(f"network request: {r.url}"))
            page.goto(Path(report).resolve().as_uri(), wait_until="load")
            boxes = page.eval_on_selector_all(
                "[data-chart]", "els => els.map(e => { const s = e.querySelector('svg');"
                " const r = s ? s.getBoundingClientRect() : {width: 0, height: 0};"
                " return [e.dataset.chart, r.width, r.height]; })")
        finally:
            browser.close()
    return {name: (w, h) for name, w, h in boxes}, errors

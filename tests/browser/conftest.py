"""Browser fixtures: Playwright driving Debian's Chromium (``apt-get install chromium``;
Playwright's own browser download is not reachable from a plant or from CI).

Every page opened through :func:`page` records each request it makes; the test session fails a
test whose page asked anything of a host other than 127.0.0.1 (a page must work air-gapped).
Screenshots for the docs go to ``docs/screenshots/`` through :func:`screenshot`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/browser is marked ``browser`` (``pytest -m browser`` runs them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


def _chromium() -> str | None:
    for candidate in (os.environ.get("PLANTMIND_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium; skips with the reason when Playwright or Chromium is missing.
    Per test module, not per session: Playwright's sync API keeps an event loop running on
    the main thread while it is open, and every later test that calls ``asyncio.run`` would
    fail with "cannot be called from a running event loop"."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    exe = _chromium()
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page at 1280 x 800 that fails the test if it requested a non-local host."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    foreign: list[str] = []

    def _record(request: Any) -> None:
        host = urlsplit(request.url).hostname or ""
        if (
            urlsplit(request.url).scheme in {"http", "https", "ws", "wss"}
            and host not in LOCAL_HOSTS
        ):
            foreign.append(request.url)

    pg.on("request", _record)
    try:
        yield pg
    finally:
        context.close()
    assert not foreign, f"the page requested non-local addresses: {foreign[:5]}"


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """``screenshot(page, "edge-overview")`` writes docs/screenshots/edge-overview.png."""

    def _take(pg: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    return _take

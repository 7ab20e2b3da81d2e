"""What every browser test of the console shares: Debian's Chromium driven by Playwright
(headless), the API served by uvicorn on a thread, a tab whose every step can be checked with
axe-core and against the Content-Security-Policy, and screenshots kept as artifacts in
``$HEMKOLL_TEST_ARTIFACTS/console`` (default: test-artifacts/console).

The fixtures are imported by the browser test modules (``from tests.console.browser import
...``) so that pytest finds them there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.simulator.receiver.server import ThreadedServer

CHROMIUM = Path(os.environ.get("HEMKOLL_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HEMKOLL_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "console"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# A tablet in landscape, then in portrait.
LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 768, "height": 1024}
TIMEOUT_MS = 10_000
REFUSED = "Failed to load resource: the server responded with a status of 422"


def _unavailable(message: str) -> None:
    """In CI a missing browser fails the run; on a developer's machine it skips the test."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def server(db_url: str) -> Iterator[ThreadedServer]:
    app = create_app(ApiConfig(database_url=db_url, programme=HEART_FAILURE))
    with ThreadedServer(app, name="console-api", lifespan="on") as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional: dev only)
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


class Tab:
    """A page with the checks every step makes: CSP violations, axe, screenshots."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.csp: list[str] = []
        # A form refused answers 422 on purpose (the form again, errors beside the fields);
        # Chromium reports every 4xx answer as a console error.
        self.refusals_expected = False
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if self.refusals_expected and message.text.startswith(REFUSED):
            return
        if "Content Security Policy" in message.text or message.type == "error":
            self.csp.append(f"{message.text} at {message.location}")

    def shot(self, name: str) -> None:
        # caret="initial": hiding the caret injects a style sheet, which the CSP refuses.
        path = str(self.shots / f"{name}.png")
        self.page.screenshot(path=path, full_page=True, caret="initial")

    def axe(self) -> None:
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text("utf-8"))
        violations = self.page.evaluate(
            """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}}))
                .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
        )
        assert violations == [], f"axe on {self.page.url}: {violations}"
        assert self.csp == [], f"console errors on {self.page.url}: {self.csp}"


def sign_in(tab: Tab, base: str, token: str) -> None:
    page = tab.page
    page.goto(f"{base}/console/")
    page.get_by_label("API-nyckel").fill(token)
    page.get_by_role("button", name="Logga in").click()


def scalar(db_url: str, sql: str, *params: object) -> Any:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]

"""Playwright in Debian's Chromium, phone-sized (390×844, zh-CN), against the stack on PostgreSQL and Redis."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from e2e import pii
from tests.support.stack import REPO, Stack

SCREENS = REPO / "test-artifacts" / "screens"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


PII_SCAN = "test_zz_pii_scan.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The PII scan reads what every other test's browsers received, so it runs after all of them."""
    items.sort(key=lambda item: item.path.name == PII_SCAN)  # stable: everything else keeps its order


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if pii.LAST_REPORT is not None:
        terminalreporter.write_line(pii.LAST_REPORT.summary())


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium not found: apt-get install chromium, or set CHROMIUM_PATH")
    return path


@pytest.fixture(scope="session")
def e2e_stack(pg_url: str, redis_url: str) -> Iterator[Stack]:
    from tests.support.servers import fresh_database

    running = Stack(database_url=fresh_database(pg_url, "e2e"), redis_url=redis_url.rsplit("/", 1)[0] + "/1").start()
    yield running
    running.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
    pii.RECORDER.record_browser(browser)  # every response of every context, for test_zz_pii_scan.py
    yield browser
    browser.close()


def phone(chromium: Browser) -> BrowserContext:
    return chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)


@pytest.fixture
def person(chromium: Browser) -> Iterator[BrowserContext]:
    context = phone(chromium)
    yield context
    context.close()


# A whole-page capture draws fixed bars where the first screen ends, over the content; the tab bar is pinned to the
# page's foot for it instead, where a phone shows it once scrolled down. (Through the CSS object model: the CSP
# refuses a <style> element, which is what Playwright's ``style`` option adds.)
PIN_TABBAR = """(pinned) => {
    const bar = document.querySelector('nav.tabbar');
    if (!bar) return;
    document.documentElement.style.position = pinned ? 'relative' : '';
    bar.style.position = pinned ? 'absolute' : '';
}"""


def screenshot(page: object, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.evaluate(PIN_TABBAR, True)  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    page.evaluate(PIN_TABBAR, False)  # type: ignore[attr-defined]
    return path

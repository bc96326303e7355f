"""Helpers for driving a Streamlit page in Playwright."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'


def wait_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the script run has finished and the app is idle.

    On a busy machine a rerun can start a while after the action that caused it, so first give
    it up to 600 ms to start, then wait for the end.
    """
    try:
        page.wait_for_selector(RUNNING, timeout=600)
    except PlaywrightTimeoutError:
        pass  # no rerun, or one that already finished
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=timeout)


def open_view(page: Page, url: str, heading: str, timeout: float = 90_000) -> None:
    """Open a URL, wait for the heading and the end of the run, assert no exception."""
    page.goto(url)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=timeout)
    wait_idle(page, timeout)
    assert_no_exception(page)


def assert_no_exception(page: Page) -> None:
    """No Streamlit exception box and no uncaught page error or dialog."""
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()
    assert getattr(page, "errors", []) == []


# Every chart and table that pokes out of the column (or page block) holding it: [its label, by how many px].
SPILLS = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] .vega-embed > svg, [data-testid="stMain"] .vega-embed > canvas, '
    + '[data-testid="stMain"] [data-testid="stDataFrame"]')]
  .map(el => [el.closest('.vega-embed')?.getAttribute('aria-label') || el.getAttribute('aria-label') || 'a table',
              el.getBoundingClientRect().right
              - el.closest('[data-testid="stColumn"], [data-testid="stVerticalBlock"]').getBoundingClientRect().right])
  .filter(([_, px]) => px > 1)"""

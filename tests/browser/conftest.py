"""Fixtures for real-browser tests: one shared server, Debian's Chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .helpers import TIMEOUT, new_page
from .server import CHROMIUM, CHROMIUM_ARGS, ROOT, StreamlitServer

ARTIFACTS = ROOT / "test-artifacts"
# CI shares two cores with a server, a browser and the model: give assertions time rather than flake.
expect.set_options(timeout=TIMEOUT)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def server(artifacts):
    with StreamlitServer(log_path=artifacts / "server.log") as srv:
        yield srv


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    pg = new_page(browser, viewport={"width": 1400, "height": 1800})  # page errors and dialogs: a test fails on any
    yield pg
    pg.context.close()

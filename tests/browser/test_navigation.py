"""Real browser: every page renders in the app frame, including cold deep links."""

import re

import pytest
from playwright.sync_api import expect

from qkv_ui.pages import STORY

from .helpers import open_view, rerun
from .server import StreamlitServer

HEADINGS = {"": "QKV Explainer", "smoothing": "Context matters", "lookup": "Search, softly",
            "attention": "Attention on your text"}


def assert_full_frame(page):
    """The navigation, the shared sidebar and the app's page config are all there."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    for p in STORY:
        expect(nav.get_by_text(p.title, exact=True)).to_be_visible()
    expect(page.get_by_text("QKV Explainer: attention, from a weighted average")).to_be_visible()
    expect(page).to_have_title("QKV Explainer")
    # A cold deep link must not trip Streamlit's legacy router into its "Page not found" dialog
    # (checked once the page has settled: open_view waits for the end of the run).
    assert page.get_by_text("Page not found").count() == 0


@pytest.mark.parametrize("page_info", STORY, ids=lambda p: p.url_path or "home")
def test_page_renders_with_heading_and_no_exception(server, page, artifacts, page_info):
    open_view(page, f"{server.url}/{page_info.url_path}", HEADINGS[page_info.url_path])
    assert_full_frame(page)
    page.screenshot(path=str(artifacts / f"page-{page_info.url_path or 'home'}.png"))


@pytest.mark.parametrize("path", ["lookup", "attention", "smoothing"])
def test_deep_link_is_first_request_to_a_cold_server(page, artifacts, path):
    with StreamlitServer(log_path=artifacts / f"cold-{path}.log") as cold:
        open_view(page, f"{cold.url}/{path}", HEADINGS[path])
        assert_full_frame(page)
        expect(page).to_have_url(re.compile(rf"/{path}/?$"))
        page.screenshot(path=str(artifacts / f"cold-{path}.png"))


def test_home_links_open_each_page(server, page):
    open_view(page, server.url, "QKV Explainer")
    with rerun(page):
        page.get_by_role("link", name="Open Search, softly").click()
    expect(page.get_by_role("heading", name="Search, softly")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/lookup/?$"))

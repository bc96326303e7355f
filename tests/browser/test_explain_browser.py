"""Real browser: the explain view's knockout lab switches heads off and on by clicks, and the link follows."""

import re

from playwright.sync_api import expect

from .helpers import SLOW_TIMEOUT, charts_still, open_view, rerun

HEADING = "Attention on your text"
COSINE = '[data-testid="stMetricValue"]'


def _head(page, layer: int, head: int, state: str):
    """The grid's click target for one head, by the description a screen reader reads."""
    return page.locator(f'[data-testid="stVegaLiteChart"] path[aria-label="layer {layer}, head {head}: {state}"]')


def test_clicking_a_head_switches_it_off_and_back_on(server, page, artifacts):
    open_view(page, f"{server.url}/attention?view=explain", HEADING, timeout=SLOW_TIMEOUT)
    cosine = page.locator(COSINE).first
    expect(cosine).to_have_text("1.0000")
    with rerun(page, SLOW_TIMEOUT):
        _head(page, 6, 12, "on").click()
    expect(page).to_have_url(re.compile(r"[?&]off=6\.12(&|$)"))
    expect(cosine).not_to_have_text("1.0000")
    expect(page.get_by_text("1 of 72 heads off (layer.head): 6.12.")).to_be_visible()
    expect(_head(page, 6, 12, "off")).to_have_count(1)
    charts_still(page)
    page.screenshot(path=str(artifacts / "explain-knockout-clicked.png"))
    with rerun(page):
        _head(page, 6, 12, "off").click()  # the same head again: back on
    expect(page).not_to_have_url(re.compile(r"off="))
    expect(cosine).to_have_text("1.0000")


def test_a_link_with_heads_off_opens_with_them_off(server, page):
    open_view(page, f"{server.url}/attention?view=explain&off=6.12,6.8", HEADING, timeout=SLOW_TIMEOUT)
    expect(_head(page, 6, 12, "off")).to_have_count(1)
    expect(_head(page, 6, 8, "off")).to_have_count(1)
    value = float(page.locator(COSINE).first.inner_text())
    assert value < 0.99
    with rerun(page):
        page.get_by_role("button", name="Reset: all heads on").click()
    expect(page.locator(COSINE).first).to_have_text("1.0000")
    expect(page).not_to_have_url(re.compile(r"off="))

"""Real browser: /attention follows typing and clicks, and handles a 512-token text."""

import re

from playwright.sync_api import expect

from .helpers import (CHARTS, SLOW_TIMEOUT, browser_idle, charts_still, expect_redrawn, open_view, rerun,
                      submit)

HEADING = "Attention on your text"


def _charts(page):
    return page.locator(CHARTS)


def test_clicking_a_head_in_the_overview_selects_it(server, page, artifacts):
    open_view(page, f"{server.url}/attention", HEADING)
    expect(page.get_by_role("heading", name="Layer 4, head 2: who looks at whom")).to_be_visible()
    # Each head's map is one SVG image, labelled by Vega with its (1-based) layer and head.
    head = _charts(page).nth(0).locator('g.mark-image image[aria-label*="layer: 3; head: 7;"]')
    with rerun(page):
        head.click()
    expect(page).to_have_url(re.compile(r"[?&]layer=3(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]head=7(&|$)"))
    expect(page.get_by_role("heading", name="Layer 3, head 7: who looks at whom")).to_be_visible()
    charts_still(page)
    page.screenshot(path=str(artifacts / "attention-clicked-head.png"))


def test_typing_text_changes_tokens_and_map(server, page):
    open_view(page, f"{server.url}/attention", HEADING)
    detail = _charts(page).nth(1)
    before = detail.screenshot()
    submit(page, page.get_by_role("textbox", name="Your text"), "Bananas are yellow and monkeys love them.",
           "Control+Enter")
    expect(page.get_by_text("10 word pieces")).to_be_visible()
    expect(page.get_by_role("radio", name="bananas")).to_be_visible()
    expect(detail).to_contain_text("bananas")  # the map's own axis labels
    charts_still(page)
    expect_redrawn(detail, before)
    expect(page).to_have_url(re.compile("bananas", re.IGNORECASE))


def test_a_512_token_text_renders_windowed(server, page, artifacts):
    long_text = " ".join(f"word{i % 50}" for i in range(700))
    open_view(page, f"{server.url}/attention", HEADING)
    box = page.get_by_role("textbox", name="Your text")
    box.fill(long_text)
    with rerun(page, SLOW_TIMEOUT):
        box.press("Control+Enter")
    expect(page.get_by_text("the model takes at most 512")).to_be_visible()
    expect(page.get_by_text("Showing tokens")).to_be_visible()
    expect(_charts(page)).to_have_count(3)
    charts_still(page)
    page.screenshot(path=str(artifacts / "attention-512.png"))


def test_script_text_is_shown_not_run(server, page):
    open_view(page, f"{server.url}/attention", HEADING)
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    submit(page, page.get_by_role("textbox", name="Your text"), payload, "Control+Enter")
    expect(page.get_by_role("radio", name="script").first).to_be_visible()
    browser_idle(page)
    assert page.errors == []  # no alert dialog, no page error

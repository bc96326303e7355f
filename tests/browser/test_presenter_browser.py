"""Real browser: the presenter tour driven by its keyboard shortcuts, and "Link to this view" on a cold server."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlparse

import pytest
from playwright.sync_api import Page, expect

from qkv_ui.presenter import STEPS, step_query

from .helpers import (SLOW_TIMEOUT, SPILLS, assert_no_exception, browser_idle, charts_still, eventually, new_page,
                      open_view, rerun, settle, submit)
from .server import StreamlitServer

COUNTER = ".st-key-presenter-counter"
NARRATION = ".st-key-presenter-narration"
LINK = '[data-testid="stSidebar"] [data-testid="stCode"]'
HEADINGS = {"": "QKV Explainer", "smoothing": "Context matters", "lookup": "Search, softly",
            "attention": "Attention on your text"}


def expect_step(page: Page, index: int) -> None:
    """The banner shows step ``index`` (0-based) on its page, with its narration and URL, and no exception.

    Returns once the run that shows it is over and its charts are drawn.
    """
    step = STEPS[index]
    expect(page.locator(COUNTER)).to_contain_text(f"Step {index + 1} / {len(STEPS)}", timeout=SLOW_TIMEOUT)
    settle(page, at_least=1, timeout=SLOW_TIMEOUT)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name=HEADINGS[step.page.url_path], exact=True)).to_be_visible()
    expect(page.locator(NARRATION)).to_have_text(step.narration)
    eventually(lambda: _assert_address(page, step.page.url_path, step_query(index)))
    charts_still(page)


def _assert_address(page: Page, path: str, query: dict[str, str]) -> None:
    url = urlparse(page.url)
    assert url.path.rstrip("/") == f"/{path}".rstrip("/"), page.url
    assert dict(parse_qsl(url.query)) == query, page.url


def view_link(page: Page) -> str:
    """The address in the sidebar's "Link to this view" block."""
    return page.locator(LINK).inner_text().strip()


def test_arrow_keys_walk_the_whole_tour(server, page, artifacts):
    page.goto(f"{server.url}/?present=1")
    for index in range(len(STEPS)):
        expect_step(page, index)
        # zoomed, no chart or table spills past its column (ones sized to the column would, by 25 %)
        assert page.evaluate(SPILLS) == [], f"step {index + 1}"
        page.screenshot(path=str(artifacts / f"presenter-{index + 1:02d}.png"))
        if index < len(STEPS) - 1:
            with rerun(page):
                page.keyboard.press("ArrowRight")
    # On the last step Next is disabled: the key asks for no run, and the tour stays put.
    requested = page.evaluate("() => window.__qkvRuns.requested")
    page.keyboard.press("ArrowRight")
    browser_idle(page)
    assert page.evaluate("() => window.__qkvRuns.requested") == requested, "ArrowRight on the last step asked for a run"
    expect_step(page, len(STEPS) - 1)
    with rerun(page):
        page.keyboard.press("ArrowLeft")
    expect_step(page, len(STEPS) - 2)


def test_buttons_move_and_the_banner_fits_a_projector_screen(browser, server, artifacts):
    page = new_page(browser, viewport={"width": 1280, "height": 720})
    try:
        page.goto(f"{server.url}/lookup?present=1")
        expect_step(page, 5)  # the sidebar's page has no step in its URL: the first step on /lookup
        for name in ("Previous", "Next"):
            box = page.get_by_role("button", name=re.compile(name)).bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= 720 and box["x"] + box["width"] <= 1280
        with rerun(page):
            page.get_by_role("button", name=re.compile("Next")).click()
        expect_step(page, 6)
        page.screenshot(path=str(artifacts / "presenter-1280x720.png"))
        with rerun(page):
            page.get_by_role("button", name=re.compile("Previous")).click()
        expect_step(page, 5)
    finally:
        page.context.close()


INTRO = ('[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] > [data-testid="stElementContainer"]'
         ':has(h1) + [data-testid="stElementContainer"]')
HELP = '[data-testid="stMain"] button[aria-label^="Help for"]'


def test_presenter_mode_hides_intro_and_help_but_keeps_captions(server, page):
    open_view(page, f"{server.url}/smoothing", HEADINGS["smoothing"])
    expect(page.locator(INTRO)).to_be_visible()
    expect(page.locator(f"{HELP}:visible").first).to_be_visible()
    captions = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]:visible').count()
    size = page.get_by_role("heading", name=HEADINGS["smoothing"]).bounding_box()["height"]

    with rerun(page):
        page.get_by_text("Presenter mode", exact=True).click()
    expect_step(page, 1)
    expect(page.locator(INTRO)).to_be_hidden()  # the narration speaks instead
    expect(page.locator(f"{HELP}:visible")).to_have_count(0)
    expect(page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]:visible')).to_have_count(captions)
    heading = page.get_by_role("heading", name=HEADINGS["smoothing"])
    eventually(lambda: _assert_taller(heading.bounding_box()["height"], 1.2 * size))


def _assert_taller(height: float, than: float) -> None:
    assert height > than, f"the heading is {height:.1f} px tall, not more than {than:.1f}"


def test_arrows_inside_controls_do_not_move_the_tour(server, page):
    page.goto(f"{server.url}/lookup?present=1&step=6")
    expect_step(page, 5)
    box = page.get_by_label("Query", exact=True)
    box.click()
    page.keyboard.press("ArrowLeft")  # moves the text cursor only
    slider = page.get_by_role("slider", name="Temperature T")
    slider.focus()
    with rerun(page):
        page.keyboard.press("ArrowRight")  # moves the slider one stop, 0.1 → 0.2
    assert_no_exception(page)
    expect(page.locator(COUNTER)).to_contain_text("Step 6 / ")
    expect(slider).to_have_attribute("aria-valuetext", "0.2")
    expect(page).to_have_url(re.compile(r"[?&]temp=0\.2(&|$)"))



def test_a_control_of_the_live_part_updates_the_banner_and_the_link(server, page):
    """A slider inside a page's live part reruns only that part (qkv_ui.live); what the frame draws after the
    page follows it: the banner says what changed, and the link to this view (with its QR code) carries it."""
    page.goto(f"{server.url}/lookup?present=1&step=6")
    expect_step(page, 5)
    link = page.locator(".st-key-room-qr [data-testid='stCode']")
    expect(link).not_to_contain_text("temp=")
    slider = page.get_by_role("slider", name="Temperature T")
    slider.focus()
    with rerun(page):
        page.keyboard.press("ArrowRight")  # 0.1 → 0.2
    expect(page.locator(COUNTER)).to_contain_text("changed since this step's view: temp default → 0.2")
    expect(link).to_contain_text("temp=0.2")
    expect(page.locator(".st-key-room-qr img")).to_have_count(1)  # the QR code, redrawn for the new link
    with rerun(page):
        page.keyboard.press("ArrowLeft")  # back to the step's own view
    expect(page.locator(COUNTER)).not_to_contain_text("changed since")
    expect(link).not_to_contain_text("temp=")
    assert_no_exception(page)

def open_sidebar(page: Page) -> None:
    """Presenter mode starts with the sidebar collapsed: open it."""
    expect(page.locator('[data-testid="stSidebarNav"]')).not_to_be_in_viewport()
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_be_in_viewport()


def test_sidebar_navigation_keeps_presenter_mode(server, page):
    page.goto(f"{server.url}/?present=1")
    expect_step(page, 0)
    open_sidebar(page)
    with rerun(page, SLOW_TIMEOUT):
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Attention on your text", exact=True).click()
    expect_step(page, 9)  # Streamlit dropped the query string; the frame put present=1 back
    with rerun(page):
        page.get_by_text("Presenter mode", exact=True).click()  # off
    expect(page.locator(COUNTER)).to_have_count(0)
    assert "present" not in urlparse(page.url).query  # the run is over: the address is final


def test_tampered_step_shows_a_notice_and_step_one(server, page):
    page.goto(f"{server.url}/?present=1&step=99")
    expect_step(page, 0)
    expect(page.get_by_text("Ignored the link's step setting")).to_be_visible()


# ---------------------------------------------------------------- link to this view


def change_lookup(page: Page) -> None:
    submit(page, page.get_by_label("Query", exact=True), "homemade bread & butter")
    with rerun(page):
        page.get_by_role("radio", name="dot product").click()
    slider = page.get_by_role("slider", name="Temperature T")
    slider.focus()
    with rerun(page):
        slider.press("End")  # T = 100


def change_smoothing(page: Page) -> None:
    with rerun(page):
        page.get_by_role("radio", name="Noisy sine").click()
    for name, key in (("σ, bandwidth (time steps)", "ArrowRight"), ("Focus step t", "Home")):
        slider = page.get_by_role("slider", name=name)
        slider.focus()
        with rerun(page):
            slider.press(key)


def change_attention(page: Page) -> None:
    with rerun(page):
        page.get_by_role("radio", name="Why many heads").click()
    submit(page, page.get_by_role("textbox", name="Your text"), "The cat sat on the mat because it was warm.",
           "Control+Enter")
    slider = page.get_by_role("slider", name="Layer")
    slider.focus()
    with rerun(page):
        slider.press("Home")  # layer 1


CASES = {"lookup": (change_lookup, {"q", "sim", "temp"}), "smoothing": (change_smoothing, {"src", "sigma", "t"}),
         "attention": (change_attention, {"view", "text", "layer"})}


@pytest.mark.parametrize("path", list(CASES))
def test_link_to_this_view_reproduces_it_on_a_cold_server(server, page, artifacts, path):
    change, keys = CASES[path]
    open_view(page, f"{server.url}/{path}", HEADINGS[path])
    change(page)  # every change waited for the run it caused
    assert_no_exception(page)
    charts_still(page)
    link = view_link(page)
    assert link.startswith(f"{server.url}/{path}?"), link
    params = dict(parse_qsl(urlparse(link).query))
    assert keys <= set(params), params  # every control we moved is in the link
    assert params == dict(parse_qsl(urlparse(page.url).query))  # …and it is the address bar's view
    main = page.locator('[data-testid="stMain"]')
    shown = main.inner_text()

    with StreamlitServer(log_path=artifacts / f"cold-link-{path}.log") as cold:
        page.goto(link.replace(server.url, cold.url, 1))  # the first request this server sees
        expect(page.get_by_role("heading", name=HEADINGS[path], exact=True)).to_be_visible(timeout=SLOW_TIMEOUT)
        settle(page, at_least=1, timeout=SLOW_TIMEOUT)
        charts_still(page)
        assert_no_exception(page)
        assert page.get_by_text("Page not found").count() == 0
        # same controls, republished as they were
        expect(page.locator(LINK)).to_have_text(link.replace(server.url, cold.url, 1), use_inner_text=True)
        eventually(lambda: _assert_same_text(main.inner_text(), shown))  # same numbers, captions and labels
        page.screenshot(path=str(artifacts / f"cold-link-{path}.png"))


def _assert_same_text(now: str, before: str) -> None:
    """The same lines, each as often. Not in the same order: a chart updated in place (only its data changed)
    keeps Vega's label nodes, so its axis labels may sit in another DOM order than on a fresh page."""
    assert sorted(now.splitlines()) == sorted(before.splitlines())

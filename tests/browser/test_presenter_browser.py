"""Real browser: the presenter tour driven by its keyboard shortcuts, and "Link to this view" on a cold server."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlparse

import pytest
from playwright.sync_api import Page, expect

from qkv_ui.presenter import STEPS, step_query

from .helpers import SPILLS, assert_no_exception, open_view, wait_idle
from .server import StreamlitServer

COUNTER = ".st-key-presenter-counter"
NARRATION = ".st-key-presenter-narration"
LINK = '[data-testid="stSidebar"] [data-testid="stCode"]'
HEADINGS = {"": "QKV Explainer", "smoothing": "Context matters", "lookup": "Search, softly",
            "attention": "Attention on your text"}


def expect_step(page: Page, index: int) -> None:
    """The banner shows step ``index`` (0-based) on its page, with its narration and URL, and no exception."""
    step = STEPS[index]
    expect(page.locator(COUNTER)).to_contain_text(f"Step {index + 1} / {len(STEPS)}", timeout=90_000)
    wait_idle(page, 90_000)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name=HEADINGS[step.page.url_path], exact=True)).to_be_visible()
    expect(page.locator(NARRATION)).to_have_text(step.narration)
    url = urlparse(page.url)
    assert url.path.rstrip("/") == f"/{step.page.url_path}".rstrip("/")
    assert dict(parse_qsl(url.query)) == step_query(index)


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
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(500)  # on the last step Next is disabled: the key does nothing
    expect_step(page, len(STEPS) - 1)
    page.keyboard.press("ArrowLeft")
    expect_step(page, len(STEPS) - 2)


def test_buttons_move_and_the_banner_fits_a_projector_screen(browser, server, artifacts):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
    try:
        page.goto(f"{server.url}/lookup?present=1")
        expect_step(page, 4)  # the sidebar's page has no step in its URL: the first step on /lookup
        for name in ("Previous", "Next"):
            box = page.get_by_role("button", name=re.compile(name)).bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= 720 and box["x"] + box["width"] <= 1280
        page.get_by_role("button", name=re.compile("Next")).click()
        expect_step(page, 5)
        page.screenshot(path=str(artifacts / "presenter-1280x720.png"))
        page.get_by_role("button", name=re.compile("Previous")).click()
        expect_step(page, 4)
    finally:
        context.close()


INTRO = ('[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] > [data-testid="stElementContainer"]'
         ':has(h1) + [data-testid="stElementContainer"]')
HELP = '[data-testid="stMain"] button[aria-label^="Help for"]'


def test_presenter_mode_hides_intro_and_help_but_keeps_captions(server, page):
    open_view(page, f"{server.url}/smoothing", HEADINGS["smoothing"])
    expect(page.locator(INTRO)).to_be_visible()
    expect(page.locator(f"{HELP}:visible").first).to_be_visible()
    captions = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]:visible').count()
    size = page.get_by_role("heading", name=HEADINGS["smoothing"]).bounding_box()["height"]

    page.get_by_text("Presenter mode", exact=True).click()
    expect_step(page, 1)
    expect(page.locator(INTRO)).to_be_hidden()  # the narration speaks instead
    assert page.locator(f"{HELP}:visible").count() == 0
    assert page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]:visible').count() == captions
    assert page.get_by_role("heading", name=HEADINGS["smoothing"]).bounding_box()["height"] > 1.2 * size


def test_arrows_inside_controls_do_not_move_the_tour(server, page):
    page.goto(f"{server.url}/lookup?present=1&step=5")
    expect_step(page, 4)
    box = page.get_by_label("Query", exact=True)
    box.click()
    page.keyboard.press("ArrowLeft")  # moves the text cursor only
    slider = page.get_by_role("slider", name="Temperature T")
    slider.focus()
    page.keyboard.press("ArrowRight")  # moves the slider one stop, 0.1 → 0.2
    wait_idle(page)
    assert_no_exception(page)
    expect(page.locator(COUNTER)).to_contain_text("Step 5 / ")
    expect(slider).to_have_attribute("aria-valuetext", "0.2")
    assert dict(parse_qsl(urlparse(page.url).query))["temp"] == "0.2"


def open_sidebar(page: Page) -> None:
    """Presenter mode starts with the sidebar collapsed: open it."""
    expect(page.locator('[data-testid="stSidebarNav"]')).not_to_be_in_viewport()
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_be_in_viewport()


def test_sidebar_navigation_keeps_presenter_mode(server, page):
    page.goto(f"{server.url}/?present=1")
    expect_step(page, 0)
    open_sidebar(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Attention on your text", exact=True).click()
    expect_step(page, 6)  # Streamlit dropped the query string; the frame put present=1 back
    page.get_by_text("Presenter mode", exact=True).click()  # off
    wait_idle(page)
    expect(page.locator(COUNTER)).to_have_count(0)
    assert "present" not in urlparse(page.url).query


def test_tampered_step_shows_a_notice_and_step_one(server, page):
    page.goto(f"{server.url}/?present=1&step=99")
    expect_step(page, 0)
    expect(page.get_by_text("Ignored the link's step setting")).to_be_visible()


# ---------------------------------------------------------------- link to this view


def change_lookup(page: Page) -> None:
    box = page.get_by_label("Query", exact=True)
    box.fill("homemade bread & butter")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("radio", name="dot product").click()
    wait_idle(page)
    slider = page.get_by_role("slider", name="Temperature T")
    slider.focus()
    slider.press("End")  # T = 100
    wait_idle(page)


def change_smoothing(page: Page) -> None:
    page.get_by_role("radio", name="Noisy sine").click()
    wait_idle(page)
    for name, key in (("σ, bandwidth (time steps)", "ArrowRight"), ("Focus step t", "Home")):
        slider = page.get_by_role("slider", name=name)
        slider.focus()
        slider.press(key)
        wait_idle(page)


def change_attention(page: Page) -> None:
    page.get_by_role("radio", name="Why many heads").click()
    wait_idle(page)
    box = page.get_by_role("textbox", name="Your text")
    box.fill("The cat sat on the mat because it was warm.")
    box.press("Control+Enter")
    wait_idle(page)
    slider = page.get_by_role("slider", name="Layer")
    slider.focus()
    slider.press("Home")  # layer 1
    wait_idle(page)


CASES = {"lookup": (change_lookup, {"q", "sim", "temp"}), "smoothing": (change_smoothing, {"src", "sigma", "t"}),
         "attention": (change_attention, {"view", "text", "layer"})}


@pytest.mark.parametrize("path", list(CASES))
def test_link_to_this_view_reproduces_it_on_a_cold_server(server, page, artifacts, path):
    change, keys = CASES[path]
    open_view(page, f"{server.url}/{path}", HEADINGS[path])
    change(page)
    assert_no_exception(page)
    link = view_link(page)
    assert link.startswith(f"{server.url}/{path}?"), link
    params = dict(parse_qsl(urlparse(link).query))
    assert keys <= set(params), params  # every control we moved is in the link
    assert params == dict(parse_qsl(urlparse(page.url).query))  # …and it is the address bar's view
    shown = page.locator('[data-testid="stMain"]').inner_text()

    with StreamlitServer(log_path=artifacts / f"cold-link-{path}.log") as cold:
        page.goto(link.replace(server.url, cold.url, 1))  # the first request this server sees
        expect(page.get_by_role("heading", name=HEADINGS[path], exact=True)).to_be_visible(timeout=90_000)
        wait_idle(page, 90_000)
        assert_no_exception(page)
        assert page.get_by_text("Page not found").count() == 0
        assert view_link(page) == link.replace(server.url, cold.url, 1)  # same controls, republished as they were
        assert page.locator('[data-testid="stMain"]').inner_text() == shown  # same numbers, captions and labels
        page.screenshot(path=str(artifacts / f"cold-link-{path}.png"))

"""Real browser: the presenter tour on a projector (1280 × 720 at 150 % zoom = 853 × 480 CSS pixels).

Every step opens on one screen: the banner with its narration and the chart or table the narration
talks about, fully in view without scrolling, its text at least 14 CSS px as displayed. A step never
opens where the last page was scrolled to, and a clicker's Page Down moves the tour whatever has focus.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from qkv_ui.presenter import FOCUS_PREFIX, STEPS

from .helpers import SLOW_TIMEOUT, assert_no_exception, new_page, rerun, settle

WIDTH, HEIGHT = 853, 480
COUNTER = ".st-key-presenter-counter"
NARRATION = ".st-key-presenter-narration"
MIN_TEXT_PX = 14

# What a step's focus block shows: its charts, tables and code (captions under them may run on below), or the
# question a predict step asks the room (``qkv_ui.predict``: the box with its guesses and Reveal button).
KEY = ('.vega-embed, [data-testid="stDataFrame"], [data-testid="stTable"], [data-testid="stCode"], '
       '[class*="st-key-predict-"]:not([class*="-guess"]):not([class*="-reveal"])')
# [top, bottom, left, right] on screen of the narration and of everything KEY in the step's focus block, the
# banner's bottom, and the smallest SVG text in the block as displayed (font size times every zoom above it).
ON_SCREEN = """([narration, focus, key]) => {
  const n = document.querySelector(narration), f = document.querySelector(focus);
  const banner = document.querySelector('.st-key-presenter-banner');
  if (!n || !f || !banner) return null;
  const parts = [...f.querySelectorAll(key)].map(el => el.getBoundingClientRect()).filter(b => b.height > 0);
  if (!parts.length) return {parts: 0};
  const zoom = (el) => { let z = 1; for (let e = el; e; e = e.parentElement) z *= parseFloat(getComputedStyle(e).zoom) || 1; return z; };
  const texts = [...f.querySelectorAll('svg text')].filter(t => t.textContent.trim() && t.getBBox().width > 0);
  const sizes = texts.map(t => parseFloat(getComputedStyle(t).fontSize) * zoom(t));
  const b = n.getBoundingClientRect();
  return {narration: [b.top, b.bottom, b.left, b.right], parts: parts.length,
          focus: [Math.min(...parts.map(p => p.top)), Math.max(...parts.map(p => p.bottom)),
                  Math.min(...parts.map(p => p.left)), Math.max(...parts.map(p => p.right))],
          banner: banner.getBoundingClientRect().bottom, smallest: sizes.length ? Math.min(...sizes) : null};
}"""
# Waits until the step's focus block has drawn and sits right under the banner, and stays there.
SETTLED = """([focus, key, height]) => {
  const f = document.querySelector(focus), banner = document.querySelector('.st-key-presenter-banner');
  if (!f || !banner || !f.querySelector('.vega-embed svg, .vega-embed canvas, [data-testid="stDataFrame"], pre, '
                                        + '[class*="st-key-predict-"] [data-testid="stButton"]')) return false;
  const parts = [...f.querySelectorAll(key)].map(el => el.getBoundingClientRect());
  const top = Math.min(...parts.map(p => p.top)), bottom = Math.max(...parts.map(p => p.bottom));
  const ok = top >= banner.getBoundingClientRect().bottom - 1 && bottom <= height + 1;
  window.__settled = ok ? (window.__settled || 0) + 1 : 0;
  return window.__settled >= 3;
}"""


@pytest.fixture
def projector(browser):
    page = new_page(browser, viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1.5)
    yield page
    page.context.close()


def focus_of(index: int) -> str:
    return f".st-key-{FOCUS_PREFIX}{STEPS[index].focus}"


def wait_step(page: Page, index: int, artifacts=None) -> None:
    expect(page.locator(COUNTER)).to_contain_text(f"Step {index + 1} / {len(STEPS)}", timeout=SLOW_TIMEOUT)
    settle(page, at_least=1, timeout=SLOW_TIMEOUT)
    assert_no_exception(page)
    if artifacts is not None:  # what the step looked like, should the wait below time out
        page.screenshot(path=str(artifacts / f"projector-step-{index + 1:02d}-opening.png"))
    try:
        page.wait_for_function(SETTLED, arg=[focus_of(index), KEY, HEIGHT], polling=150, timeout=30_000)
    except PlaywrightTimeoutError:  # say where the block is, and what else is on the page
        seen = page.evaluate(ON_SCREEN, [NARRATION, focus_of(index), KEY])
        keys = page.evaluate(f"() => [...document.querySelectorAll('{focus_of(index)} *')].map(e => "
                             "[...e.classList].find(c => c.startsWith('st-key-'))).filter(Boolean)")
        pytest.fail(f"step {index + 1}: its block never settled under the banner: {seen}; keys inside: {keys}")


def scroll_main_to_bottom(page: Page) -> None:
    """As a presenter would before moving on: scroll the page down to its end."""
    page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]'); m.scrollTop = m.scrollHeight; }")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop > 0")


def test_every_step_opens_on_one_screen_with_its_chart(server, projector, artifacts):
    page = projector
    page.goto(f"{server.url}/?present=1")
    for index, step in enumerate(STEPS):
        wait_step(page, index, artifacts)
        seen = page.evaluate(ON_SCREEN, [NARRATION, focus_of(index), KEY])
        assert seen is not None, f"step {index + 1}: no block {focus_of(index)} on {step.page.url_path or 'home'}"
        assert seen["parts"] >= 1, f"step {index + 1}: its focus block holds no chart, table or code"
        for name in ("narration", "focus"):
            top, bottom, left, right = seen[name]
            assert 0 <= top and bottom <= HEIGHT + 1 and 0 <= left and right <= WIDTH + 1, (index + 1, name, seen)
        assert seen["focus"][0] >= seen["banner"] - 1, (index + 1, "under the banner", seen)
        if seen["smallest"] is not None:
            assert seen["smallest"] >= MIN_TEXT_PX - 0.01, (index + 1, "chart text", seen["smallest"])
        page.screenshot(path=str(artifacts / f"projector-step-{index + 1:02d}.png"))
        if index < len(STEPS) - 1:
            scroll_main_to_bottom(page)  # the next step must not open where this one was left
            page.keyboard.press("PageDown")


def test_page_down_moves_the_tour_even_from_a_focused_slider(server, projector):
    page = projector
    page.goto(f"{server.url}/smoothing?present=1&step=4&sigma=20")
    wait_step(page, 3)
    slider = page.get_by_role("slider", name="σ, bandwidth (time steps)")
    slider.focus()
    with rerun(page):
        page.keyboard.press("ArrowRight")  # a focused slider keeps its arrows: σ 20 → 20.5, the tour stays
    expect(page.locator(COUNTER)).to_contain_text("Step 4 / ")
    expect(slider).to_have_value("20.5")
    expect(page.locator(".st-key-presenter-banner")).to_contain_text("sigma 20 → 20.5")  # the narration says so
    slider.focus()
    page.keyboard.press("PageDown")  # a clicker's key: the tour moves, the slider does not
    wait_step(page, 4)
    page.keyboard.press("PageUp")
    wait_step(page, 3)
    expect(page.get_by_role("slider", name="σ, bandwidth (time steps)")).to_have_value("20")


def test_the_banner_stays_in_view_while_the_page_scrolls(server, projector):
    page = projector
    page.goto(f"{server.url}/lookup?present=1&step=6")
    wait_step(page, 5)
    scroll_main_to_bottom(page)
    expect(page.locator(NARRATION)).to_be_in_viewport()
    expect(page.get_by_role("button", name="Next")).to_be_in_viewport()


@pytest.mark.parametrize("index", [i for i, s in enumerate(STEPS) if s.focus.startswith("predict-")],
                         ids=[s.focus for s in STEPS if s.focus.startswith("predict-")])
def test_a_revealed_answer_comes_into_view_under_the_banner(server, projector, artifacts, index):
    page = projector
    step = STEPS[index]
    page.goto(f"{server.url}/{step.page.url_path}?{urlencode({**step.params, 'present': 1, 'step': index + 1})}")
    wait_step(page, index)
    name = step.focus
    with rerun(page):
        page.locator(f".st-key-{name}").get_by_role("button", name="Reveal").click()
    why = page.locator(f".st-key-{name} [data-testid='stCaptionContainer']").last
    expect(why).to_contain_text("Why:")
    answer = page.locator(f".st-key-{name} [data-testid='stAlert']")
    banner = page.locator(".st-key-presenter-banner")
    # the answer and its why fully on screen, below the banner (the stage scrolls them in once they are drawn)
    page.wait_for_function(
        """([answer, why]) => {
          const a = document.querySelector(answer), w = [...document.querySelectorAll(why)].pop();
          const b = document.querySelector('.st-key-presenter-banner').getBoundingClientRect().bottom;
          return a && w && a.getBoundingClientRect().top >= b - 1 && w.getBoundingClientRect().bottom <= innerHeight + 1;
        }""",
        arg=[f".st-key-{name} [data-testid='stAlert']", f".st-key-{name} [data-testid='stCaptionContainer']"],
        polling=100, timeout=30_000)
    expect(answer).to_be_in_viewport()
    expect(banner).to_be_in_viewport()
    page.screenshot(path=str(artifacts / f"projector-{name}-revealed.png"))
    assert_no_exception(page)

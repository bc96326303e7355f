"""Real browser, phone emulation (390 × 844 and 360 × 800, touch, 3× pixels): every view fits the screen's width,
keeps its text at least 14 px, lays its blocks out without overlap, opens with the sidebar closed, and its
controls answer taps (a slider, a token pill, the all-heads grid, a cell of the detail map, a row of W); a chart
that scrolls sideways fades at the edge that has more to show.

Screenshots land in test-artifacts/phone/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from qkv_ui.attention.common import VIEWS as ATTENTION_VIEWS
from qkv_ui.phone import PHONE_TEXT_PX, SCROLL_HINT_PX

from .helpers import CHARTS, assert_no_exception, browser_idle, charts_still, new_page, open_view, rerun

ATTENTION = "Attention on your text"
PAGES = [  # (path and query, heading, id)
    ("", "QKV Explainer", "home"),
    ("smoothing", "Context matters", "smoothing"),
    ("lookup", "Search, softly", "lookup"),
    *((f"attention?view={view}", ATTENTION, f"attention-{view}") for view in ATTENTION_VIEWS),
]
PHONES = {"390x844": (390, 844), "360x800": (360, 800)}
# Charts redrawn to fit the screen instead of scrolling in a box (by the start of their description):
# W on /smoothing, both of them, and the all-heads overview.
FITTED = ("Gaussian W", "Content-aware W", "Small attention maps")

# The page's own scroll box (Streamlit scrolls inside stMain) and the document: how wide they are drawn and how wide
# their content reaches. A chart wider than the screen must scroll inside a box of its own instead.
WIDTHS = """() => {
  const main = document.querySelector('[data-testid="stMain"]'), doc = document.documentElement;
  return {main: [main.scrollWidth, main.clientWidth], doc: [doc.scrollWidth, doc.clientWidth]};
}"""

# Every chart wider than the page's main column: [its label, its width, the width of the box that shows it,
# whether that box scrolls sideways]. The box is the nearest ancestor that clips (overflow other than visible).
WIDE_CHARTS = """() => {
  const column = document.querySelector('[data-testid="stMainBlockContainer"]').getBoundingClientRect();
  return [...document.querySelectorAll('[data-testid="stMain"] .vega-embed > svg, [data-testid="stMain"] .vega-embed > canvas')]
    .filter(el => el.getBoundingClientRect().width > column.width + 1)
    .map(el => {
      let box = el.parentElement;
      while (box && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
      const style = box && getComputedStyle(box);
      return [el.closest('.vega-embed').getAttribute('aria-label') || 'a chart', Math.round(el.getBoundingClientRect().width),
              box ? Math.round(box.getBoundingClientRect().width) : null,
              !!box && box !== document.querySelector('[data-testid="stMain"]')
                && ['auto', 'scroll'].includes(style.overflowX) && box.scrollWidth > box.clientWidth];
    });
}"""

# Text smaller than the given px: HTML elements that show text of their own (a direct text node with more than
# zero-width characters: KaTeX's struts hold only U+200B), and the text of charts drawn as SVG (Vega writes each
# text's size as its font-size attribute). Only what is displayed counts (not hidden, not collapsed).
SMALL_TEXT = r"""(min) => {
  const small = [];
  const shown = el => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
    if (el instanceof SVGElement || !shown(el)) continue;
    const text = [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('')
      .replace(/[\s\u200b]/g, '');
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (text && px < min) small.push([el.tagName.toLowerCase(), text.slice(0, 30), px]);
  }
  for (const t of document.querySelectorAll('[data-testid="stMain"] svg.marks text')) {
    const px = parseFloat(t.getAttribute('font-size') || getComputedStyle(t).fontSize);
    if (t.textContent.trim() && shown(t) && px < min) small.push(['svg text', t.textContent.slice(0, 30), px]);
  }
  return small;
}"""

# Blocks drawn over each other: for every vertical or horizontal block in the main area, each pair of its
# displayed children whose boxes intersect by more than 1 px both ways: [block, first, second] as labels.
OVERLAPS = """() => {
  const label = el => (el.dataset.testid || el.tagName.toLowerCase()) + ': '
    + (el.innerText || el.querySelector('.vega-embed')?.getAttribute('aria-label') || '').trim().slice(0, 40);
  const found = [];
  for (const block of document.querySelectorAll(
      '[data-testid="stMain"] [data-testid="stVerticalBlock"], [data-testid="stMain"] [data-testid="stHorizontalBlock"]')) {
    const kids = [...block.children].map(el => [el, el.getBoundingClientRect()])
      .filter(([el, r]) => r.width > 0 && r.height > 0 && getComputedStyle(el).position !== 'absolute');
    for (let i = 0; i < kids.length; i++)
      for (let j = i + 1; j < kids.length; j++) {
        const [a, ra] = kids[i], [b, rb] = kids[j];
        const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (x > 1 && y > 1) found.push([label(block), label(a), label(b)]);
      }
  }
  return found;
}"""


def phone(browser, size: str):
    """A page in a fresh phone-like context: touch, mobile viewport, 3 device pixels per CSS pixel."""
    width, height = PHONES[size]
    return new_page(browser, viewport={"width": width, "height": height}, is_mobile=True, has_touch=True,
                    device_scale_factor=3)


@pytest.fixture
def phone_page(browser, request):
    pages = []

    def make(size: str):
        page = phone(browser, size)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


@pytest.fixture(scope="module")
def shots(artifacts):
    folder = artifacts / "phone"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.mark.parametrize("size", list(PHONES))
@pytest.mark.parametrize("path, heading, name", PAGES, ids=[p[2] for p in PAGES])
def test_view_fits_a_phone(server, phone_page, shots, size, path, heading, name):
    page = phone_page(size)
    open_view(page, f"{server.url}/{path}", heading)
    browser_idle(page)  # fonts in: text is measured at its final size
    page.screenshot(path=str(shots / f"{name}-{size}.png"))

    widths = page.evaluate(WIDTHS)
    width = PHONES[size][0]
    assert widths["doc"][0] <= widths["doc"][1] == width, f"the page scrolls sideways: {widths}"
    assert widths["main"][0] <= widths["main"][1], f"the main area scrolls sideways: {widths}"
    wide = page.evaluate(WIDE_CHARTS)
    trapped = [c for c in wide if not c[3] or c[2] > width]
    assert trapped == [], f"charts wider than the screen outside a scroll box of their own (label, width, box): {trapped}"
    unfitted = [c for c in wide if c[0].startswith(FITTED)]
    assert unfitted == [], f"charts that should fit the screen (label, width, box): {unfitted}"

    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()  # closed, and can be opened
    box = sidebar.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0, f"the sidebar covers the page: {box}"

    small = page.evaluate(SMALL_TEXT, PHONE_TEXT_PX)
    assert small == [], f"text smaller than {PHONE_TEXT_PX} px (element, text, px): {small[:12]}"
    overlaps = page.evaluate(OVERLAPS)
    assert overlaps == [], f"blocks drawn over each other (block, one, other): {overlaps[:6]}"
    assert_no_exception(page)

    # Taller, to look at the whole view (a screenshot stops at the viewport: Streamlit scrolls inside)
    page.set_viewport_size({"width": width, "height": 4800})
    charts_still(page)
    page.screenshot(path=str(shots / f"{name}-{size}-whole.png"))


def test_slider_answers_a_tap(server, phone_page):
    page = phone_page("360x800")
    open_view(page, f"{server.url}/lookup", "Search, softly")
    slider = page.get_by_role("slider", name="Temperature T")  # Streamlit's hidden range input, on the track
    before = slider.input_value()
    slider.scroll_into_view_if_needed()
    track, thumb = page.get_by_test_id("stSlider").filter(has=slider).bounding_box(), slider.bounding_box()
    with rerun(page):  # a tap near the right end of the track
        page.touchscreen.tap(track["x"] + track["width"] * 0.9, thumb["y"] + thumb["height"] / 2)
    expect(slider).not_to_have_value(before)
    expect(page).to_have_url(re.compile(r"[?&]temp="))
    assert_no_exception(page)


def test_token_pill_answers_a_tap(server, phone_page):
    page = phone_page("390x844")
    open_view(page, f"{server.url}/attention", ATTENTION)
    pill = page.get_by_role("radiogroup", name="Query token").get_by_role("radio", name="street", exact=True)
    with rerun(page):
        pill.tap()
    expect(page).to_have_url(re.compile(r"[?&]token=8(&|$)"))
    expect(page.get_by_text("The outlined row is the query token 8.")).to_be_visible()
    assert_no_exception(page)


def test_head_grid_and_detail_map_answer_taps(server, phone_page, shots):
    page = phone_page("360x800")
    open_view(page, f"{server.url}/attention", ATTENTION)
    overview = page.locator(CHARTS).nth(0)
    head = overview.locator('g.mark-image image[aria-label*="layer: 1; head: 3;"]')
    head.scroll_into_view_if_needed()
    box = head.bounding_box()
    with rerun(page):
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page).to_have_url(re.compile(r"[?&]layer=1(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]head=3(&|$)"))
    expect(page.get_by_role("heading", name="Layer 1, head 3: who looks at whom")).to_be_visible()
    charts_still(page)

    # The detail map is wider than the phone: it scrolls in its own box, and a tapped cell picks its row.
    detail = page.locator(CHARTS).nth(1)
    cell = detail.locator('g.mark-rect path[aria-label^="…at this key: 0; query: this token looks…: 2;"]')
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    with rerun(page):  # near the cell's corner, off the number printed in it
        page.touchscreen.tap(box["x"] + 4, box["y"] + 4)
    expect(page).to_have_url(re.compile(r"[?&]token=2(&|$)"))
    expect(page.get_by_text("The outlined row is the query token 2.")).to_be_visible()
    charts_still(page)
    page.screenshot(path=str(shots / "attention-tapped-360x800.png"))
    assert_no_exception(page)


def test_w_fills_the_phone_and_a_tapped_row_becomes_the_focus_step(server, phone_page, shots):
    page = phone_page("360x800")
    open_view(page, f"{server.url}/smoothing", "Context matters")
    w = page.locator(f'{CHARTS}[aria-label^="Gaussian W"]')
    w.scroll_into_view_if_needed()
    charts_still(page)
    picture = w.locator("g.mark-image image").bounding_box()
    # Once it was a 34 px thumbnail here: Streamlit fits axes and legend into the chart's size too.
    assert picture["width"] >= 360 / 2 and picture["height"] >= 360 / 2, f"W is too small to read or tap: {picture}"
    # The band of output step 150 (one row per step at n = 200), the invisible full-width bands that take clicks.
    band = w.locator('g.mark-rect path[aria-label="row: 150; output step i: 150"]').last
    box = band.bounding_box()
    with rerun(page):
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page).to_have_url(re.compile(r"[?&]t=150(&|$)"))
    expect(page.get_by_role("heading", name="2 · The weights behind step 150")).to_be_visible()
    charts_still(page)
    w.screenshot(path=str(shots / "smoothing-w-tapped-360x800.png"))
    assert_no_exception(page)


# The fade of each chart scroll box's left and right edge ([label, start, end, scrollable, masked]): the box around
# each chart in the main area, as phone.CSS draws it.
FADES = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stFullScreenFrame"] > div')]
  .filter(box => box.querySelector(':scope > [data-testid="stVegaLiteChart"]'))
  .map(box => {
    const style = getComputedStyle(box);
    return [box.querySelector('.vega-embed')?.getAttribute('aria-label')?.slice(0, 40) || 'a chart',
            style.getPropertyValue('--qkv-fade-start').trim(), style.getPropertyValue('--qkv-fade-end').trim(),
            box.scrollWidth > box.clientWidth, style.maskImage.startsWith('linear-gradient')];
  })"""
# True once the box's left and right edge fade by these lengths (the fade follows the scroll on the next frames).
FADE_IS = """([box, start, end]) => {
  const style = getComputedStyle(box), value = name => style.getPropertyValue(name).trim();
  return value('--qkv-fade-start') === start && value('--qkv-fade-end') === end;
}"""


def test_a_box_that_scrolls_sideways_fades_at_the_edge_with_more_to_see(server, phone_page, shots):
    page = phone_page("390x844")
    open_view(page, f"{server.url}/attention", ATTENTION)
    hint = f"{SCROLL_HINT_PX}px"
    fades = page.evaluate(FADES)
    assert [f for f in fades if f[3]], f"no chart scrolls sideways at 390 px: {fades}"
    for label, start, end, scrolls, masked in fades:  # at the start: more to the right only; one that fits: no fade
        assert masked and (start, end) == (("0px", hint) if scrolls else ("0px", "0px")), (label, start, end, scrolls)

    detail = page.locator(CHARTS).nth(1).locator("xpath=ancestor::div[parent::*[@data-testid='stFullScreenFrame']]")
    detail.scroll_into_view_if_needed()
    detail.evaluate("box => { box.scrollLeft = box.scrollWidth; }")  # to the end: more to the left only
    page.wait_for_function(FADE_IS, arg=[detail.element_handle(), hint, "0px"], polling="raf")
    page.screenshot(path=str(shots / "attention-scrolled-390x844.png"))
    detail.evaluate("box => { box.scrollLeft = (box.scrollWidth - box.clientWidth) / 2; }")  # halfway: both ways
    page.wait_for_function(FADE_IS, arg=[detail.element_handle(), hint, hint], polling="raf")

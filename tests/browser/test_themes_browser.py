"""Real browser: every view in the light and the dark theme (Streamlit follows the viewer's system setting),
chart text legible on both, the chart toolbar's PNG download in viewer mode, and the SVG / CSV buttons."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from playwright.sync_api import expect

from .. import wcag
from .helpers import CHARTS, assert_no_exception, browser_idle, charts_still, new_page, open_view, settle

VIEWS = [  # (path and query, heading, id, charts on the view)
    ("", "QKV Explainer", "home", 1),
    ("smoothing", "Context matters", "smoothing", 7),
    ("lookup", "Search, softly", "lookup", 3),
    ("attention", "Attention on your text", "attention", 3),
    ("attention?view=steps", "Attention on your text", "attention-steps", 10),
    ("attention?view=heads", "Attention on your text", "attention-heads", 4),
    ("attention?view=context", "Attention on your text", "attention-context", 1),
    ("attention?view=scaling", "Attention on your text", "attention-scaling", 2),
]
MIN_CONTRAST = 3.0  # WCAG's minimum for graphics and large text; Streamlit's own axis grey is ~3.7:1 on white

# Every text a chart drawn as SVG shows (charts of more than 2,000 marks are drawn on a canvas, which has
# no text to inspect), with its colour and the colour behind it: the page, or for text drawn over a
# rect or bar mark (a heatmap's numbers), that mark's fill. Only texts inside the viewport are checked.
CHART_TEXT = """() => {
  const app = getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor;
  const texts = [];
  document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks text').forEach(t => {
    const box = t.getBoundingClientRect();
    if (!t.textContent.trim() || box.top < 0 || box.bottom > innerHeight) return;
    let behind = app;
    if (t.closest('g.role-mark')) {
      for (const el of document.elementsFromPoint(box.left + box.width / 2, box.top + box.height / 2)) {
        const mark = el === t ? null : el.closest('g.role-mark');
        if (mark && (mark.classList.contains('mark-rect') || mark.classList.contains('mark-bar'))) {
          behind = getComputedStyle(el).fill;
          break;
        }
      }
    }
    texts.push([t.textContent, getComputedStyle(t).fill, behind]);
  });
  return {app, texts};
}"""


def luminance(css: str) -> float:
    """WCAG relative luminance of a CSS ``rgb(...)`` / ``rgba(...)`` colour."""
    return float(wcag.luminance([int(v) for v in re.findall(r"[\d.]+", css)[:3]]))


def contrast(a: str, b: str) -> float:
    return float(wcag.contrast(luminance(a), luminance(b)))


@pytest.fixture
def themed(browser):
    """A page factory: a fresh context in the given colour scheme, failing on any page error."""
    contexts = []

    def make(scheme: str, height: int = 1800):
        page = new_page(browser, viewport={"width": 1400, "height": height}, color_scheme=scheme,
                        accept_downloads=True)
        contexts.append(page.context)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path, heading, name, n_charts", VIEWS, ids=[v[2] for v in VIEWS])
def test_view_is_legible_in_the_theme(server, themed, artifacts, scheme, path, heading, name, n_charts):
    page = themed(scheme, height=3400)  # tall: a screenshot stops at the viewport (Streamlit scrolls inside)
    open_view(page, f"{server.url}/{path}", heading)
    charts = page.locator(CHARTS)
    expect(charts).to_have_count(n_charts)
    drawn = page.locator(f"{CHARTS} svg.marks, {CHARTS} canvas.marks")
    expect(drawn).to_have_count(n_charts)  # every chart drawn
    expect(page.get_by_role("button", name="SVG")).to_have_count(n_charts)  # one export button per chart
    charts_still(page)
    browser_idle(page)  # fonts and images in, painted
    page.screenshot(path=str(artifacts / f"theme-{name}-{scheme}.png"))

    found = page.evaluate(CHART_TEXT)
    app = luminance(found["app"])
    assert app < 0.1 if scheme == "dark" else app > 0.9, f"the {scheme} theme was not applied: {found['app']}"
    assert found["texts"], "no chart text found to check"
    faint = sorted({(text, fill, behind, round(contrast(fill, behind), 2)) for text, fill, behind in found["texts"]
                    if contrast(fill, behind) < MIN_CONTRAST})
    assert faint == [], f"chart text too faint in the {scheme} theme (text, colour, behind, contrast): {faint[:10]}"
    assert_no_exception(page)


def test_chart_toolbar_offers_png_download_in_viewer_mode(server, themed):
    page = themed("light")
    open_view(page, f"{server.url}/lookup", "Search, softly")
    chart = page.locator(CHARTS).first
    chart.scroll_into_view_if_needed()
    chart.hover()
    png = page.get_by_role("button", name="Download as PNG").first
    expect(png).to_be_visible()
    with page.expect_download() as download:
        png.click()
    assert download.value.suggested_filename.endswith(".png")
    with open(download.value.path(), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_svg_and_csv_buttons_download_the_w_matrix(server, themed, artifacts, scheme):
    page = themed(scheme)
    open_view(page, f"{server.url}/smoothing?n=1000", "Context matters")
    svg_button = page.locator(".st-key-export-qkv-smoothing-w-gaussian").get_by_role("button", name="SVG")
    svg_button.scroll_into_view_if_needed()
    with page.expect_download() as download:
        svg_button.click()
    assert download.value.suggested_filename == "qkv-smoothing-w-gaussian.svg"
    with open(download.value.path(), "rb") as f:
        svg = f.read()
    assert svg.lstrip().startswith((b"<svg", b"<?xml")) and svg.rstrip().endswith(b"</svg>")
    assert b">Gaussian W</text>" in svg and b">output step i</text>" in svg
    download.value.save_as(artifacts / f"export-w-gaussian-{scheme}.svg")

    csv_button = page.locator(".st-key-export-qkv-smoothing-w-gaussian").get_by_role("button", name="CSV")
    with page.expect_download() as download:
        csv_button.click()
    assert download.value.suggested_filename == "qkv-smoothing-w-gaussian.csv"
    with open(download.value.path(), "rb") as f:
        w = pd.read_csv(io.BytesIO(f.read()), index_col=0)
    assert w.shape == (200, 200) and w.index[0] == "0–4" and w.columns[-1] == "995–999"
    assert abs(w.to_numpy().sum(axis=1) - 1 / 5).max() < 1e-9  # means of 5 x 5 blocks of rows that sum to 1
    settle(page)  # whatever run the downloads asked for is over
    assert_no_exception(page)

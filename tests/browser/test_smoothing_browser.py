"""Real browser: /smoothing reacts to its controls, reproduces links, and survives hostile input."""

from __future__ import annotations

import re

import numpy as np
from playwright.sync_api import Page, expect

from qkv_core.series import synthetic_series
from qkv_core.smoothing import smooth

from .helpers import CHARTS as CHART
from .helpers import assert_no_exception, box_still, charts_still, eventually, expect_redrawn, open_view, rerun

HEADING = "Context matters"
FOCUS_CAPTION = re.compile(r"Step (\d+): raw (-?\d+\.\d{3}) → smoothed (-?\d+\.\d{3})")


def focus_caption(page: Page) -> tuple[int, float, float]:
    """(t, raw, smoothed) as printed under the first chart (waits for the caption to be there)."""
    text = page.get_by_text(FOCUS_CAPTION).first.inner_text()
    t, raw, smoothed = FOCUS_CAPTION.search(text).groups()
    return int(t), float(raw), float(smoothed)


def expect_focus(page: Page, expected: tuple[int, float, float]) -> None:
    """Wait until the focus caption reads ``expected`` (t, raw, smoothed)."""
    def check() -> None:
        assert focus_caption(page) == expected
    eventually(check)


def test_moving_sigma_moves_the_smoothed_line(server, page, artifacts):
    open_view(page, f"{server.url}/smoothing", HEADING)
    values = synthetic_series("steps", 200, 0.2, 0)
    expect_focus(page, (78, round(values[78], 3), round(smooth(values, 4.0, 3.0)[78], 3)))
    chart = page.locator(CHART).first
    before = chart.screenshot()

    slider = page.get_by_role("slider", name="σ, bandwidth (time steps)")
    slider.focus()
    with rerun(page):
        for _ in range(8):  # 8 steps of 0.5: σ = 8
            slider.press("ArrowRight")
    expect(slider).to_have_attribute("aria-valuetext", "8.00")
    expect(page.get_by_text(FOCUS_CAPTION).first).to_contain_text(f"smoothed {smooth(values, 8.0, 3.0)[78]:.3f}")
    expect_redrawn(chart, before)  # the line itself was redrawn
    expect(page).to_have_url(re.compile("sigma=8"))
    assert_no_exception(page)
    charts_still(page)
    page.screenshot(path=str(artifacts / "smoothing.png"))


def test_link_reproduces_the_view(server, page):
    open_view(page, f"{server.url}/smoothing?sigma=5&t=40", HEADING)
    expect(page.get_by_role("slider", name="σ, bandwidth (time steps)")).to_have_attribute("aria-valuetext", "5.00")
    expect(page.get_by_role("slider", name="Focus step t")).to_have_attribute("aria-valuetext", "40")
    values = synthetic_series("steps", 200, 0.2, 0)
    expect_focus(page, (40, round(values[40], 3), round(smooth(values, 5.0, 3.0)[40], 3)))
    expect(page.get_by_role("heading", name="2 · The weights behind step 40")).to_be_visible()
    # the link survives the first run (open_view waited for its end)
    assert "sigma=5" in page.url and "t=40" in page.url
    expect(page.locator(CHART)).to_have_count(7)


def test_tampered_link_shows_notices_and_the_default_view(server, page):
    open_view(page, f"{server.url}/smoothing?sigma=abc&t=-5&src=%3Cimg%20src%3Dx%3E", HEADING)
    alerts = page.locator('[data-testid="stAlert"]')
    for key in ("sigma", "t", "src"):
        expect(alerts.filter(has_text=f"Ignored the link's {key} setting").first).to_be_visible()
    assert page.locator("img[src='x']").count() == 0  # the markup was never rendered
    expect(page.get_by_role("slider", name="σ, bandwidth (time steps)")).to_have_attribute("aria-valuetext", "4.00")
    expect(page.locator(CHART)).to_have_count(7)
    assert_no_exception(page)


def test_clicking_a_row_of_w_moves_the_focus_step(server, page):
    open_view(page, f"{server.url}/smoothing", HEADING)
    heatmap = page.locator(CHART).nth(2)
    heatmap.scroll_into_view_if_needed()
    box = box_still(heatmap)
    with rerun(page):
        heatmap.click(position={"x": box["width"] * 0.6, "y": box["height"] * 0.8})  # low in the matrix: a late row
    expect(page.get_by_text(FOCUS_CAPTION).first).not_to_contain_text("Step 78:")
    t, _, _ = focus_caption(page)
    assert t > 100
    expect(page.get_by_role("heading", name=f"2 · The weights behind step {t}")).to_be_visible()
    expect(page).to_have_url(re.compile(f"t={t}"))
    assert_no_exception(page)


def test_upload_a_csv_and_a_fake_one(server, page, tmp_path):
    open_view(page, f"{server.url}/smoothing?src=upload", HEADING)
    expect(page.get_by_text("A link can't carry it")).to_be_visible()
    good = tmp_path / "temps.csv"
    good.write_text("day,temp\n" + "".join(f"{i},{np.sin(i / 5):.4f}\n" for i in range(120)))
    with rerun(page):
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(good))
    expect(page.locator(CHART)).to_have_count(7)
    assert_no_exception(page)

    fake = tmp_path / "photo.csv"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with rerun(page):
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(fake))
    expect(page.get_by_text("looks like a PNG image, not a CSV text file")).to_be_visible()
    assert page.locator(CHART).count() == 0  # the run is over: no chart is still to come
    assert_no_exception(page)

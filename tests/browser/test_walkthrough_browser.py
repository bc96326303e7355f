"""Real browser: the /attention walkthrough views follow clicks and toggles."""

import re

from playwright.sync_api import expect

from .helpers import CHARTS, charts_still, expect_redrawn, open_view, rerun

HEADING = "Attention on your text"


def test_clicking_a_token_moves_the_step_view(server, page, artifacts):
    open_view(page, f"{server.url}/attention?view=steps", HEADING)
    expect(page.get_by_role("heading", name="Token 10 (it) through layer 4, head 2")).to_be_visible()
    with rerun(page):
        page.get_by_role("radio", name="street").click()
    expect(page.get_by_role("heading", name="Token 8 (street) through layer 4, head 2")).to_be_visible()
    expect(page).to_have_url(re.compile(r"token=8"))
    charts_still(page)
    page.screenshot(path=str(artifacts / "attention-steps.png"))


def test_causal_toggle_changes_the_map(server, page):
    open_view(page, f"{server.url}/attention", HEADING)
    detail = page.locator(CHARTS).nth(1)
    before = detail.screenshot()
    with rerun(page):
        page.get_by_text("Causal mask (what-if)").click()
    expect(page.get_by_text("trained to look both ways")).to_be_visible()
    expect_redrawn(detail, before)
    expect(page).to_have_url(re.compile(r"causal=1"))


def test_bank_chart_has_seven_points_per_line(server, page, artifacts):
    open_view(page, f"{server.url}/attention?view=context", HEADING)
    chart = page.locator(CHARTS).first
    # two lines (A vs B, and A vs the same-sense control C), each at the embedding + 6 layers; legend symbols aside
    expect(chart.locator("g.mark-symbol.role-mark path")).to_have_count(2 * 7)
    expect(page.get_by_text("Layer 0 is the embedding")).to_be_visible()
    page.screenshot(path=str(artifacts / "attention-context.png"))


def test_scaling_view_reacts_to_d(server, page, artifacts):
    open_view(page, f"{server.url}/attention?view=scaling&d=16", HEADING)
    spread = page.locator('[data-testid="stMetricValue"]').first
    expect(spread).to_have_text(re.compile(r"^\d+\.\d\d$"))
    first = spread.inner_text()
    open_view(page, f"{server.url}/attention?view=scaling&d=1024", HEADING)
    expect(spread).not_to_have_text(first)
    expect(spread).to_have_text(re.compile(r"^\d+\.\d\d$"))
    value = float(spread.inner_text())
    assert abs(value - 32) < 3.2  # sqrt(1024) within 10 %
    page.screenshot(path=str(artifacts / "attention-scaling.png"))

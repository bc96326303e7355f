"""Real browser: the /attention walkthrough views follow clicks and toggles."""

from playwright.sync_api import expect

from .helpers import open_view, wait_idle

HEADING = "Attention on your text"


def test_clicking_a_token_moves_the_step_view(server, page, artifacts):
    open_view(page, f"{server.url}/attention?view=steps", HEADING)
    expect(page.get_by_role("heading", name="Token 10 (it) through layer 4, head 2")).to_be_visible()
    page.get_by_role("radio", name="street").click()
    expect(page.get_by_role("heading", name="Token 8 (street) through layer 4, head 2")).to_be_visible()
    wait_idle(page)
    assert "token=8" in page.url
    page.screenshot(path=str(artifacts / "attention-steps.png"))


def test_causal_toggle_changes_the_map(server, page):
    open_view(page, f"{server.url}/attention", HEADING)
    detail = page.locator('[data-testid="stVegaLiteChart"]').nth(1)
    before = detail.screenshot()
    page.get_by_text("Causal mask (what-if)").click()
    expect(page.get_by_text("trained to look both ways")).to_be_visible()
    wait_idle(page)
    page.wait_for_timeout(500)
    assert detail.screenshot() != before
    assert "causal=1" in page.url


def test_bank_chart_has_seven_points(server, page, artifacts):
    open_view(page, f"{server.url}/attention?view=context", HEADING)
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart.locator("g.mark-symbol path")).to_have_count(7)  # embedding + 6 layers
    expect(page.get_by_text("Layer 0 is the embedding")).to_be_visible()
    page.screenshot(path=str(artifacts / "attention-context.png"))


def test_scaling_view_reacts_to_d(server, page, artifacts):
    open_view(page, f"{server.url}/attention?view=scaling&d=16", HEADING)
    first = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    page.goto(f"{server.url}/attention?view=scaling&d=1024")
    wait_idle(page)
    expect(page.locator('[data-testid="stMetricValue"]').first).not_to_have_text(first)
    value = float(page.locator('[data-testid="stMetricValue"]').first.inner_text())
    assert abs(value - 32) < 3.2  # sqrt(1024) within 10 %
    page.screenshot(path=str(artifacts / "attention-scaling.png"))

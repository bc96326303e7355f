"""Real browser: /attention follows typing and clicks, and handles a 512-token text."""

from playwright.sync_api import expect

from .helpers import open_view, wait_idle

HEADING = "Attention on your text"
def _charts(page):
    return page.locator('[data-testid="stVegaLiteChart"]')


def test_clicking_a_head_in_the_overview_selects_it(server, page, artifacts):
    open_view(page, f"{server.url}/attention", HEADING)
    expect(page.get_by_role("heading", name="Layer 4, head 2: who looks at whom")).to_be_visible()
    page.wait_for_timeout(500)  # let Vega attach its event handlers
    box = _charts(page).nth(0).bounding_box()
    # Click near the middle of the grid (about layer 3-4, head 6-7); nudge if we hit the 4 px gap.
    for dx, dy in [(0, 0), (9, 9), (-9, 9), (9, -9)]:
        page.mouse.click(box["x"] + box["width"] * 0.45 + dx, box["y"] + box["height"] * 0.55 + dy)
        wait_idle(page)
        if "head=" in page.url or "layer=" in page.url:
            break
    query = dict(part.split("=") for part in page.url.split("?")[1].split("&"))
    layer, head = int(query.get("layer", 4)), int(query.get("head", 2))
    assert (layer, head) != (4, 2)
    expect(page.get_by_role("heading", name=f"Layer {layer}, head {head}: who looks at whom")).to_be_visible()
    page.screenshot(path=str(artifacts / "attention-clicked-head.png"))


def test_typing_text_changes_tokens_and_map(server, page):
    open_view(page, f"{server.url}/attention", HEADING)
    before = _charts(page).nth(1).screenshot()
    box = page.get_by_role("textbox", name="Your text")
    box.fill("Bananas are yellow and monkeys love them.")
    box.press("Control+Enter")
    expect(page.get_by_text("10 word pieces")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("radio", name="bananas")).to_be_visible()
    assert _charts(page).nth(1).screenshot() != before
    assert "Bananas" in page.url or "bananas" in page.url.lower()


def test_a_512_token_text_renders_windowed(server, page, artifacts):
    long_text = " ".join(f"word{i % 50}" for i in range(700))
    open_view(page, f"{server.url}/attention", HEADING)
    box = page.get_by_role("textbox", name="Your text")
    box.fill(long_text)
    box.press("Control+Enter")
    expect(page.get_by_text("the model takes at most 512")).to_be_visible(timeout=60_000)
    wait_idle(page)
    expect(page.get_by_text("Showing tokens")).to_be_visible()
    assert _charts(page).count() == 3
    page.screenshot(path=str(artifacts / "attention-512.png"))


def test_script_text_is_shown_not_run(server, page):
    open_view(page, f"{server.url}/attention", HEADING)
    box = page.get_by_role("textbox", name="Your text")
    box.fill('<script>alert("x")</script><img src=x onerror=alert(1)>')
    box.press("Control+Enter")
    expect(page.get_by_role("radio", name="script").first).to_be_visible()
    wait_idle(page)
    assert page.errors == []  # no alert dialog, no page error

"""Real browser: /lookup re-ranks the keys as you type, keeps the URL in step, and never runs markup."""

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from .helpers import assert_no_exception, open_view, wait_idle

HEADING = "Search, softly"


def best_match(page) -> str:
    """The nearest key as the page names it (plain text under 'Nearest key')."""
    return page.locator(".st-key-best-match [data-testid='stText']").inner_text().strip()


def ask(page, text: str) -> None:
    """Type a query into the box and submit it with Enter."""
    box = page.get_by_label("Query", exact=True)
    box.fill(text)
    box.press("Enter")
    wait_idle(page)
    assert_no_exception(page)


def test_typing_a_query_reranks_the_keys(server, page, artifacts):
    open_view(page, f"{server.url}/lookup", HEADING)
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
    ask(page, "funny kittens")
    assert best_match(page) == "funny cat compilation: kittens doing silly things"
    expect(page.get_by_text("KeyError: 'funny kittens'")).to_be_visible()
    page.screenshot(path=str(artifacts / "lookup-kittens.png"))

    ask(page, "homemade bread")
    assert best_match(page) == "sourdough bread from scratch for beginners"
    expect(page.get_by_text("KeyError: 'homemade bread'")).to_be_visible()
    assert parse_qs(urlparse(page.url).query)["q"] == ["homemade bread"]


def test_exact_key_and_low_temperature_agree(server, page, artifacts):
    open_view(page, f"{server.url}/lookup?q=why+the+sky+is+blue", HEADING)
    slider = page.get_by_role("slider", name="Temperature T")
    slider.focus()
    slider.press("Home")  # the lowest stop, T = 0.01
    wait_idle(page)
    assert_no_exception(page)
    expect(page.get_by_text("Both sides agree")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"[?&]temp=0\.01(&|$)"), timeout=20_000)
    page.screenshot(path=str(artifacts / "lookup-exact-key.png"))


def test_markup_query_is_shown_as_text_and_never_runs(server, page, artifacts):
    open_view(page, f"{server.url}/lookup", HEADING)
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    ask(page, payload)
    expect(page.locator('[data-testid="stMain"] [data-testid="stCode"]').first).to_contain_text("<script>alert(2)</script>")
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("script", has_text="alert(2)").count() == 0
    page.wait_for_timeout(500)  # give a stray handler time to fire
    assert page.errors == []  # no dialog opened, no page error
    page.screenshot(path=str(artifacts / "lookup-markup.png"))

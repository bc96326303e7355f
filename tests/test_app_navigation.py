"""AppTest: the app frame and every page render with no exception."""

import pytest

from qkv_ui.pages import STORY

from .apptest_util import all_text, assert_clean, open_page


@pytest.mark.parametrize("page", STORY, ids=lambda p: p.url_path or "home")
def test_every_page_renders_inside_the_frame(page):
    at = open_page(None if not page.url_path else page.script)
    assert_clean(at)
    titles = [t.value for t in at.title]
    assert titles, "page has no title"
    assert "QKV Explainer" in " ".join(c.value for c in at.sidebar.caption), "shared sidebar missing"


def test_home_tells_the_story_in_four_linked_steps():
    at = open_page()
    text = all_text(at)
    for step in ("1 ·", "2 ·", "3 ·", "4 ·"):
        assert step in text
    links = at.get("page_link")
    assert len(links) >= 4


def test_home_draws_the_weights_times_values_picture():
    at = open_page()
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    assert "output = W · v" in charts[0].proto.spec

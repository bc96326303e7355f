"""AppTest: the app frame and every page render with no exception."""

import pytest

from qkv_ui.pages import STORY

from .apptest_util import all_text, assert_clean, chart_specs, open_page


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
    specs = chart_specs(at)
    assert len(specs) == 1
    titles = [part.get("title") for part in specs[0]["hconcat"]]
    assert titles == ["weights W (rows sum to 1)", "values v", "output = W · v"]


def test_home_writes_the_projections_as_every_page_does():
    assert "q = x·W_qᵀ + b_q" in all_text(open_page())

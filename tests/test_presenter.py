"""Presenter mode (banner, counter, Previous / Next, tampered steps) and the "Link to this view" block."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from qkv_ui import presenter
from qkv_ui.pages import ATTENTION, HOME, LOOKUP, SMOOTHING, STORY
from qkv_ui.presenter import STEPS, step_query

from .apptest_util import APP, TIMEOUT, assert_clean, open_page

TITLES = {HOME: "QKV Explainer", SMOOTHING: "Context matters", LOOKUP: "Search, softly",
          ATTENTION: "Attention on your text"}


def open_step(index: int) -> AppTest:
    """Presenter mode on, then the page of step ``index`` opened with that step's URL."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    at.query_params.clear()
    at.query_params.update(step_query(index))
    page = STEPS[index].page
    if page.url_path:
        at.switch_page(page.script)
    at.run()
    return at


def counter(at: AppTest) -> str:
    """The banner's step counter line, e.g. "**Step 3 / 12** · Context matters"."""
    lines = [m.value for m in at.main.markdown if m.value.startswith("**Step ")]
    assert len(lines) == 1, lines
    return lines[0]


def link(at: AppTest) -> str:
    """The sidebar's "Link to this view" code block."""
    blocks = [c.value for c in at.sidebar.code]
    assert len(blocks) == 1, blocks
    return blocks[0]


def title(at: AppTest) -> str:
    return at.title[0].value


# ---------------------------------------------------------------- the tour as data


def test_the_tour_walks_the_story_in_page_order():
    order = [STORY.index(s.page) for s in STEPS]
    assert 8 <= len(STEPS) <= 17
    assert order == sorted(order), "steps go home → smoothing → lookup → attention"
    assert set(order) == set(range(len(STORY))), "every page has a step"
    views = [(s.page, tuple(sorted(s.params.items()))) for s in STEPS]
    assert len(set(views)) == len(views), "no two steps show the same view"


@pytest.mark.parametrize("raw, page, expected, refused", [
    (None, HOME, 0, False),  # presenter mode just turned on at home
    (None, LOOKUP, 5, False),  # the sidebar switched to /lookup: its first step
    ("3", SMOOTHING, 2, False),  # a good step on its own page
    (str(len(STEPS)), ATTENTION, len(STEPS) - 1, False),  # the last step
    ("0", HOME, 0, True),  # steps count from 1
    ("99", HOME, 0, True),  # past the end
    ("-1", HOME, 0, True),
    ("2.5", HOME, 0, True),  # not a whole number
    ("<b>2</b>", HOME, 0, True),  # markup
    ("1" * 5000, HOME, 0, True),  # too long to be a number at all
    ("2", LOOKUP, 5, True),  # step 2 is on /smoothing, not here: this page's first step
    ("abc", ATTENTION, 9, True),  # the first step that shows /attention, not the question before it
])
def test_resolve_step_falls_back_to_the_pages_first_step(raw, page, expected, refused):
    index, problem = presenter.resolve_step(raw, page, {})
    assert index == expected
    assert (problem is not None) == refused
    if problem:
        assert "<" not in problem and "1111" not in problem  # the raw value is never echoed


def test_without_a_step_the_view_on_screen_picks_its_step():
    exact_key = dict(STEPS[7].params)
    assert presenter.resolve_step(None, LOOKUP, exact_key) == (7, None)
    assert presenter.resolve_step(None, LOOKUP, {"q": "something else"}) == (5, None)
    assert presenter.resolve_step(None, LOOKUP, {"predict": "1"}) == (6, None)  # the step that asks the room


# ---------------------------------------------------------------- the banner


def test_present_flag_shows_step_one_narration_and_counter():
    at = open_page(params={"present": "1"})
    assert_clean(at)
    assert at.toggle(key="present").value is True
    assert counter(at) == f"**Step 1 / {len(STEPS)}** · Home"
    assert STEPS[0].narration in [m.value for m in at.main.markdown]
    assert at.button(key="presenter-prev").disabled and not at.button(key="presenter-next").disabled
    assert at.query_params["present"] == "1" and at.query_params["step"] == "1"


def test_without_the_flag_there_is_no_banner():
    at = open_page()
    assert at.toggle(key="present").value is False
    assert not [m for m in at.main.markdown if m.value.startswith("**Step ")]
    assert "present" not in at.query_params and "step" not in at.query_params


def test_next_opens_step_two_page_then_step_three_params():
    at = open_page(params={"present": "1"})
    at.button(key="presenter-next").click().run()
    assert_clean(at)
    assert title(at) == "Context matters"
    assert counter(at).startswith(f"**Step 2 / {len(STEPS)}**")
    assert STEPS[1].narration in [m.value for m in at.main.markdown]
    assert at.query_params == {"present": "1", "step": "2"}

    at.button(key="presenter-next").click().run()  # step 3 asks the room: predict mode on, the question shown
    assert_clean(at)
    assert counter(at).startswith(f"**Step 3 / {len(STEPS)}**")
    assert at.toggle(key="predict").value is True
    assert at.button(key="predict-smoothing-reveal")
    assert at.query_params == {"predict": "1", "present": "1", "step": "3"}

    at.button(key="presenter-next").click().run()
    assert_clean(at)
    assert counter(at).startswith(f"**Step 4 / {len(STEPS)}**")
    assert at.slider(key="sigma").value == 20.0
    assert at.toggle(key="predict").value is False  # the step's own view: no question
    assert not [b for b in at.button if b.key == "predict-smoothing-reveal"]
    assert at.query_params == {"sigma": "20", "present": "1", "step": "4"}
    assert at.toggle(key="present").value is True  # still presenting after two page switches


def test_previous_returns_to_the_steps_own_view_not_the_last_controls():
    at = open_step(11)  # /attention?view=heads&layer=1
    assert at.slider(key="layer").value == 1
    at.button(key="presenter-prev").click().run()
    assert_clean(at)
    assert counter(at).startswith(f"**Step 11 / {len(STEPS)}**")
    assert at.session_state["view"] == "steps"
    assert at.slider(key="layer").value == 4  # step 8 names no layer: the default, not step 9's layer 1
    assert at.query_params == {"view": "steps", "present": "1", "step": "11"}


def test_last_step_has_no_next():
    at = open_step(len(STEPS) - 1)
    assert counter(at).startswith(f"**Step {len(STEPS)} / {len(STEPS)}**")
    assert at.button(key="presenter-next").disabled and not at.button(key="presenter-prev").disabled


@pytest.mark.parametrize("index", range(len(STEPS)), ids=lambda i: f"step{i + 1}")
def test_every_step_opens_its_exact_view(index):
    """Each step's parameters are valid and not defaults: the page accepts and republishes them unchanged."""
    at = open_step(index)
    assert_clean(at)
    step = STEPS[index]
    assert title(at) == TITLES[step.page]
    assert counter(at).startswith(f"**Step {index + 1} / {len(STEPS)}**")
    assert not at.warning, [w.value for w in at.warning]
    assert at.query_params == step_query(index)


@pytest.mark.parametrize("raw, reason", [
    ("99", f"step must be between 1 and {len(STEPS)}"),
    ("two", "step must be a whole number"),
    ('"><img src=x onerror=alert(1)>', "step must be a whole number"),
])
def test_tampered_step_says_so_and_shows_step_one(raw, reason):
    at = open_page(params={"present": "1", "step": raw})
    assert_clean(at)
    notices = [w.value for w in at.warning]
    assert len(notices) == 1 and reason in notices[0] and "step 1 instead" in notices[0]
    assert "<img" not in notices[0]
    assert counter(at).startswith(f"**Step 1 / {len(STEPS)}**")
    assert at.query_params["step"] == "1"  # the URL is repaired


def test_step_from_another_page_falls_back_to_this_pages_first_step():
    at = open_page(params={"present": "1"})
    at.query_params["step"] = "2"  # a /smoothing step, opened on /lookup
    at.switch_page(LOOKUP.script)
    at.run()
    assert_clean(at)
    assert any("step 2 is on another page" in w.value for w in at.warning)
    assert counter(at).startswith(f"**Step 6 / {len(STEPS)}**")


def test_tampered_present_flag_is_refused_with_a_notice():
    at = open_page(params={"present": "yes please"})
    assert_clean(at)
    assert any("`present`" in w.value for w in at.warning)
    assert at.toggle(key="present").value is False


def test_turning_presenter_mode_off_clears_its_url_flags():
    at = open_page(params={"present": "1"})
    at.toggle(key="present").set_value(False).run()
    assert_clean(at)
    assert "present" not in at.query_params and "step" not in at.query_params
    assert not [m for m in at.main.markdown if m.value.startswith("**Step ")]


# ---------------------------------------------------------------- link to this view


def test_link_block_follows_the_pages_controls():
    at = open_page(LOOKUP.script)
    assert link(at) == "/lookup"  # AppTest has no browser URL: the link is relative
    at.select_slider(key="temp").set_value(0.01).run()
    at.text_input(key="q").input("funny cats & dogs").run()
    assert_clean(at)
    path, _, query = link(at).partition("?")
    assert path == "/lookup"
    assert dict(parse_qsl(query)) == {"q": "funny cats & dogs", "temp": "0.01"}
    assert "funny%20cats%20%26%20dogs" in query  # encoded: the & inside the query is not a separator


def test_link_leaves_out_presenter_flags():
    at = open_step(3)
    assert link(at) == "/smoothing?sigma=20"
    at = open_page(params={"present": "1"})
    assert link(at) == "/"


def test_no_stale_link_when_the_page_stops_early():
    at = open_page(LOOKUP.script)
    at.text_input(key="q").input("   ").run()  # an empty query ends the page with st.stop()
    assert_clean(at)
    assert at.query_params["q"] == "   "  # the page still published its controls…
    assert not at.sidebar.code  # …but nothing is drawn after st.stop(): no link rather than an old one


def test_the_flagship_narration_is_what_the_model_computes():
    """Step 10's sentence, checked on the real model: layer 4, head 2, 'it' gives about two thirds to 'animal' in
    the tour's sentence, and 'animal' still leads the words when the sentence ends 'too wide'."""
    from qkv_core.encoder import load_pretrained
    from qkv_core.heads import compare_query

    step = STEPS[9]
    assert "two thirds" in step.narration and "too wide" in step.narration
    encoder = load_pretrained()
    tired = "The animal didn't cross the street because it was too tired."
    wide = tired.replace("tired", "wide")
    a, b = encoder.trace(tired), encoder.trace(wide)
    found = compare_query(a, b, 3, 1, a.tokens.index("it"))
    assert found is not None
    (top_tired, top_wide) = found.word_top
    assert top_tired.token == top_wide.token == "animal"
    assert 0.6 <= top_tired.weight <= 0.72  # "about two thirds"


def test_a_long_link_stays_one_line_and_its_block_still_holds_all_of_it():
    at = open_page(LOOKUP.script)
    assert at.sidebar.code[0].proto.wrap_lines  # a short link wraps: it fits in a few lines
    long_query = "a long query about " + "cats and dogs " * 30
    at.text_input(key="q").input(long_query).run()
    assert_clean(at)
    full = link(at)
    assert dict(parse_qsl(full.partition("?")[2]))["q"] == long_query  # the block carries the whole link
    assert not at.sidebar.code[0].proto.wrap_lines  # one line that scrolls, not a wall of encoded text
    assert f"Link to this view ({len(full):,} characters" in at.sidebar.caption[-1].value


def test_the_context_narration_is_what_the_model_computes():
    """Step 13's sentence on the real model: 'bank' starts alike in the river and loan sentences and ends further
    apart than the river bank and the stream bank (the control) do."""
    from qkv_core.encoder import load_pretrained
    from qkv_core.vectors import compare_with_control, find_word
    from qkv_ui.attention.context import PARAMS

    step = STEPS[12]
    assert step.params == {"view": "context"} and "stream bank" in step.narration
    texts = {p.key: p.default for p in PARAMS}
    encoder = load_pretrained()
    traces = [encoder.trace(texts[k]) for k in ("s1", "s2", "s3")]
    found = compare_with_control(traces, [find_word(t, texts["word"])[0] for t in traces])
    assert found.pair.cosines[0] > 0.999  # the same vector on the way in
    drift, control = 1 - found.pair.cosines[-1], 1 - found.control.cosines[-1]
    assert drift > 2 * control  # "much further"


def test_the_knockout_narration_is_what_the_model_computes():
    """The explain step's sentence on the real model: its off= list is the ten least important heads on the default
    text; switched off together they keep a cosine above 0.99, and the most important head alone moves the
    embedding more than those ten together."""
    import numpy as np

    from qkv_core import explain
    from qkv_core.encoder import load_pretrained
    from qkv_ui.attention.explain import off_param

    step = next(s for s in STEPS if s.params.get("view") == "explain" and "off" in s.params)
    assert "ten heads" in step.narration and "above 0.99" in step.narration and step.focus == "knockout"
    encoder = load_pretrained()
    text = "The animal didn't cross the street because it was too tired."
    importance = explain.head_importance(encoder, text)  # (L, H)
    off = off_param(*importance.shape).parse(step.params["off"])
    least = set(np.argsort(importance, axis=None, kind="stable")[:10].tolist())
    assert {layer * importance.shape[1] + head for layer, head in off} == least
    together = explain.knockout(encoder, text, off)
    assert together.cosine > 0.99
    top = np.unravel_index(int(np.argmax(importance)), importance.shape)
    assert importance[top] > together.change
    alone = explain.knockout(encoder, text, {(int(top[0]), int(top[1]))})
    assert alone.change == pytest.approx(importance[top], abs=1e-5)

"""AppTest: the /lookup page — dict lookup versus soft attention retrieval on one editable store."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from streamlit import dataframe_util

import qkv_core.encoder as encoder_module
from qkv_core.store import TOPICS, decode_store, encode_store, numbers_preset, video_preset
from qkv_ui import charts, urlstate
from qkv_ui.pages import ATTENTION, LOOKUP

from .apptest_util import all_text, assert_clean, chart_specs, open_page
from .hostile.corpus import deflated_store

CAT_VIDEO = "funny cat compilation: kittens doing silly things"
SKY = "why the sky is blue"
EDITOR = "store-videos-0"  # the data editor's key before any reset


def lookup(params: dict[str, str] | None = None):
    """The /lookup page after its first run (optionally opened from a link with URL parameters)."""
    at = open_page(LOOKUP.script, params)
    assert_clean(at)
    return at


def datasets(at) -> dict[str, pd.DataFrame]:
    """Every named dataset of every chart on the page (the charts send their data as Arrow)."""
    return {d.name: dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data)
            for el in at.get("vega_lite_chart") for d in el.proto.datasets}


def markdown_text(at) -> str:
    """Everything rendered as markdown (where user text could become links, images or LaTeX)."""
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(el.value) for kind in kinds for el in at.get(kind))


def best_match(at) -> str:
    """The nearest key the page names (a plain-text element)."""
    return at.text[-1].value


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def code(at) -> str:
    """The page's own code blocks (the sidebar's "link to this view" block is the frame's)."""
    return "\n".join(c.value for c in at.main.code)


def query(at, text: str):
    at.text_input(key="q").input(text).run()
    assert_clean(at)
    return at


def edit_store(edits: dict, params: dict[str, str] | None = None):
    """The page with the store's data editor seeded with edits (edited_rows / added_rows / deleted_rows)."""
    at = lookup(params)
    at.session_state[EDITOR] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **edits}
    at.run()
    assert_clean(at)
    return at


# ---------------------------------------------------------------- the two lookups


def test_default_query_fails_the_dict_and_finds_the_cat_video_softly():
    at = lookup()
    assert "KeyError: 'funny kittens'" in code(at)
    assert any("No exact match" in e.value for e in at.error)
    assert best_match(at) == CAT_VIDEO
    bars = datasets(at)["bars"]
    assert bars["key"][0] == CAT_VIDEO and bars["weight"].is_monotonic_decreasing
    assert bars["weight"].sum() == pytest.approx(1.0)
    assert "Your result: " in all_text(at) and "% cats" in all_text(at)
    assert any("soft lookup still answers" in i.value for i in at.info)


def test_exact_key_at_low_temperature_both_sides_agree():
    at = lookup({"q": SKY, "temp": "0.01"})
    assert "'science': 1.0" in code(at)
    assert any("Exact match" in s.value for s in at.success)
    assert any("Both sides agree" in s.value for s in at.success)
    assert best_match(at) == SKY
    out = datasets(at)["out"].set_index("col_label")["value"]
    assert out["science"] == pytest.approx(1.0, abs=1e-3)  # soft result = the dict's value


def test_exact_key_at_high_temperature_is_still_a_blend():
    at = lookup({"q": SKY, "temp": "1"})
    assert any("Exact match" in s.value for s in at.success)
    assert any("Slide T toward 0.01" in i.value for i in at.info)
    assert datasets(at)["out"].set_index("col_label")["value"]["science"] < 0.9


def test_case_differs_dict_fails_but_soft_finds_the_key():
    at = lookup({"preset": "numbers", "q": "Seven", "temp": "0.01"})
    assert "KeyError: 'Seven'" in code(at)
    assert "only in upper/lower case" in all_text(at)
    assert best_match(at) == "seven"
    assert metric(at, "Result: Σ weight · value") == "7"


# ---------------------------------------------------------------- temperature and similarity


def test_low_temperature_collapses_onto_the_nearest_key():
    at = lookup({"temp": "0.01"})
    assert "Now collapsed" in all_text(at)
    assert metric(at, "Keys blended") == "≈ 1.0 of 16"
    w = datasets(at)["bars"]["weight"]
    assert w[0] > 0.999 and w[1:].max() < 1e-3
    assert "nearest-key lookup" in all_text(at)


def test_high_temperature_flattens_to_the_plain_average():
    at = lookup({"temp": "100"})
    assert "Now nearly flat" in all_text(at)
    assert metric(at, "Keys blended") == "≈ 16.0 of 16"
    out = datasets(at)["out"].set_index("col_label")["value"]
    mean = video_preset()[list(TOPICS)].mean()
    np.testing.assert_allclose(out[list(TOPICS)].to_numpy(), mean.to_numpy(), atol=2e-3)


def test_moving_temperature_sharpens_the_weights_and_updates_the_url():
    at = lookup()
    top = [datasets(at)["bars"]["weight"][0]]
    for t in (0.02, 1.0, 10.0):
        at.select_slider(key="temp").set_value(t).run()
        assert_clean(at)
        top.append(datasets(at)["bars"]["weight"][0])
    assert top[1] > top[0] > top[2] > top[3]  # T 0.02 > 0.1 (default) > 1 > 10
    assert at.query_params["temp"] == "10"


def test_temperature_change_does_no_model_work(monkeypatch):
    at = lookup()
    calls = []
    real = encoder_module.Encoder.embed
    monkeypatch.setattr(encoder_module.Encoder, "embed", lambda self, texts, *a, **k: calls.append(texts) or
                        real(self, texts, *a, **k))
    for t in (0.5, 5.0, 0.05):
        at.select_slider(key="temp").set_value(t).run()
    assert_clean(at)
    assert calls == []  # query and key embeddings both came from the cache
    query(at, "a query no test has asked before: otters")
    assert calls == [["a query no test has asked before: otters"]]  # a new query is embedded, alone


@pytest.mark.parametrize("sim, factor", [
    ("dot", 1.0),                          # unit vectors: dot product = cosine
    ("scaled_dot", 1 / math.sqrt(384)),    # divided by sqrt(d), d = 384
])
def test_similarity_choice_rescales_the_scores(sim, factor):
    cosine = lookup()
    at = lookup({"sim": sim})
    expected = datasets(cosine)["bars"].set_index("key")["score"] * factor
    got = datasets(at)["bars"].set_index("key")["score"]
    np.testing.assert_allclose(got[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-4, atol=1e-6)
    assert at.query_params["sim"] == sim


def test_scaled_dot_at_the_same_temperature_gives_flatter_weights():
    assert datasets(lookup({"sim": "scaled_dot"}))["bars"]["weight"][0] < datasets(lookup())["bars"]["weight"][0]


# ---------------------------------------------------------------- query, presets, URL


def test_typing_a_query_reranks_the_keys_and_goes_into_the_url():
    at = query(lookup(), "homemade bread")
    assert best_match(at) == "sourdough bread from scratch for beginners"
    assert datasets(at)["bars"]["key"][0] == "sourdough bread from scratch for beginners"
    assert at.query_params["q"] == "homemade bread"


def test_example_pill_fills_the_query():
    at = lookup()
    at.button_group(key="example").set_value(SKY).run()
    assert_clean(at)
    assert at.text_input(key="q").value == SKY
    assert any("Exact match" in s.value for s in at.success)


def test_switching_to_the_numbers_preset():
    at = lookup()
    at.button_group(key="preset").set_value("numbers").run()
    assert_clean(at)
    assert at.data_editor[0].value["key"].tolist() == numbers_preset()["key"].tolist()
    assert at.text_input(key="q").value == "a dozen"  # the preset's own example replaces the old one
    assert best_match(at) == "twelve"
    assert "Result: Σ weight · value" in [m.label for m in at.metric]
    assert at.query_params["preset"] == "numbers"


def test_a_link_naming_only_the_numbers_preset_asks_its_example():
    at = lookup({"preset": "numbers"})
    assert at.text_input(key="q").value == "a dozen"
    assert best_match(at) == "twelve"
    assert at.query_params["q"] == "a dozen"  # not the default query, so the link now names it


def test_link_restores_every_control():
    at = lookup({"q": "running a race", "temp": "0.5", "sim": "dot", "preset": "videos"})
    assert at.text_input(key="q").value == "running a race"
    assert at.select_slider(key="temp").value == 0.5
    assert at.button_group(key="sim").value == "dot"
    assert not at.warning


@pytest.mark.parametrize("params, key", [
    ({"temp": "0.3"}, "temp"),             # not one of the slider's stops
    ({"temp": "nan"}, "temp"),             # not a number a slider can hold
    ({"sim": "euclid"}, "sim"),            # unknown similarity
    ({"preset": "../etc"}, "preset"),      # unknown preset
    ({"q": "x" * 10_000}, "q"),            # a 10,000-character query in a link
])
def test_tampered_link_falls_back_to_defaults_with_a_notice(params, key):
    at = lookup(params)
    assert any(f"`{key}`" in w.value for w in at.warning)
    assert not at.exception


def test_float_choice_param_accepts_spellings_of_a_stop_only():
    p = urlstate.float_choice_param("temp", 0.1, (0.01, 0.1, 1.0))
    assert p.parse("1e-1") == 0.1 and p.parse("0.10") == 0.1
    assert p.dump(0.01) == "0.01" and p.dump(1.0) == "1"
    for raw in ("0.3", "inf", "", "abc"):
        with pytest.raises(ValueError):
            p.parse(raw)


def test_closing_panel_links_to_attention():
    at = lookup()
    assert ATTENTION.url_path in [link.proto.page for link in at.get("page_link")]
    assert "q = x·W_qᵀ + b_q" in all_text(at)  # the projections as every page writes them


# ---------------------------------------------------------------- reading the scores honestly

TAX = "quarterly tax filing deadline"  # nothing in the video store is about taxes


def score_domain(at) -> list[float]:
    """The x domain of the score panel (the left half of the scores-and-weights chart)."""
    spec = next(s for s in chart_specs(at) if "hconcat" in s and s["hconcat"][0].get("title") == "score")
    return spec["hconcat"][0]["encoding"]["x"]["scale"]["domain"]


@pytest.mark.parametrize("q", ["funny kittens", TAX])
def test_cosine_axis_is_fixed_whatever_the_query(q):
    assert score_domain(lookup({"q": q})) == [-1.0, 1.0]  # cosine is in [-1, 1]: a weak best bar stays short


@pytest.mark.parametrize("sim, bound", [
    ("dot", 1.0),                        # unit vectors: |dot| <= 1
    ("scaled_dot", 1 / math.sqrt(384)),  # ÷ √d, d = 384
])
def test_dot_axes_are_fixed_by_the_vectors_lengths(sim, bound):
    lo, hi = score_domain(lookup({"q": TAX, "sim": sim}))
    assert hi == pytest.approx(bound, rel=2e-3) and lo == -hi


def test_a_query_that_matches_nothing_says_so_with_its_best_score():
    at = lookup({"q": TAX})
    best = datasets(at)["bars"]["score"].max()
    assert best < 0.3
    notice = " ".join(w.value for w in at.warning)
    assert f"the best cosine similarity is {best:.2f} (below 0.3)" in notice
    assert "not found" in notice
    assert not any("soft lookup still answers" in i.value for i in at.info)  # the warning says it instead


@pytest.mark.parametrize("params", [{"q": "funny kittens"}, {"q": "a dozen", "preset": "numbers"}])
def test_a_query_that_matches_well_gets_no_weak_match_notice(params):
    at = lookup(params)
    assert datasets(at)["bars"]["score"].max() > 0.7
    assert not any("matches well" in w.value for w in at.warning)


def test_weights_times_values_lists_the_keys_in_the_ranked_order_of_the_chart_above():
    at = lookup()
    data = datasets(at)
    ranked = data["bars"]["key"].tolist()
    w = data["w"].sort_values("row")
    assert w["row_label"].tolist() == ranked
    assert w["value"].is_monotonic_decreasing  # ranked by score, so by weight too
    v = data["v"]
    assert v.loc[v["row"] == 0, "row_label"].iloc[0] == CAT_VIDEO


def test_keys_blended_and_temperature_are_glossed_where_they_appear():
    text = all_text(lookup())
    assert "Keys blended = e^entropy of the weights" in text and "nats" in text
    assert "Temperature T divides the scores before the softmax" in text


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_query_asks_for_one(text):
    at = query(lookup(), text)
    assert any("Type a query" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


def test_very_long_query_is_cut_with_a_note():
    at = lookup()
    at.session_state["q"] = "a " * 5000  # 10,000 characters; the browser's box stops at 1,000
    at.run()
    assert_clean(at)
    assert "Queries stop at 1,000 characters" in all_text(at)
    assert "The model reads only the first 254 word pieces" in all_text(at)
    transcript = code(at)
    assert "KeyError: 'a a a" in transcript and len(transcript) < 200  # the echo is cut too


@pytest.mark.parametrize("text, note", [
    ("😺🍕", "unknown to the model"),           # emoji: [UNK] pieces
    ("猫の動画", "unknown to the model"),        # CJK: some characters are [UNK]
    ("قطط مضحكة", None),                         # right-to-left Arabic: known pieces
    ("a\u202eb\u200dc", None),                   # bidi override and zero-width joiner
])
def test_unusual_scripts_get_an_answer(text, note):
    at = query(lookup(), text)
    assert f"KeyError: {text!r}" in code(at)
    assert len(datasets(at)["bars"]) == 16
    if note:
        assert note in all_text(at)


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    '<img src="https://example.com/x.png" onerror="alert(1)">',
    "![pic](https://example.com/x.png) [link](https://example.com)",
    "$x^2$ **bold** `code` <b>b</b>",
])
def test_markup_in_the_query_is_only_shown_as_text(text):
    at = query(lookup(), text)
    assert text in code(at)  # st.code shows it verbatim
    assert text not in markdown_text(at)
    assert "example.com" not in markdown_text(at)


def test_duplicate_keys_keep_the_last_row_and_say_so():
    at = edit_store({"edited_rows": {1: {"title": CAT_VIDEO, "music": 0.9}}}, {"q": CAT_VIDEO})
    assert any("need attention" in w.value for w in at.warning)
    problems = "\n".join(t.value for t in at.text)
    assert "appears in rows 1, 2" in problems
    assert len(datasets(at)["bars"]) == 15
    assert "'cats': 0.6" in code(at)  # the dict holds the last row's value, as dict(pairs) would


def test_blank_key_row_is_dropped_with_a_message():
    at = edit_store({"edited_rows": {0: {"title": "   "}}, "added_rows": [{}]})
    problems = "\n".join(t.value for t in at.text)
    assert "row 1: key is blank" in problems and "row 17: key is blank" in problems
    assert len(datasets(at)["bars"]) == 15


def test_emptied_store_stops_with_a_clear_error():
    at = edit_store({"deleted_rows": list(range(16))})
    assert any("The store is empty" in e.value for e in at.error)
    assert not at.get("vega_lite_chart")


@pytest.mark.parametrize("cell, reason", [
    ("abc", "'cats' is empty"),   # the editor turns text in a number column into a missing value
    (None, "'cats' is empty"),    # a cleared cell
])
def test_non_numeric_value_drops_the_row(cell, reason):
    at = edit_store({"edited_rows": {0: {"cats": cell}}})
    problems = "\n".join(t.value for t in at.text)
    assert "row 1" in problems and reason in problems
    assert CAT_VIDEO not in datasets(at)["bars"]["key"].tolist()


def test_negative_values_still_answer_without_a_topic_mix():
    at = edit_store({"edited_rows": {0: {"cats": -5.0}}})
    assert "Result: Σ weight · value" in [m.label for m in at.metric]
    assert "Your result" not in all_text(at)


def test_edited_store_is_used_and_flagged_and_reset_restores_the_preset():
    new = "<b>my</b> new video about [dogs](https://example.com)"
    at = edit_store({"added_rows": [{"title": new, **dict.fromkeys(TOPICS, 0.0), "sport": 1.0}]}, {"q": new})
    assert any("Exact match" in s.value for s in at.success)
    assert "'sport': 1.0" in code(at)
    assert "differs from the preset" in all_text(at)
    assert new not in markdown_text(at)
    assert "store" in at.query_params
    at.button(key="reset").click().run()
    assert_clean(at)
    assert "differs from the preset" not in all_text(at)
    assert "store" not in at.query_params
    assert len(at.data_editor[0].value) == 16
    assert f"KeyError: {new!r}" in code(at)


# ---------------------------------------------------------------- the store in a link


def link_of(at) -> dict[str, str]:
    """The URL parameters the page has published: what "Link to this view" carries."""
    return {k: at.query_params[k] for k in at.query_params}


def test_a_link_carries_an_edited_store_and_reproduces_the_view():
    new = "my dog learns to skateboard"
    at = edit_store({"added_rows": [{"title": new, **dict.fromkeys(TOPICS, 0.0), "cats": 0.5, "sport": 0.5}],
                     "edited_rows": {4: {"cooking": 0.75, "science": 0.25}}}, {"q": new})
    link = link_of(at)
    assert len(link["store"]) < 120  # deflated against the preset: a few edits cost a few dozen characters
    shared = lookup(link)  # a fresh session opened from the link
    assert not shared.warning
    editor = shared.data_editor[0].value
    assert len(editor) == 17 and editor["title"].iloc[-1] == new
    assert editor.loc[4, ["cooking", "science"]].tolist() == [0.75, 0.25]
    assert any("Exact match" in s.value for s in shared.success)
    assert "'cats': 0.5" in code(shared)
    assert "The store: 17 keys" in shared.expander[0].label
    assert link_of(shared)["store"] == link["store"]  # the link stays as it was


def test_a_store_from_a_link_can_be_edited_further_and_reset():
    code_ = encode_store(["one", "a dozen"], [[1.0], [12.0]], numbers_preset())
    at = lookup({"preset": "numbers", "store": code_, "q": "a dozen"})
    assert at.data_editor[0].value["key"].tolist() == ["one", "a dozen"]
    assert any("Exact match" in s.value for s in at.success)
    at.session_state["store-numbers-0"] = {"edited_rows": {}, "added_rows": [{"key": "two", "value": 2.0}],
                                           "deleted_rows": []}
    at.run()
    assert decode_store(at.query_params["store"], numbers_preset())["key"].tolist() == ["one", "a dozen",
                                                                                                "two"]
    at.button(key="reset").click().run()
    assert_clean(at)
    assert at.data_editor[0].value["key"].tolist() == numbers_preset()["key"].tolist()
    assert "store" not in at.query_params


def test_switching_preset_leaves_the_links_store_behind():
    code_ = encode_store(["one", "a dozen"], [[1.0], [12.0]], numbers_preset())
    at = lookup({"preset": "numbers", "store": code_})
    at.button_group(key="preset").set_value("videos").run()
    at.button_group(key="preset").set_value("numbers").run()
    assert_clean(at)
    assert len(at.data_editor[0].value) == 12
    assert "store" not in at.query_params


def test_a_store_too_big_for_a_link_says_so_and_leaves_it_out():
    rng = np.random.default_rng(0)
    rows = [{"title": "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 24)), **dict.fromkeys(TOPICS, 0.0),
             "music": float(rng.random())} for _ in range(120)]  # random titles do not compress
    at = edit_store({"added_rows": rows})
    assert any("too big to carry in a link" in w.value for w in at.warning)
    assert "store" not in at.query_params
    assert len(datasets(at)["bars"]) == min(136, charts.MAX_LOOKUP_ROWS)  # the page still uses the whole store


def test_edits_that_change_nothing_usable_add_nothing_to_the_link():
    at = edit_store({"added_rows": [{}]})  # a blank row is dropped: the store the page uses is the preset
    assert "store" not in at.query_params
    assert "differs from the preset" not in all_text(at)


@pytest.mark.parametrize("store, reason", [
    ("hello", "not a store code"),
    ("1.", "not a store code"),
    ("2.eNpLAQ", "not a store code"),                  # a future format
    ("1.<script>", "not a store code"),
    ("1.AAAA", "damaged"),
    ("1." + "A" * 3000, "damaged"),
    ("numbers", "made for another preset"),             # a numbers store opened as videos
    ("narrow", "cells for this preset"),
    ("bomb", "too large"),
    ("empty", "at least one row"),
    ("nan", "damaged"),
    ("bigint", "finite numbers"),
    ("blank", "non-blank text"),
    ("surrogate", "valid Unicode"),                     # JSON can spell a lone surrogate: "\ud800"
])
def test_tampered_store_in_a_link_falls_back_to_the_preset_with_a_notice(store, reason):
    made = {
        "numbers": lambda: encode_store(["one"], [[1.0]], numbers_preset()),
        "bomb": lambda: deflated_store("[" + " " * 1_000_000 + "]"),
        "empty": lambda: deflated_store("[]"),
        "nan": lambda: deflated_store('[["a",NaN,0,0,0,0]]'),
        "bigint": lambda: deflated_store('[["a",' + "9" * 400 + ',0,0,0,0]]'),
        "blank": lambda: deflated_store('[["  ",1,0,0,0,0]]'),
        "narrow": lambda: deflated_store('[["one",1]]'),
        "surrogate": lambda: deflated_store('[["a\\ud800b",1,0,0,0,0]]'),
    }
    at = lookup({"store": made[store]() if store in made else store})
    notice = " ".join(w.value for w in at.warning if "`store`" in w.value)
    assert reason in notice
    assert len(at.data_editor[0].value) == 16
    assert "store" not in at.query_params

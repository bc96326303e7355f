"""AppTest: the /attention explain view (view=explain) and the map view's weighting control, on the real model."""

from __future__ import annotations

import numpy as np
import pytest

from qkv_core import explain
from qkv_core.encoder import load_pretrained

from .apptest_util import all_text, assert_clean, chart_specs, open_page

PAGE = "pages/story/attention.py"
DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."


@pytest.fixture(scope="module")
def encoder():
    return load_pretrained()


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def _cosine_shown(at) -> float:
    return float(next(m for m in at.metric if "cosine" in m.label).value)


def _embedding_cosine(encoder, text: str, off: set[tuple[int, int]]) -> float:
    """The reference: Encoder.embed with and without those heads masked (0-based), cosine of the two."""
    mask = np.ones((encoder.config.n_layers, encoder.config.n_heads))
    for layer, head in off:
        mask[layer, head] = 0.0
    a, b = encoder.embed([text])[0], encoder.embed([text], head_mask=mask)[0]
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_explain_view_shows_its_four_parts_with_citations():
    at = open_page(PAGE, {"view": "explain"})
    assert_clean(at)
    text = all_text(at)
    for heading in ("1. Weights, or what actually moves?", "2. Through the layers: rollout", "3. Switch heads off",
                    "4. Which explanation is right on your sentence?"):
        assert heading in text
    for paper in ("Kobayashi et al. (2020)", "Abnar & Zuidema (2020)", "Michel, Levy & Neubig (2019)",
                  "Jain & Wallace (2019)", "Wiegreffe & Pinter (2019)"):
        assert paper in text
    assert _cosine_shown(at) == pytest.approx(1.0)


def test_every_control_round_trips_through_the_url():
    at = open_page(PAGE, {"view": "explain", "text": "Cats chase mice.", "layer": "3", "head": "5",
                          "off": "4.2,1.3,4.2"})
    assert_clean(at)
    assert at.text_area(key="text").value == "Cats chase mice."
    assert (at.slider(key="layer").value, at.slider(key="head").value) == (3, 5)
    assert at.session_state["off"] == frozenset({(3, 1), (0, 2)})
    assert _param(at, "off") == "1.3,4.2"  # written back sorted, the duplicate gone
    assert "2 of 72 heads off (layer.head): 1.3, 4.2." in all_text(at)
    at.slider(key="layer").set_value(6).run()
    assert _param(at, "layer") == "6" and _param(at, "off") == "1.3,4.2"
    assert "rollout, layers 1–6" in [s.get("title") for s in chart_specs(at)]


def test_switching_heads_off_changes_the_cosine_shown(encoder):
    intact = open_page(PAGE, {"view": "explain"})
    knocked = open_page(PAGE, {"view": "explain", "off": "6.12,6.8"})
    assert_clean(knocked)
    expected = _embedding_cosine(encoder, DEFAULT_TEXT, {(5, 11), (5, 7)})
    assert _cosine_shown(intact) == pytest.approx(1.0)
    assert _cosine_shown(knocked) == pytest.approx(expected, abs=1e-4)
    assert _cosine_shown(knocked) < 0.99  # two of the most important heads on this text: a visible change
    assert "How far each token's final vector moved" in all_text(knocked)


def test_reset_switches_every_head_back_on():
    at = open_page(PAGE, {"view": "explain", "off": "6.12"})
    assert _cosine_shown(at) < 1.0
    at.button(key="explain-reset").click().run()
    assert_clean(at)
    assert _cosine_shown(at) == pytest.approx(1.0)
    assert at.query_params.get("off") in (None, [], "")
    assert "All 72 heads on" in all_text(at)


def test_the_least_important_heads_sentence_is_measured(encoder):
    at = open_page(PAGE, {"view": "explain"})
    importance = explain.head_importance(encoder, DEFAULT_TEXT)
    order = np.argsort(importance, axis=None, kind="stable")[:10]
    least = {(int(i) // importance.shape[1], int(i) % importance.shape[1]) for i in order}
    change = 1 - _embedding_cosine(encoder, DEFAULT_TEXT, least)
    sentence = next(c.value for c in at.caption if c.value.startswith("The 10 least important heads"))
    assert f"together change the embedding by {change:.4f}" in sentence
    assert change < importance.max()  # ten of the weakest heads matter less than the strongest one alone


def test_value_weighting_shift_is_the_measured_one(encoder):
    at = open_page(PAGE, {"view": "explain", "layer": "1", "head": "1"})
    trace = encoder.trace(DEFAULT_TEXT)
    norm = explain.normalise_rows(explain.value_weighted(encoder, trace))
    every = explain.special_shift(trace.attentions, norm, trace.tokens)
    here = explain.special_shift(trace.attentions[0, 0], norm[0, 0], trace.tokens)
    text = all_text(at)
    assert f"value-weighting moves {every.moved:.0%} of the weight" in text
    assert f"In layer 1, head 1: {here.raw_share:.0%} → {here.norm_share:.0%}" in text
    assert every.norm_share < every.raw_share  # the finding: the markers lose weight once sizes count


def test_the_winner_is_the_best_spearman_and_the_caveat_is_there(encoder):
    at = open_page(PAGE, {"view": "explain"})
    table = explain.token_importance(encoder, DEFAULT_TEXT)
    ranking = explain.spearman_scores(table)
    best = ranking.index[0]
    text = all_text(at).replace("\\", "")  # labels are shown through md(): unescape for the comparison
    assert f"the best match for leave-one-out is {explain.EXPLANATION_LABELS[best]} (Spearman {ranking[best]:+.2f})" \
        in text
    assert "Leave-one-out is itself only one definition of importance" in text
    bars = next(s for s in chart_specs(at) if any(p["name"] == "bar_names" for p in s.get("params", [])))
    names = next(p["value"] for p in bars["params"] if p["name"] == "bar_names")
    assert names[0].startswith("leave-one-out") and len(names) == 1 + len(ranking)
    assert names[1].startswith(explain.EXPLANATION_LABELS[best])  # ranked, best first


def test_map_view_weighting_norm_draws_value_weighted_weights(encoder):
    at = open_page(PAGE, {"weighting": "norm", "layer": "1", "head": "1", "token": "3"})
    assert_clean(at)
    assert at.segmented_control(key="weighting").value == "norm"
    trace = encoder.trace(DEFAULT_TEXT)
    norm = explain.normalise_rows(explain.value_weighted(encoder, trace))[0, 0]  # (T, T)
    assert f"{norm[3].max():.2f}, goes to token {int(norm[3].argmax())}" in all_text(at)
    raw = open_page(PAGE, {"layer": "1", "head": "1", "token": "3"})
    row = trace.attentions[0, 0, 3]
    assert f"{row.max():.2f}, goes to token {int(row.argmax())}" in all_text(raw)
    at.segmented_control(key="weighting").set_value("raw").run()
    assert at.query_params.get("weighting") in (None, [], "")


@pytest.mark.parametrize("params, key", [
    ({"view": "explain", "off": "4.2,"}, "off"),  # a trailing comma
    ({"view": "explain", "off": "0.1"}, "off"),  # layers count from 1
    ({"view": "explain", "off": "7.1"}, "off"),  # past the model's 6 layers
    ({"view": "explain", "off": "4.13"}, "off"),  # past its 12 heads
    ({"view": "explain", "off": "4-2"}, "off"),  # not layer.head
    ({"view": "explain", "off": "<b>1.1</b>"}, "off"),  # markup
    ({"view": "explain", "off": ""}, "off"),  # empty
    ({"view": "explain", "off": " 4.2"}, "off"),  # padded
    ({"view": "explain", "off": "４.２"}, "off"),  # full-width digits
    ({"view": "explain", "off": "9" * 5000 + ".1"}, "off"),  # absurdly long
    ({"weighting": "NORM"}, "weighting"),  # case
    ({"view": "explain", "weighting": "<script>alert(1)</script>"}, "weighting"),  # markup
])
def test_hostile_link_values_are_refused_with_a_notice(params, key):
    at = open_page(PAGE, params)
    assert_clean(at)
    assert any(f"Ignored the link's `{key}` setting" in w.value for w in at.warning)
    assert "<b>" not in all_text(at) and "alert(" not in all_text(at)
    if key == "off":
        assert _cosine_shown(at) == pytest.approx(1.0)  # the default: every head on


def test_a_long_text_is_capped_and_says_so():
    at = open_page(PAGE, {"view": "explain"})
    at.text_area(key="text").input("word " * 1000).run()
    assert_clean(at)
    text = all_text(at)
    assert "the model takes at most 512" in text
    assert f"Head importance uses the first {explain.MAX_TOKENS_FOR_KNOCKOUT} word pieces" in text
    assert f"Only the first {explain.MAX_TOKENS_FOR_LEAVE_ONE_OUT - 2} word pieces (of 1000) are compared" in text
    assert "Showing the first 80 of 512 tokens." in text


@pytest.mark.parametrize("text", ["", "!", "🙂🙂"])
def test_texts_with_too_few_pieces_say_so(text):
    at = open_page(PAGE, {"view": "explain", "text": text})
    assert_clean(at)
    assert "one piece cannot be ranked" in all_text(at)

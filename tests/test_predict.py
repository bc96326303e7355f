"""Predict, then reveal (AppTest): each answer follows the live parameters, Reveal shows it, guesses are judged.

Every expected answer is computed here independently of ``qkv_ui.moments`` and ``qkv_core``'s answer
functions: the smoothing weights written out with numpy, the lookup's weights by scipy's softmax over
the scores the page charts, the map's top key by argmax over the encoder's weights, the top softmax
weight by a fresh Monte Carlo run in torch.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from scipy.special import softmax
from streamlit import dataframe_util

from qkv_core import series
from qkv_core.encoder import load_pretrained
from qkv_ui.moments import BAND_LABELS, DIRECTIONS, TOP_BANDS
from qkv_ui.pages import ATTENTION, LOOKUP, SMOOTHING

from .apptest_util import all_text, assert_clean, chart_specs, open_page

TEXT = "The animal didn't cross the street because it was too tired."


def reveal(at, name: str):
    """Click the moment's Reveal button and rerun."""
    at.button(key=f"predict-{name}-reveal").click().run()
    assert_clean(at)
    return at


def verdict(at) -> tuple[str, str]:
    """(kind, text) of the moment's verdict: success (right), error (not quite) or info (no guess)."""
    found = [(kind, el.value) for kind in ("success", "error", "info") for el in at.get(kind)
             if el.value.startswith(("**Right.**", "**Not quite", "**Answer:**"))]
    assert len(found) == 1, found
    return found[0]


def why(at) -> str:
    lines = [c.value for c in at.caption if c.value.startswith("Why: ")]
    assert len(lines) == 1, lines
    return lines[0]


def has_box(at, name: str) -> bool:
    return any(b.key == f"predict-{name}-reveal" for b in at.button)


# ---------------------------------------------------------------- off by default


@pytest.mark.parametrize("script, params, name", [
    (SMOOTHING.script, {}, "smoothing"),
    (LOOKUP.script, {}, "lookup"),
    (ATTENTION.script, {}, "map"),
    (ATTENTION.script, {"view": "scaling"}, "scaling"),
    (ATTENTION.script, {"view": "explain"}, "knockout"),
])
def test_off_by_default_the_page_is_as_before(script, params, name):
    at = open_page(script, params)
    assert_clean(at)
    assert at.toggle(key="predict").value is False
    assert not has_box(at, name) and "Predict, then reveal." not in all_text(at)
    assert "predict" not in at.query_params
    on = open_page(script, {**params, "predict": "1"})
    assert has_box(on, name)
    if name in ("smoothing", "lookup"):  # nothing hidden there: the same charts, plus the question
        assert len(chart_specs(on)) == len(chart_specs(at))


@pytest.mark.parametrize("raw", ["2", "yes", "<script>alert(1)</script>", "", "1" * 5000])
def test_a_bad_predict_value_is_refused_with_a_notice(raw):
    at = open_page(params={"predict": raw})  # the home page, where the link lands
    assert_clean(at)
    notices = [w.value for w in at.warning if "`predict`" in w.value]
    assert notices and ("predict must be 1 or 0" in notices[0] or "longer than" in notices[0])
    assert "<script" not in notices[0] and "1111" not in notices[0]
    assert at.toggle(key="predict").value is False and "predict" not in at.query_params
    at.switch_page(SMOOTHING.script).run()
    assert not has_box(at, "smoothing")


def test_predict_mode_stays_on_across_a_page_switch():
    at = open_page(SMOOTHING.script, {"predict": "1"})
    at.switch_page(LOOKUP.script).run()
    assert_clean(at)
    assert at.toggle(key="predict").value is True and has_box(at, "lookup")
    assert at.query_params["predict"] == "1"
    at.toggle(key="predict").set_value(False).run()
    assert not has_box(at, "lookup") and "predict" not in at.query_params


# ---------------------------------------------------------------- /smoothing: σ doubles


def expected_direction(values: np.ndarray, sigma: float, trunc: float, t: int) -> str:
    """Toward or away, from Gaussian weight rows written out by hand (cut at r, renormalised)."""
    def smoothed(s: float) -> float:
        r = min(int(trunc * s + 0.5), len(values) - 1)
        j = np.arange(max(0, t - r), min(len(values), t + r + 1))
        w = np.exp(-((j - t) ** 2) / (2 * s * s))
        return float(w @ values[j] / w.sum())
    raw = values[t]
    return "toward" if abs(smoothed(2 * sigma) - raw) < abs(smoothed(sigma) - raw) else "away"


@pytest.mark.parametrize("t, sigma", [(78, 4.0), (10, 4.0)])  # the Steps series: away at 78, toward at 10
def test_smoothing_answer_follows_sigma_and_step(t, sigma):
    values = series.synthetic_series("steps", 200, 0.2, 0)
    expected = expected_direction(values, sigma, 3.0, t)
    at = open_page(SMOOTHING.script, {"predict": "1", "t": str(t), "sigma": f"{sigma:g}"})
    assert_clean(at)
    assert f"σ doubles, from {sigma:g} to {2 * sigma:g}" in all_text(at)
    assert "Why: " not in all_text(at)  # nothing revealed yet
    at.button_group(key="predict-smoothing-guess0").set_value(expected).run()
    reveal(at, "smoothing")
    kind, text = verdict(at)
    assert kind == "success" and DIRECTIONS[expected].lower() in text.lower()
    assert f"(raw {values[t]:.3f})" in text
    assert why(at)


def test_the_two_cases_disagree_and_a_wrong_guess_is_judged_wrong():
    values = series.synthetic_series("steps", 200, 0.2, 0)
    assert expected_direction(values, 4.0, 3.0, 78) != expected_direction(values, 4.0, 3.0, 10)
    at = open_page(SMOOTHING.script, {"predict": "1", "t": "10"})
    wrong = "away" if expected_direction(values, 4.0, 3.0, 10) == "toward" else "toward"
    at.button_group(key="predict-smoothing-guess0").set_value(wrong).run()
    reveal(at, "smoothing")
    assert verdict(at)[0] == "error"


def test_a_new_question_hides_the_answer_again():
    at = open_page(SMOOTHING.script, {"predict": "1"})
    reveal(at, "smoothing")
    assert verdict(at)[0] == "info"  # no guess: just the answer
    at.slider(key="sigma").set_value(6.0).run()
    assert_clean(at)
    assert "from 6 to 12" in all_text(at) and "Why: " not in all_text(at)


# ---------------------------------------------------------------- /lookup: T = 0.01 and T = 100


def lookup_scores(at) -> np.ndarray:
    """The scores the page charts, one per key."""
    bars = {d.name: dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data)
            for el in at.get("vega_lite_chart") for d in el.proto.datasets}["bars"]
    return bars.drop_duplicates("key")["score"].to_numpy(dtype=float)


@pytest.mark.parametrize("sim", ["cosine", "scaled_dot"])  # ÷√384 acts like a 19.6× higher T: more keys share
def test_lookup_answer_follows_the_similarity(sim):
    at = open_page(LOOKUP.script, {"predict": "1", "sim": sim})
    assert_clean(at)
    scores = lookup_scores(at)
    n = len(scores)
    cold, hot = (int((softmax(scores / t) > 0.01).sum()) for t in (0.01, 100.0))
    at.number_input(key="predict-lookup-guess0").set_value(cold).run()
    at.number_input(key="predict-lookup-guess1").set_value(hot).run()
    reveal(at, "lookup")
    kind, text = verdict(at)
    assert kind == "success", text
    assert f"At T = 0.01, {cold} key" in text and f"at T = 100, {hot} of {n}" in text


def test_lookup_counts_differ_between_similarities_and_half_right_is_not_right():
    cosine = open_page(LOOKUP.script, {"predict": "1"})
    scaled = open_page(LOOKUP.script, {"predict": "1", "sim": "scaled_dot"})
    counts = [int((softmax(lookup_scores(at) / 0.01) > 0.01).sum()) for at in (cosine, scaled)]
    assert counts[0] != counts[1], counts
    at = cosine
    at.number_input(key="predict-lookup-guess0").set_value(counts[0]).run()
    at.number_input(key="predict-lookup-guess1").set_value(0).run()  # T = 100 leaves no key under 1 % of 16
    reveal(at, "lookup")
    kind, text = verdict(at)
    assert kind == "error" and "(1 of 2 right)" in text


# ---------------------------------------------------------------- /attention map: the top key


@pytest.fixture(scope="module")
def encoder():
    return load_pretrained()


@pytest.mark.parametrize("layer, head", [(4, 2), (1, 3)])  # 'it' → 'animal'; the previous-token head
def test_map_answer_follows_the_head_and_the_map_waits_for_reveal(encoder, layer, head):
    trace = encoder.trace(TEXT)
    q = trace.tokens.index("it")
    top = int(np.argmax(trace.attentions[layer - 1, head - 1, q]))
    at = open_page(ATTENTION.script, {"predict": "1", "layer": str(layer), "head": str(head)})
    assert_clean(at)
    assert not chart_specs(at), "the map is hidden until Reveal"
    assert f"Layer {layer}, head {head}: which token will token {q}" in all_text(at)
    at.button_group(key="predict-map-guess0").set_value(top).run()
    reveal(at, "map")
    kind, text = verdict(at)
    assert kind == "success" and f"Token {top} ('{trace.tokens[top]}')" in text
    assert len(chart_specs(at)) == 3, "revealed: the overview, the detail map and the row"


def test_the_two_heads_disagree_and_a_new_head_asks_again(encoder):
    trace = encoder.trace(TEXT)
    q = trace.tokens.index("it")
    assert np.argmax(trace.attentions[3, 1, q]) != np.argmax(trace.attentions[0, 2, q])
    at = open_page(ATTENTION.script, {"predict": "1", "text2": "The cat sat because it was tired."})
    at.button_group(key="predict-map-guess0").set_value(1).run()  # 'the': not this head's choice
    reveal(at, "map")
    assert verdict(at)[0] == "error"
    at.slider(key="head").set_value(3).run()
    assert_clean(at)
    assert not chart_specs(at) and "Why: " not in all_text(at)  # another head, another question
    assert at.query_params["text2"] == "The cat sat because it was tired."  # kept while the map is hidden


# ---------------------------------------------------------------- ÷√d: the top softmax weight


def monte_carlo_top_weight(d: int, keys: int = 16, queries: int = 2000) -> float:
    gen = torch.Generator().manual_seed(12345)
    q, k = torch.randn(queries, 1, d, generator=gen), torch.randn(queries, keys, d, generator=gen)
    return float(torch.softmax((q * k).sum(-1), dim=-1).max(-1).values.mean())


@pytest.mark.parametrize("d", [2, 8, 1024])
def test_scaling_answer_follows_d(d):
    top = monte_carlo_top_weight(d)
    band = int(np.searchsorted(TOP_BANDS, top, side="right"))
    at = open_page(ATTENTION.script, {"predict": "1", "view": "scaling", "d": str(d)})
    assert_clean(at)
    assert not chart_specs(at), "the spread and the weights wait for Reveal"
    at.button_group(key="predict-scaling-guess0").set_value(band).run()
    reveal(at, "scaling")
    kind, text = verdict(at)
    assert kind == "success", (d, top, text)
    shown = float(text.split("On average ")[1][:4])
    assert math.isclose(shown, top, abs_tol=0.05) and BAND_LABELS[band] in text
    assert len(chart_specs(at)) == 2


def test_scaling_bands_differ_across_d():
    bands = {int(np.searchsorted(TOP_BANDS, monte_carlo_top_weight(d), side="right")) for d in (2, 8, 1024)}
    assert len(bands) == 3


# ---------------------------------------------------------------- knockout lab: which head can go


def knockout_change(encoder, text: str, layer: int, head: int) -> float:
    """1 − cosine of the sentence embedding with one head masked, computed with the public embed()."""
    mask = np.ones((encoder.config.n_layers, encoder.config.n_heads), dtype=np.float32)
    mask[layer, head] = 0.0
    a, b = encoder.embed([text])[0], encoder.embed([text], head_mask=mask)[0]
    return 1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("text", [TEXT, "The bank by the river was closed for the flood."])
def test_knockout_answer_is_the_option_that_changes_the_embedding_least(encoder, text):
    at = open_page(ATTENTION.script, {"predict": "1", "view": "explain", "text": text})
    assert_clean(at)
    assert "Which one changes the sentence embedding least?" in all_text(at)
    assert not any(b.key == "explain-reset" for b in at.button), "the lab waits for Reveal"
    options = at.button_group(key="predict-knockout-guess0").options
    heads = [tuple(int(n) - 1 for n in re.findall(r"[0-9]+", str(o))) for o in options]
    assert len(heads) == 4
    changes = {h: knockout_change(encoder, text, *h) for h in heads}
    best = min(changes, key=changes.get)
    at.button_group(key="predict-knockout-guess0").set_value(best).run()
    reveal(at, "knockout")
    kind, answer = verdict(at)
    assert kind == "success" and answer.startswith(f"**Right.** Layer {best[0] + 1}, head {best[1] + 1}:")
    assert any(b.key == "explain-reset" for b in at.button), "revealed: the lab is drawn"


def test_knockout_question_changes_with_the_text(encoder):
    asked = []
    for text in (TEXT, "Stocks fell sharply on Monday after the bank raised rates."):
        at = open_page(ATTENTION.script, {"predict": "1", "view": "explain", "text": text})
        asked.append(tuple(at.button_group(key="predict-knockout-guess0").options))
    assert asked[0] != asked[1]

"""AppTest: /attention renders the real model's attention and follows its controls and URL."""

import numpy as np
import pyarrow as pa
import pytest

from qkv_core.encoder import load_pretrained

from .apptest_util import all_text, assert_clean, chart_specs, open_page

PAGE = "pages/story/attention.py"
DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."


def _token_pills(at):
    return next(b for b in at.get("button_group") if b.key == "token")


@pytest.fixture(scope="module")
def encoder():
    return load_pretrained()


def test_default_view_shows_the_model_tokens_and_three_charts(encoder):
    at = open_page(PAGE)
    assert_clean(at)
    pills = _token_pills(at)
    expected = encoder.trace(DEFAULT_TEXT).tokens
    assert [o.content for o in pills.proto.options] == expected
    assert len(chart_specs(at)) == 3
    text = all_text(at)
    assert f"{len(expected)} word pieces" in text
    assert "Layer 4, head 2" in text


def test_caption_reports_the_real_largest_weight(encoder):
    at = open_page(PAGE)
    trace = encoder.trace(DEFAULT_TEXT)
    q = trace.tokens.index("it")
    row = trace.attentions[3, 1, q]
    top = int(row.argmax())
    assert f"{row[top]:.2f}, goes to token {top} ({trace.tokens[top]})" in all_text(at)


def test_url_parameters_reproduce_a_view(encoder):
    at = open_page(PAGE, params={"text": "Cats chase mice.", "layer": "6", "head": "12", "token": "2"})
    assert_clean(at)
    assert at.text_area(key="text").value == "Cats chase mice."
    assert at.slider(key="layer").value == 6 and at.slider(key="head").value == 12
    trace = encoder.trace("Cats chase mice.")
    row = trace.attentions[5, 11, 2]
    top = int(row.argmax())
    assert "Row 2 is one softmax" in all_text(at)
    assert f"{row[top]:.2f}, goes to token {top}" in all_text(at)


def test_changing_the_head_changes_the_detail_and_the_url():
    at = open_page(PAGE)
    before = all_text(at)
    at.slider(key="head").set_value(7).run()
    assert_clean(at)
    assert "Layer 4, head 7" in all_text(at)
    assert all_text(at) != before
    assert at.query_params["head"] == ["7"] or at.query_params["head"] == "7"


def test_typing_text_retokenizes(encoder):
    at = open_page(PAGE)
    at.text_area(key="text").input("Hello world").run()
    assert_clean(at)
    pills = _token_pills(at)
    assert [o.content for o in pills.proto.options] == ["[CLS]", "hello", "world", "[SEP]"]


@pytest.mark.parametrize(
    "params, notice",
    [
        ({"layer": "99"}, "layer"),  # out of range
        ({"head": "two"}, "head"),  # not a number
        ({"token": "-3"}, "token"),  # negative index
        ({"text": "x" * 30_000}, "text"),  # absurd length
    ],
)
def test_tampered_url_falls_back_with_a_notice(params, notice):
    at = open_page(PAGE, params=params)
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    assert f"`{notice}`" in warnings and "default" in warnings
    assert at.slider(key="layer").value == 4


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty: still [CLS] [SEP]
        "   \n\t ",  # whitespace only
        "😀👨‍👩‍👧 family",  # emoji and a ZWJ sequence -> [UNK]
        "注意力机制 是 关键",  # CJK
        "مرحبا بالعالم שלום",  # right-to-left
        "zero\u200bwidth\u200d and \x00 control \x07",  # zero-width and control characters
        "Z\u0335\u0321a\u0338l\u0337g\u0336o combining",  # stacked combining marks (lone surrogates cannot arrive from a browser; the encoder tests cover them)
        "<script>alert(1)</script><img src=x onerror=alert(2)>",  # HTML stays text
        "word " * 1000,  # > 512 tokens: truncated
    ],
)
def test_odd_text_never_raises(text):
    at = open_page(PAGE)
    at.text_area(key="text").input(text).run()
    assert_clean(at)
    assert len(chart_specs(at)) == 3


def test_long_text_is_truncated_and_says_so():
    at = open_page(PAGE)
    at.text_area(key="text").input("word " * 1000).run()
    warnings = " ".join(w.value for w in at.warning)
    assert "1,002 word pieces" in warnings and "at most 512" in warnings
    assert len(_token_pills(at).proto.options) == 512


def test_unknown_pieces_are_flagged():
    at = open_page(PAGE)
    at.text_area(key="text").input("I love 🍕").run()
    assert "[UNK]" in " ".join(i.value for i in at.info)


# ---- the walkthrough views (issue: why heads, why ÷√d, contextual vectors, step by step) ----


def test_step_view_shows_the_real_numbers_of_the_chosen_token(encoder):
    at = open_page(PAGE, params={"view": "steps", "token": "2"})
    assert_clean(at)
    trace = encoder.trace(DEFAULT_TEXT)
    weights = trace.attentions[3, 1, 2]  # layer 4, head 2, query token 2
    table = at.dataframe[0].value
    assert list(table["key token"])[:3] == ["0: [CLS]", "1: the", "2: animal"]
    np.testing.assert_allclose(table["weight"].to_numpy(), weights, atol=1e-6)
    assert "Token 2 (animal) through layer 4, head 2" in all_text(at)
    assert "T × d_head = 16 × 32" in all_text(at)


def test_clicking_another_token_moves_the_step_view():
    at = open_page(PAGE, params={"view": "steps"})
    assert "Token 10 (it)" in all_text(at)
    _token_pills(at).set_value(5).run()
    assert_clean(at)
    assert "Token 5 (t)" in all_text(at)
    assert at.query_params["token"] in ("5", ["5"])


def test_no_sqrt_d_toggle_sharpens_the_weights(encoder):
    at = open_page(PAGE, params={"view": "steps"})
    sharp = at.toggle(key="sqrtd").set_value(False).run()
    assert_clean(sharp)
    unscaled = encoder.trace(DEFAULT_TEXT, scale=1.0).attentions[3, 1, 10]
    np.testing.assert_allclose(sharp.dataframe[0].value["weight"].to_numpy(), unscaled, atol=1e-6)
    warnings = " ".join(w.value for w in sharp.warning)
    base_top = encoder.trace(DEFAULT_TEXT).attentions.max(-1).mean()
    assert f"from {base_top:.2f}" in warnings and "sharpens" in warnings


def test_causal_toggle_changes_the_real_computation(encoder):
    at = open_page(PAGE, params={"causal": "1", "view": "steps"})
    assert_clean(at)
    causal = encoder.trace(DEFAULT_TEXT, causal=True).attentions[3, 1, 10]
    shown = at.dataframe[0].value["weight"].to_numpy()
    np.testing.assert_allclose(shown, causal, atol=1e-6)
    assert shown[11:].sum() == 0  # no weight on later tokens
    assert "trained to look both ways" in " ".join(w.value for w in at.warning)


def test_hiding_specials_renormalises_and_explains():
    at = open_page(PAGE, params={"hide": "1"})
    assert_clean(at)
    assert "[CLS] and [SEP] columns hidden" in all_text(at)
    assert "park attention" in all_text(at)


def test_heads_view_describes_each_head_from_its_weights(encoder):
    from qkv_core.patterns import describe_heads

    at = open_page(PAGE, params={"view": "heads", "layer": "1"})
    assert_clean(at)
    trace = encoder.trace(DEFAULT_TEXT)
    expected = [p.text for p in describe_heads(trace.attentions[0], trace.tokens, trace.word_ids)]
    assert list(at.dataframe[0].value["what it does here"]) == expected
    assert "previous token: layer 1 head 3" in all_text(at)
    h, d_head = trace.n_heads, trace.queries.shape[-1]  # the captions count what the model has
    assert f"Layer 1: {h} heads, {h} habits" in all_text(at)  # no head of layer 1 parks on [CLS] / [SEP]
    assert "This is the layer whose heads differ most" in all_text(at)
    assert not [b for b in at.button if b.key == "heads-most-varied"]
    assert f"The joined vector is {h} blocks of {d_head}: one per head." in all_text(at)


def test_heads_view_counts_parked_heads_and_offers_the_most_varied_layer(encoder):
    from qkv_core.patterns import describe_heads, layer_variety

    at = open_page(PAGE, params={"view": "heads"})  # layer 4, as the URL names none
    assert_clean(at)
    trace = encoder.trace(DEFAULT_TEXT)
    patterns = describe_heads(trace.attentions[3], trace.tokens, trace.word_ids)
    parked = sum(p.parked for p in patterns)
    assert parked >= 6
    assert f"Layer 4: {trace.n_heads} heads, {trace.n_heads - parked} habits, {parked} parked" in all_text(at)
    table = list(at.dataframe[0].value["what it does here"])
    assert sum(t.startswith("parked:") for t in table) == parked
    best = int(np.argmax(layer_variety(trace.attentions, trace.tokens))) + 1
    button = next(b for b in at.button if b.key == "heads-most-varied")
    assert button.label == f"Show the most varied layer (layer {best})"
    button.click().run()
    assert_clean(at)
    assert at.slider(key="layer").value == best
    assert best != 4 and at.query_params["layer"] == str(best)  # the link follows the slider
    assert "This is the layer whose heads differ most" in all_text(at)


def test_heads_view_compares_identity_and_trained_projections(encoder):
    from qkv_core.projections import compare_projections

    at = open_page(PAGE, params={"view": "heads", "layer": "2", "head": "5"})
    assert_clean(at)
    found = compare_projections(encoder.trace(DEFAULT_TEXT), 1, 4)
    (self_id, self_tr), (ent_id, ent_tr) = found.self_weight, found.mean_entropy
    text = all_text(at)
    assert (f"each token keeps on average {self_id:.0%} of its weight on itself (row entropy {ent_id:.1f}"
            in text)
    assert f"with head 5's trained projections, {self_tr:.0%} ({ent_tr:.1f} nats)" in text
    assert self_id > 0.5 > self_tr
    at.slider(key="head").set_value(9).run()
    assert f"each token keeps on average {self_id:.0%} of its weight on itself" in all_text(at)  # identity: no head


def test_context_view_plots_bank_against_a_same_sense_control_on_a_fixed_axis(encoder):
    from qkv_core.vectors import compare_word, find_word
    from qkv_ui.attention.context import LOAN, RIVER, STREAM

    at = open_page(PAGE, params={"view": "context"})
    assert_clean(at)
    line = next(s for s in chart_specs(at) if s.get("mark", {}).get("type") == "line")
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert line["encoding"]["color"]["title"] == "“bank”"
    assert line["encoding"]["color"]["scale"]["domain"] == ["A vs B", "A vs C (control, same sense as A)"]
    nearest = [df.value for df in at.dataframe]
    assert nearest[0]["token"].iloc[0] == "river" and nearest[1]["token"].iloc[0] == "loan"
    traces = [encoder.trace(t) for t in (RIVER, LOAN, STREAM)]
    spans = [find_word(t, "bank")[0] for t in traces]
    pair, control = compare_word(traces[:2], spans[:2]), compare_word(traces[::2], spans[::2])
    text = all_text(at)
    assert "Layer 0 is the embedding before any attention: cosine 1.00 for A vs B" in text
    assert "same position (5) in both" in text
    assert (f"After the last layer: {pair.cosines[-1]:.2f} between A and B, {control.cosines[-1]:.2f} between A and "
            "the control C") in text
    assert control.cosines[-1] > pair.cosines[-1] + 0.1


def test_context_view_says_when_positions_differ_and_follows_s3(encoder):
    from qkv_core.vectors import compare_word, find_word
    from qkv_ui.attention.context import RIVER

    other = "The bank said no to my loan."
    at = open_page(PAGE, params={"view": "context", "s2": other, "s3": "A quiet morning by the water."})
    assert_clean(at)
    traces = [encoder.trace(t) for t in (RIVER, other)]
    pair = compare_word(traces, [find_word(t, "bank")[0] for t in traces])
    text = all_text(at)
    assert f"cosine {pair.cosines[0]:.2f} for A vs B. It is not 1" in text and pair.cosines[0] < 0.99
    assert "position 5 in A but 2 in B" in text
    assert "no control line" in " ".join(i.value for i in at.info)  # "bank" is not in sentence C
    line = next(s for s in chart_specs(at) if s.get("mark", {}).get("type") == "line")
    assert line["encoding"]["color"]["scale"]["domain"] == ["A vs B"]
    assert at.text_input(key="s3").value == "A quiet morning by the water."


@pytest.mark.parametrize(
    "word, message",
    [
        ("", "Type a word"),  # nothing to follow
        ("zebra", "not found in sentence A and B"),  # in neither sentence
    ],
)
def test_context_view_explains_a_missing_word(word, message):
    at = open_page(PAGE, params={"view": "context"})
    at.text_input(key="word").input(word).run()
    assert_clean(at)
    assert message in " ".join(i.value for i in at.info)


def test_context_view_offers_a_choice_when_the_word_repeats():
    at = open_page(PAGE, params={"view": "context", "s1": "The bank by the bank of the river."})
    assert_clean(at)
    assert at.number_input(key="n1").value == 1
    at.number_input(key="n1").set_value(2).run()
    assert_clean(at)


def test_scaling_view_spread_follows_d():
    at = open_page(PAGE, params={"view": "scaling", "d": "1024"})
    assert_clean(at)
    spread = float(at.metric[0].value)
    assert abs(spread - 32) / 32 < 0.1  # sqrt(1024)
    at.select_slider(key="d").set_value("16").run()
    assert abs(float(at.metric[0].value) - 4) / 4 < 0.1
    assert float(at.metric[1].value) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("view", ["steps", "heads", "map"])
def test_every_view_copes_with_512_tokens(view):
    at = open_page(PAGE, params={"view": view, "token": "300"})
    at.text_area(key="text").input("word " * 1000).run()
    assert_clean(at)
    assert "Showing tokens" in all_text(at) or view != "map"


# ---- teaching fixes: the flagship comparison, parking on [CLS]/[SEP], the highlighted query, the value mix ----

WIDE = DEFAULT_TEXT.replace("tired", "wide")


def _highlights(at) -> list[int | None]:
    """Per chart on the page, the row its highlight outlines (dataset ``cells_hl``); None without one."""
    out = []
    for el in at.get("vega_lite_chart"):
        data = {d.name: pa.ipc.open_stream(d.data.data).read_all() for d in el.proto.datasets}
        out.append(data["cells_hl"]["row"].to_pylist()[0] if "cells_hl" in data else None)
    return out


def _detail_highlight(at) -> int:
    return next(h for h in _highlights(at) if h is not None)


def test_flagship_compares_the_head_on_the_wide_sentence_with_measured_numbers(encoder):
    at = open_page(PAGE)
    assert_clean(at)
    assert at.text_input(key="text2").value == WIDE
    tired, wide = encoder.trace(DEFAULT_TEXT).attentions[3, 1, 10], encoder.trace(WIDE).attentions[3, 1, 10]
    text = all_text(at)
    # 'animal' leads both rows' words, so the caption says the head does not follow what 'it' means
    assert f"goes to 'animal' ({tired[2]:.2f}, then {wide[2]:.2f};" in text
    assert f"[CLS]/[SEP] take {tired[[0, 15]].sum():.2f}, then {wide[[0, 15]].sum():.2f}" in text
    assert "It picks 'animal' either way, so these numbers do not show it working out what 'it' refers to" in text
    shown = [df.value for df in at.dataframe]
    assert list(shown[0]["key"]) == ["2: animal", "0: [CLS]", "10: it"]
    assert list(shown[1]["key"]) == ["0: [CLS]", "2: animal", "8: street"]
    np.testing.assert_allclose(shown[1]["weight"], wide[[0, 2, 8]], atol=1e-6)


def test_flagship_contrast_text_follows_the_box_and_the_url(encoder):
    at = open_page(PAGE, params={"text2": "The animal was tired, so it slept."})
    assert_clean(at)
    other = encoder.trace("The animal was tired, so it slept.")
    q = other.tokens.index("it")
    assert f"Compare with, token {q} (it): The animal was tired" in " ".join(t.value for t in at.text)
    at.text_input(key="text2").input("Nothing to see here.").run()
    assert_clean(at)
    assert "The second text has no 'it' piece" in " ".join(i.value for i in at.info)
    assert at.query_params["text2"] in ("Nothing to see here.", ["Nothing to see here."])


def test_default_map_caption_measures_parking_on_the_markers(encoder):
    from qkv_core.steps import special_share

    at = open_page(PAGE)
    trace = encoder.trace(DEFAULT_TEXT)
    shares = special_share(trace.attentions, trace.tokens)
    text = all_text(at)
    assert f"this head puts {shares[3, 1]:.0%} of its attention on them" in text
    assert f"(row 10: {trace.attentions[3, 1, 10, [0, 15]].sum():.0%})" in text
    assert f"{int((shares > 0.5).sum())} of the {shares.size} heads" in text
    assert "some at [SEP]" not in text


def test_detail_map_outlines_the_query_row_and_follows_it():
    at = open_page(PAGE)
    assert _detail_highlight(at) == 10
    _token_pills(at).set_value(5).run()
    assert _detail_highlight(at) == 5


@pytest.mark.parametrize("token, where", [(3, "the window starts at the beginning of the text"),
                                          (300, "40 before"), (501, "the window ends at the end of the text")])
def test_window_caption_says_where_the_window_is(token, where):
    at = open_page(PAGE, params={"text": "word " * 700, "token": str(token)})
    assert_clean(at)
    text = all_text(at)
    assert "centred" not in text
    assert f"before the query token {token}" in text and where in text
    start = int(text.split("Showing tokens ")[1].split("–")[0])
    assert _detail_highlight(at) == token - start


def test_step_view_shows_the_values_being_mixed(encoder):
    from qkv_core.steps import token_step

    at = open_page(PAGE, params={"view": "steps"})
    assert_clean(at)
    trace = encoder.trace(DEFAULT_TEXT)
    step = token_step(encoder, trace, 3, 1, 10)
    top = np.argsort(-step.weights)[:3]
    mix = at.dataframe[1].value
    assert list(mix["key token"]) == [f"{j}: {trace.tokens[j]}" for j in top] + ["Σ of these 3",
                                                                                 "output: Σ over all 16"]
    assert mix["weight"][0] == f"{step.weights[top[0]]:.3f}"
    assert mix["v_j"][0].startswith(f"[{step.values[top[0], 0]:.2f}, ")
    partial = (step.weights[top, None] * step.values[top]).sum(0)
    assert mix["w_j · v_j"][3].startswith(f"[{partial[0]:.2f}, ")
    assert mix["w_j · v_j"][4].startswith(f"[{step.output[0]:.2f}, ")
    text = all_text(at)
    assert f"carry {step.weights[top].sum():.0%} of the weight" in text
    assert f"q = [{step.q[0]:.2f}, " in text and f"output = [{step.output[0]:.2f}, " in text


def test_step_view_matrices_run_in_the_order_of_the_computation():
    at = open_page(PAGE, params={"view": "steps", "token": "4"})
    titles = [s.get("title") for s in chart_specs(at) if s.get("title")]
    order = ["1 · Q", "1 · K", "2 · QKᵀ", "3 · ÷ √", "4 · softmax", "5 · V", "6 · output"]
    assert [next(i for i, t in enumerate(titles) if t.startswith(o)) for o in order] == list(range(len(order)))
    highlighted = {t: h for s, h in zip(chart_specs(at), _highlights(at)) if (t := s.get("title"))}
    assert [highlighted[t] for t in titles] == [4, None, 4, 4, 4, None, 4]


def test_words_are_glossed_where_they_first_appear_and_one_quantity_has_one_name():
    """Entropy and nats, d_head, W_q and b_q get a one-line gloss; the two 'average top weight' figures (a run
    without ÷√d through every layer vs this run's scores left unscaled layer by layer) say which they are."""
    scaling = all_text(open_page(PAGE, {"view": "scaling"}))
    assert "Entropy, in nats (natural log), measures how spread the weights are" in scaling
    assert "Left unscaled layer by layer" in scaling
    steps_text = all_text(open_page(PAGE, {"view": "steps"}))
    assert "this head's learned 32 × 384 matrix, and b_q, its learned bias" in steps_text
    what_if = all_text(open_page(PAGE, {"sqrtd": "0"}))
    assert "d_head = 32 numbers in each head's query and key" in what_if
    assert "Run this way through every layer" in what_if

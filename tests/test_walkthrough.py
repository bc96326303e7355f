"""qkv_core.walkthrough: the /attention page's step-by-step, toggle, head-pattern, word-vector and ÷√d views.

Reference equivalence against the real all-MiniLM-L6-v2 trace and torch's fused
attention kernel, plus hand-built maps whose answers are known.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qkv_core.encoder import Encoder, Trace, load_pretrained
from qkv_core.walkthrough import (
    MASKED_SCORE,
    PATTERN_KINDS,
    HeadPattern,
    WordSpan,
    describe_head,
    describe_heads,
    dot_product_spread,
    find_word,
    head_concat,
    hide_special_columns,
    layerwise_cosine,
    matrix_step,
    model_score_spread,
    nearest_tokens,
    output_change,
    project_output,
    special_share,
    token_step,
    word_spans,
    word_vectors,
)

TOL = 1e-5
SENTENCE = "The animal didn't cross the street because it was too tired."  # T = 16
RIVER = "We sat on the bank of the river and watched the water."
LOAN = "I went to the bank to ask for a loan."
RIVER_TOO = "They walked along the bank of the stream at dawn."  # "bank" at position 5, as in RIVER and LOAN


# ---------------------------------------------------------------------------------------
# Fixtures: the model is loaded once per module, each text traced once
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2."""
    return load_pretrained()


@pytest.fixture(scope="module")
def traces(encoder: Encoder) -> dict[str, Trace]:
    """SENTENCE traced as trained and under each what-if."""
    return {
        "trained": encoder.trace(SENTENCE),
        "causal": encoder.trace(SENTENCE, causal=True),
        "scale1": encoder.trace(SENTENCE, scale=1.0),
        "causal-scale1": encoder.trace(SENTENCE, causal=True, scale=1.0),
    }


@pytest.fixture(scope="module")
def bank_traces(encoder: Encoder) -> dict[str, Trace]:
    """Three sentences with "bank": two by a river, one about money."""
    return {"river": encoder.trace(RIVER), "loan": encoder.trace(LOAN), "river_too": encoder.trace(RIVER_TOO)}


VARIANTS = ["trained", "causal", "scale1", "causal-scale1"]


def _head_outputs(trace: Trace, layer: int, head: int) -> np.ndarray:
    """The trace's own head output A V for one head, (T, d_head)."""
    return trace.attentions[layer, head] @ trace.values[layer, head]


# ---------------------------------------------------------------------------------------
# 1) token_step: one query recomputed from the weights
# ---------------------------------------------------------------------------------------

TOKEN_CASES = [
    # variant, layer, head, token
    pytest.param("trained", 4, 2, 10, id="it-in-head-4.2"),  # the page's default: "it" in layer 4, head 2
    pytest.param("trained", 0, 0, 0, id="first-layer-CLS"),  # the [CLS] query, input = embeddings
    pytest.param("trained", 5, 11, 15, id="last-layer-SEP"),  # the last layer, head and token
    pytest.param("causal", 2, 7, 5, id="causal-mid"),  # causal: keys after token 5 hidden
    pytest.param("causal", 3, 1, 0, id="causal-first-token"),  # causal: [CLS] sees only itself
    pytest.param("scale1", 1, 3, 8, id="no-sqrt-d"),  # scale 1.0: sharper softmax, same recipe
    pytest.param("causal-scale1", 5, 4, 12, id="causal-no-sqrt-d"),  # both what-ifs at once
]


@pytest.mark.parametrize(("variant", "layer", "head", "token"), TOKEN_CASES)
def test_token_step_reproduces_the_trace(
    encoder: Encoder, traces: dict[str, Trace], variant: str, layer: int, head: int, token: int
) -> None:
    """q, weights and the head output recomputed from x, W_q, b_q, K, V equal what the encoder computed."""
    trace = traces[variant]
    step = token_step(encoder, trace, layer, head, token)
    t, d_head = trace.T, encoder.config.d_head
    assert step.x.shape == (encoder.config.d_model,)
    assert step.w_q.shape == (d_head, encoder.config.d_model)
    assert step.keys.shape == step.values.shape == (t, d_head)
    assert step.dots.shape == step.scaled.shape == step.weights.shape == step.masked.shape == (t,)
    np.testing.assert_allclose(step.x, trace.hidden_states[layer, token], rtol=0, atol=0)
    np.testing.assert_allclose(step.q, trace.queries[layer, head, token], rtol=0, atol=TOL)
    np.testing.assert_allclose(step.dots, step.keys @ step.q, rtol=1e-12, atol=0)
    np.testing.assert_allclose(step.weights, trace.attentions[layer, head, token], rtol=0, atol=TOL)
    np.testing.assert_allclose(step.output, _head_outputs(trace, layer, head)[token], rtol=0, atol=TOL)
    assert step.scale == trace.scale
    assert math.isclose(step.weights.sum(), 1.0, abs_tol=1e-12)
    assert np.isfinite(step.scaled).all()


@pytest.mark.parametrize("variant", ["causal", "causal-scale1"])
def test_token_step_causal_mask_is_finite_and_hides_later_keys(
    encoder: Encoder, traces: dict[str, Trace], variant: str
) -> None:
    """Causal: keys after the query are flagged, scored MASKED_SCORE (finite), and get exactly 0 weight."""
    trace, token = traces[variant], 6
    step = token_step(encoder, trace, 3, 5, token)
    expected = np.arange(trace.T) > token
    np.testing.assert_array_equal(step.masked, expected)
    assert (step.scaled[expected] == MASKED_SCORE).all()
    assert (step.weights[expected] == 0).all()
    np.testing.assert_allclose(step.scaled[~expected], step.dots[~expected] * trace.scale)


def test_token_step_without_a_causal_mask_masks_nothing(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """Bidirectional: nothing is masked and every key gets some weight."""
    step = token_step(encoder, traces["trained"], 2, 2, 3)
    assert not step.masked.any()
    assert (step.weights > 0).all()
    np.testing.assert_allclose(step.scaled, step.dots * traces["trained"].scale)


def test_token_step_uses_the_weights_not_the_traced_attention(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """With the trace's attentions and queries wiped, token_step still gets the right answer."""
    trace = traces["trained"]
    wiped = dataclasses.replace(trace, attentions=np.zeros_like(trace.attentions), queries=np.zeros_like(trace.queries))
    step = token_step(encoder, wiped, 4, 2, 10)
    np.testing.assert_allclose(step.weights, trace.attentions[4, 2, 10], rtol=0, atol=TOL)
    np.testing.assert_allclose(step.q, trace.queries[4, 2, 10], rtol=0, atol=TOL)


def test_token_step_slices_the_heads_rows_of_w_q(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """w_q / b_q are rows head*d_head:(head+1)*d_head of the layer's W_q (stored [out, in])."""
    layer, head, d_head = 3, 7, encoder.config.d_head
    step = token_step(encoder, traces["trained"], layer, head, 2)
    weights = encoder.layer_weights(layer)
    np.testing.assert_array_equal(step.w_q, weights.w_q[head * d_head : (head + 1) * d_head].numpy())
    np.testing.assert_array_equal(step.b_q, weights.b_q[head * d_head : (head + 1) * d_head].numpy())


def test_token_step_result_is_frozen_and_read_only(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """The result cannot be changed after the fact, neither its fields nor its arrays."""
    step = token_step(encoder, traces["trained"], 0, 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.q = np.zeros(3)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        step.weights[0] = 1.0


BAD_INDICES = [
    # layer, head, token, message fragment
    pytest.param(6, 0, 0, r"layer must be in 0\.\.5, got 6", id="layer-too-big"),  # MiniLM has layers 0..5
    pytest.param(-1, 0, 0, r"layer must be in 0\.\.5, got -1", id="layer-negative"),  # no negative indexing
    pytest.param(0, 12, 0, r"head must be in 0\.\.11, got 12", id="head-too-big"),  # 12 heads
    pytest.param(0, 0, 16, r"token must be in 0\.\.15, got 16", id="token-past-SEP"),  # T = 16
    pytest.param(0, 0, 1.0, r"token must be an int", id="token-float"),  # floats are not indices
    pytest.param(True, 0, 0, r"layer must be an int", id="layer-bool"),  # bools are not indices
]


@pytest.mark.parametrize(("layer", "head", "token", "fragment"), BAD_INDICES)
def test_token_step_rejects_bad_indices(
    encoder: Encoder, traces: dict[str, Trace], layer: object, head: object, token: object, fragment: str
) -> None:
    """Out-of-range or non-int indices are a ValueError that names the index and its range."""
    with pytest.raises(ValueError, match=fragment):
        token_step(encoder, traces["trained"], layer, head, token)  # type: ignore[arg-type]


def test_token_step_rejects_a_trace_from_another_model(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """A trace whose head count does not match the encoder is refused, naming both sizes."""
    trace = traces["trained"]
    other = dataclasses.replace(trace, attentions=trace.attentions[:, :6])
    with pytest.raises(ValueError, match=r"H=6.*H=12"):
        token_step(encoder, other, 0, 0, 0)


# ---------------------------------------------------------------------------------------
# matrix_step: the whole head as matrices
# ---------------------------------------------------------------------------------------

MATRIX_CASES = [
    # variant, layer, head
    pytest.param("trained", 4, 2, id="trained-4.2"),  # the model as trained
    pytest.param("causal", 1, 9, id="causal"),  # lower-triangular weights
    pytest.param("scale1", 5, 0, id="scale1"),  # no division by sqrt(d_head)
    pytest.param("causal-scale1", 0, 6, id="causal-scale1"),  # both what-ifs
]


@pytest.mark.parametrize(("variant", "layer", "head"), MATRIX_CASES)
def test_matrix_step_reproduces_the_trace(traces: dict[str, Trace], variant: str, layer: int, head: int) -> None:
    """Q Kᵀ, the scaled scores, the weights and A V all match the encoder's own numbers."""
    trace = traces[variant]
    step = matrix_step(trace, layer, head)
    t = trace.T
    np.testing.assert_allclose(step.scores, step.Q @ step.K.T, rtol=1e-12, atol=0)
    np.testing.assert_allclose(step.weights, trace.attentions[layer, head], rtol=0, atol=TOL)
    np.testing.assert_allclose(step.output, _head_outputs(trace, layer, head), rtol=0, atol=TOL)
    np.testing.assert_allclose(step.weights.sum(axis=-1), np.ones(t), atol=1e-12)
    assert np.isfinite(step.scaled).all() and not np.isnan(step.weights).any()
    expected_mask = np.triu(np.ones((t, t), dtype=bool), 1) if trace.causal else np.zeros((t, t), dtype=bool)
    np.testing.assert_array_equal(step.masked, expected_mask)
    assert (step.scaled[expected_mask] == MASKED_SCORE).all()
    assert (step.weights[expected_mask] == 0).all()
    np.testing.assert_allclose(step.scaled[~expected_mask], (step.scores * trace.scale)[~expected_mask])


@pytest.mark.parametrize(("variant", "layer", "head"), MATRIX_CASES)
def test_matrix_step_agrees_with_token_step(
    encoder: Encoder, traces: dict[str, Trace], variant: str, layer: int, head: int
) -> None:
    """Row i of the matrix view is the step-by-step view of token i."""
    trace = traces[variant]
    step = matrix_step(trace, layer, head)
    for token in (0, 7, trace.T - 1):
        one = token_step(encoder, trace, layer, head, token)
        np.testing.assert_allclose(step.weights[token], one.weights, rtol=0, atol=TOL)
        np.testing.assert_allclose(step.output[token], one.output, rtol=0, atol=TOL)


def test_matrix_step_shape_labels(traces: dict[str, Trace]) -> None:
    """The shape captions name the letters and the actual sizes."""
    shapes = matrix_step(traces["trained"], 0, 0).shapes
    assert shapes["Q"] == "T × d_head = 16 × 32"
    assert shapes["Kᵀ"] == "d_head × T = 32 × 16"
    assert shapes["weights"] == "T × T = 16 × 16"
    assert shapes["output"] == "T × d_head = 16 × 32"
    assert set(shapes) >= {"Q", "K", "V", "scores", "scaled", "weights", "output"}


@pytest.mark.parametrize(("layer", "head", "fragment"), [(6, 0, "layer"), (0, -1, "head"), (0, 12, "head")])
def test_matrix_step_rejects_bad_indices(traces: dict[str, Trace], layer: int, head: int, fragment: str) -> None:
    """Out-of-range layer or head is a ValueError naming it."""
    with pytest.raises(ValueError, match=fragment):
        matrix_step(traces["trained"], layer, head)


# ---------------------------------------------------------------------------------------
# 2) The what-if traces against torch's fused kernel
# ---------------------------------------------------------------------------------------

SDPA_VARIANTS = [
    # variant, causal, scale passed to F.scaled_dot_product_attention
    pytest.param("trained", False, 1 / math.sqrt(32), id="trained"),  # the model as trained
    pytest.param("causal", True, 1 / math.sqrt(32), id="causal"),  # is_causal=True
    pytest.param("scale1", False, 1.0, id="scale1"),  # scale=1.0: no ÷√d
    pytest.param("causal-scale1", True, 1.0, id="causal-scale1"),  # both
]


@pytest.mark.parametrize(("variant", "causal", "scale"), SDPA_VARIANTS)
def test_trace_weights_match_explicit_softmax(
    traces: dict[str, Trace], variant: str, causal: bool, scale: float
) -> None:
    """Every layer's weights are softmax(Q Kᵀ·scale + causal mask), recomputed from the traced Q and K."""
    trace = traces[variant]
    q, k = torch.from_numpy(trace.queries.copy()).double(), torch.from_numpy(trace.keys.copy()).double()
    scores = q @ k.transpose(-1, -2) * scale  # (L, H, T, T)
    if causal:
        scores = scores.masked_fill(torch.ones(trace.T, trace.T, dtype=torch.bool).triu(1), -torch.inf)
    expected = torch.softmax(scores, dim=-1).numpy()
    np.testing.assert_allclose(trace.attentions, expected, rtol=0, atol=TOL)
    assert trace.causal is causal and math.isclose(trace.scale, scale)


@pytest.mark.parametrize(("variant", "causal", "scale"), SDPA_VARIANTS)
def test_trace_head_outputs_match_fused_sdpa(
    traces: dict[str, Trace], variant: str, causal: bool, scale: float
) -> None:
    """weights @ V (and matrix_step's output) equal F.scaled_dot_product_attention(scale=, is_causal=)."""
    trace = traces[variant]
    q, k, v = (torch.from_numpy(a.copy()) for a in (trace.queries, trace.keys, trace.values))
    fused = F.scaled_dot_product_attention(q, k, v, scale=scale, is_causal=causal).numpy()  # (L, H, T, d_head)
    np.testing.assert_allclose(trace.attentions @ trace.values, fused, rtol=0, atol=TOL)
    np.testing.assert_allclose(matrix_step(trace, 3, 4).output, fused[3, 4], rtol=0, atol=TOL)


# ---------------------------------------------------------------------------------------
# Toggle maths: hiding [CLS]/[SEP], their share, how much outputs change
# ---------------------------------------------------------------------------------------

TOY_TOKENS = ["[CLS]", "a", "b", "[SEP]"]
HIDE_CASES = [
    # weights (T, T) for TOY_TOKENS, expected after hiding [CLS] and [SEP]
    pytest.param(
        [[0.5, 0.25, 0.25, 0.0]] * 4, [[0.0, 0.5, 0.5, 0.0]] * 4, id="half-on-CLS"
    ),  # the remaining half is shared out in proportion
    pytest.param(
        [[0.1, 0.6, 0.2, 0.1]] * 4, [[0.0, 0.75, 0.25, 0.0]] * 4, id="both-specials"
    ),  # 0.6 : 0.2 keeps its 3 : 1 ratio
    pytest.param(
        [[0.5, 0.0, 0.0, 0.5], [0.0, 0.3, 0.7, 0.0], [0.0, 0.3, 0.7, 0.0], [1.0, 0.0, 0.0, 0.0]],
        [[0.0, 0.5, 0.5, 0.0], [0.0, 0.3, 0.7, 0.0], [0.0, 0.3, 0.7, 0.0], [0.0, 0.5, 0.5, 0.0]],
        id="all-on-specials-goes-uniform",
    ),  # rows 0 and 3 had nothing left: uniform over a, b; rows 1-2 were already special-free
]


@pytest.mark.parametrize(("weights", "expected"), HIDE_CASES)
def test_hide_special_columns_cases(weights: list[list[float]], expected: list[list[float]]) -> None:
    """Special columns become 0 and each row is renormalised to sum 1."""
    out = hide_special_columns(np.array(weights), TOY_TOKENS)
    np.testing.assert_allclose(out, np.array(expected), atol=1e-12)


def test_hide_special_columns_all_special_is_unchanged() -> None:
    """With nothing but specials there is nothing to renormalise onto: the weights come back as they were."""
    weights = np.array([[0.3, 0.7], [0.6, 0.4]])
    out = hide_special_columns(weights, ["[CLS]", "[SEP]"])
    np.testing.assert_array_equal(out, weights)
    assert out is not weights


def test_hide_special_columns_custom_specials() -> None:
    """Any token list can be hidden, e.g. the full stop."""
    out = hide_special_columns(np.array([[0.5, 0.25, 0.25]]).repeat(3, 0), ["x", ".", "y"], specials=(".",))
    np.testing.assert_allclose(out, [[2 / 3, 0.0, 1 / 3]] * 3)


@pytest.mark.parametrize("variant", ["trained", "causal"])
def test_hide_special_columns_on_the_real_trace(traces: dict[str, Trace], variant: str) -> None:
    """(L, H, T, T): specials' columns are 0, rows sum to 1, ratios between word columns are kept; input untouched."""
    trace = traces[variant]
    before = trace.attentions.copy()
    out = hide_special_columns(trace.attentions, trace.tokens)
    assert out.shape == trace.attentions.shape and not np.isnan(out).any()
    np.testing.assert_array_equal(out[..., [0, -1]], 0)
    np.testing.assert_allclose(out.sum(axis=-1), 1, atol=1e-5)
    rows = trace.attentions[2, 3, 5:, 1:-1]  # rows with real weight on words (causal: rows >= 5)
    np.testing.assert_allclose(out[2, 3, 5:, 1:-1], rows / rows.sum(axis=-1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(trace.attentions, before)


def test_hide_special_columns_rejects_mismatched_tokens() -> None:
    """A token list of the wrong length names both sizes."""
    with pytest.raises(ValueError, match=r"T=4 columns but tokens has 3"):
        hide_special_columns(np.eye(4), ["[CLS]", "a", "[SEP]"])
    with pytest.raises(ValueError, match=r"\(\.\.\., T, T\)"):
        hide_special_columns(np.ones((3, 4)), ["a"] * 4)


def test_special_share_by_hand() -> None:
    """Mean over the word rows (a, b) of the weight on [CLS] + [SEP]."""
    weights = np.array(
        [
            [1.0, 0.0, 0.0, 0.0],  # [CLS] row: not counted
            [0.2, 0.5, 0.2, 0.1],  # a: 0.3 on specials
            [0.5, 0.2, 0.0, 0.3],  # b: 0.8 on specials
            [0.0, 0.0, 0.0, 1.0],  # [SEP] row: not counted
        ]
    )
    assert special_share(weights, TOY_TOKENS) == pytest.approx(0.55)
    stacked = np.stack([weights, np.eye(4)])  # second map: words attend to themselves
    np.testing.assert_allclose(special_share(stacked, TOY_TOKENS), [0.55, 0.0])


def test_special_share_real_trace_matches_hide(traces: dict[str, Trace]) -> None:
    """(L, H, T, T) -> (L, H) in [0, 1], and equal to 1 minus the word share of each map."""
    trace = traces["trained"]
    share = special_share(trace.attentions, trace.tokens)
    assert share.shape == (trace.n_layers, trace.n_heads)
    assert (share >= 0).all() and (share <= 1).all()
    words_share = trace.attentions[..., 1:-1, 1:-1].sum(axis=-1).mean(axis=-1)
    np.testing.assert_allclose(share, 1 - words_share, atol=1e-5)
    assert share.max() > 0.5  # MiniLM parks heavily on [CLS] in its middle layers


def test_output_change(traces: dict[str, Trace]) -> None:
    """Same trace: cosine 1 everywhere; causal vs bidirectional: the outputs move, most of all at the start."""
    base = traces["trained"]
    np.testing.assert_allclose(output_change(base, base), 1, atol=1e-6)
    change = output_change(base, traces["causal"])
    assert change.shape == (base.T,)
    assert (change <= 1 + 1e-6).all() and (change >= -1).all()
    assert change.min() < 0.95
    last = base.hidden_states[-1, 3].astype(np.float64)
    other = traces["causal"].hidden_states[-1, 3].astype(np.float64)
    assert change[3] == pytest.approx(last @ other / np.linalg.norm(last) / np.linalg.norm(other), abs=1e-6)


def test_output_change_needs_the_same_text(traces: dict[str, Trace], bank_traces: dict[str, Trace]) -> None:
    """Two different texts cannot be compared token by token."""
    with pytest.raises(ValueError, match="same tokens"):
        output_change(traces["trained"], bank_traces["loan"])


# ---------------------------------------------------------------------------------------
# 3) Head patterns
# ---------------------------------------------------------------------------------------

EIGHT = ["[CLS]", "w1", "w2", "w3", "w4", "w5", "w6", "[SEP]"]


def _shifted(t: int, offset: int) -> np.ndarray:
    """(T, T) map where row i puts all its weight on i + offset (clipped to the ends)."""
    weights = np.zeros((t, t))
    weights[np.arange(t), np.clip(np.arange(t) + offset, 0, t - 1)] = 1
    return weights


def _column(t: int, col: int) -> np.ndarray:
    """(T, T) map where every row puts all its weight on one column."""
    weights = np.zeros((t, t))
    weights[:, col] = 1
    return weights


def _mixed(t: int) -> np.ndarray:
    """Rows split 0.35 previous / 0.35 next / 0.3 self: no share reaches 0.4, entropy is low."""
    return 0.35 * _shifted(t, -1) + 0.35 * _shifted(t, 1) + 0.3 * np.eye(t)


PATTERN_CASES = [
    # weights, tokens, word_ids, expected kind, expected score, fragment of the text
    pytest.param(_shifted(8, -1), EIGHT, None, "previous", 1.0, "previous token (100 %", id="previous"),  # i -> i-1
    pytest.param(_shifted(8, 1), EIGHT, None, "next", 1.0, "next token (100 %", id="next"),  # i -> i+1
    pytest.param(np.eye(8), EIGHT, None, "self", 1.0, "itself (100 %", id="self"),  # i -> i
    pytest.param(_column(8, 0), EIGHT, None, "cls", 1.0, "parks on [CLS] (100 %)", id="cls"),  # all on [CLS]
    pytest.param(_column(8, 7), EIGHT, None, "sep", 1.0, "parks on [SEP] (100 %)", id="sep"),  # all on [SEP]
    pytest.param(
        0.81 * _column(8, 7) + 0.19 * np.eye(8), EIGHT, None, "sep", 0.81, "parks on [SEP] (81 %)", id="sep-81"
    ),  # the share is rounded into the text
    pytest.param(
        _shifted(6, 2) * np.array([0, 1, 1, 0, 0, 0])[:, None] + _shifted(6, -2) * np.array([0, 0, 0, 1, 1, 0])[:, None]
        + np.diag([1, 0, 0, 0, 0, 1.0]),
        ["[CLS]", "a", "b", "a", "b", "[SEP]"], None, "same_word", 1.0, "same word elsewhere (100 %)",
        id="repeated-token",
    ),  # a -> the other a, b -> the other b, two positions away
    pytest.param(np.full((8, 8), 1 / 8), EIGHT, None, "broad", 1.0, "entropy 2.1 of 2.1 nats", id="uniform"),
    pytest.param(_mixed(8), EIGHT, None, "mixed", 0.35, "top share 35 % to the previous token", id="mixed"),
]


@pytest.mark.parametrize(("weights", "tokens", "word_ids", "kind", "score", "fragment"), PATTERN_CASES)
def test_describe_head_cases(
    weights: np.ndarray, tokens: list[str], word_ids: list[int | None] | None, kind: str, score: float, fragment: str
) -> None:
    """Each hand-built map is named for the pattern it was built with, with the deciding share in the text."""
    pattern = describe_head(weights, tokens, word_ids)
    assert isinstance(pattern, HeadPattern)
    assert pattern.kind == kind
    assert pattern.score == pytest.approx(score)
    assert fragment in pattern.text
    assert pattern.kind in PATTERN_KINDS


def test_describe_head_pieces_of_one_word_via_word_ids() -> None:
    """Pieces of one word (same word_id, different strings) count as "same word"; without word_ids they do not."""
    tokens = ["[CLS]", "new", "and", "##york", "[SEP]"]
    weights = np.array(
        [
            [1.0, 0, 0, 0, 0],
            [0, 0, 0, 1.0, 0],  # new -> ##york
            [0.2, 0.2, 0.2, 0.2, 0.2],  # and spreads out
            [0, 1.0, 0, 0, 0],  # ##york -> new
            [0, 0, 0, 0, 1.0],
        ]
    )
    with_ids = describe_head(weights, tokens, [None, 0, 1, 0, None])
    assert with_ids.kind == "same_word" and with_ids.score == pytest.approx(2 / 3)
    assert describe_head(weights, tokens).kind != "same_word"


@pytest.mark.parametrize(
    "tokens",
    [
        pytest.param(["[CLS]", "[SEP]"], id="T2-only-specials"),  # no word rows: every row is used
        pytest.param(["[CLS]", "hi", "[SEP]"], id="T3-one-word"),  # one word row, no neighbours beyond specials
        pytest.param(["x"], id="T1"),  # a single token: log(T) = 0
    ],
)
def test_describe_head_tiny_maps_give_no_nan(tokens: list[str]) -> None:
    """Tiny texts still give a pattern with finite numbers."""
    t = len(tokens)
    for weights in (np.full((t, t), 1 / t), np.eye(t)):
        pattern = describe_head(weights, tokens)
        assert pattern.kind in PATTERN_KINDS
        assert math.isfinite(pattern.score) and math.isfinite(pattern.entropy)
        assert all(math.isfinite(share) for _, share in pattern.shares)
        assert "nan" not in pattern.text.lower()


def test_describe_heads_on_the_real_model(traces: dict[str, Trace]) -> None:
    """Layer 0, head 2 of MiniLM is a previous-token head; describe_heads equals describe_head per head."""
    trace = traces["trained"]
    patterns = describe_heads(trace.attentions[0], trace.tokens, trace.word_ids)
    assert len(patterns) == trace.n_heads
    assert patterns[2].kind == "previous" and patterns[2].score > 0.9
    for head in (0, 2, 8):
        alone = describe_head(trace.attentions[0, head], trace.tokens, trace.word_ids)
        assert (alone.kind, alone.text) == (patterns[head].kind, patterns[head].text)
        assert alone.score == pytest.approx(patterns[head].score, abs=1e-9)
    layer4 = describe_heads(trace.attentions[4], trace.tokens, trace.word_ids)
    assert sum(p.kind == "cls" for p in layer4) >= 6  # most of layer 4 parks on [CLS]


def test_describe_head_shares_by_hand(traces: dict[str, Trace]) -> None:
    """The previous-token share is the mean of w[i, i-1] over the word rows, computed here directly."""
    trace = traces["trained"]
    weights = trace.attentions[1, 8]
    shares = dict(describe_head(weights, trace.tokens).shares)
    rows = np.arange(1, trace.T - 1)
    assert shares["previous"] == pytest.approx(weights[rows, rows - 1].mean(), abs=1e-6)
    assert shares["next"] == pytest.approx(weights[rows, rows + 1].mean(), abs=1e-6)
    assert shares["cls"] == pytest.approx(weights[rows, 0].mean(), abs=1e-6)


def test_describe_head_rejects_bad_shapes() -> None:
    """One (T, T) map for describe_head, (H, T, T) for describe_heads, T matching the tokens."""
    with pytest.raises(ValueError, match=r"\(T, T\)"):
        describe_head(np.ones((2, 3, 3)), ["a"] * 3)
    with pytest.raises(ValueError, match=r"\(H, T, T\)"):
        describe_heads(np.ones((3, 3)), ["a"] * 3)
    with pytest.raises(ValueError, match="tokens has 2"):
        describe_head(np.eye(3), ["a", "b"])


# ---------------------------------------------------------------------------------------
# Merging heads and the output projection
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [0, 3, 5])
def test_head_concat_equals_the_encoders_context(traces: dict[str, Trace], layer: int) -> None:
    """Per-head A V laid side by side is the (T, D) context the encoder fed to W_o."""
    trace = traces["trained"]
    per_head, concat = head_concat(trace, layer)
    d_head = per_head.shape[-1]
    assert per_head.shape == (trace.n_heads, trace.T, d_head) and concat.shape == trace.contexts[layer].shape
    np.testing.assert_allclose(concat, trace.contexts[layer], rtol=0, atol=TOL)
    np.testing.assert_array_equal(concat[:, 2 * d_head : 3 * d_head], per_head[2])


@pytest.mark.parametrize(("variant", "layer"), [("trained", 0), ("trained", 4), ("causal", 2), ("scale1", 5)])
def test_project_output_rebuilds_the_whole_layer(
    encoder: Encoder, traces: dict[str, Trace], variant: str, layer: int
) -> None:
    """LayerNorm(x + proj) then the feed-forward block gives exactly the layer's output hidden state."""
    trace, c = traces[variant], encoder.config
    proj = torch.from_numpy(project_output(encoder, trace, layer).copy())  # (T, D)
    assert tuple(proj.shape) == (trace.T, c.d_model)
    w = encoder.layer_weights(layer)
    x = torch.from_numpy(trace.hidden_states[layer].copy())
    h = F.layer_norm(x + proj, (c.d_model,), w.ln_attn_w, w.ln_attn_b, c.layer_norm_eps)
    assert torch.isfinite(h).all()
    ff = F.gelu(F.linear(h, w.w_ff_in, w.b_ff_in))
    out = F.layer_norm(h + F.linear(ff, w.w_ff_out, w.b_ff_out), (c.d_model,), w.ln_ff_w, w.ln_ff_b, c.layer_norm_eps)
    np.testing.assert_allclose(out.numpy(), trace.hidden_states[layer + 1], rtol=0, atol=1e-4)


def test_project_output_is_not_the_identity(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """W_o really mixes the heads: the projection differs from the raw context."""
    trace = traces["trained"]
    assert np.abs(project_output(encoder, trace, 1) - trace.contexts[1]).max() > 0.1


# ---------------------------------------------------------------------------------------
# 4) Contextual embeddings
# ---------------------------------------------------------------------------------------


def test_word_spans_cover_the_words(encoder: Encoder) -> None:
    """Pieces of one word form one span with the word as written; specials are left out."""
    trace = encoder.trace("Tokenization is unbelievably hard!")
    spans = word_spans(trace)
    assert [s.text for s in spans] == ["Tokenization", "is", "unbelievably", "hard", "!"]
    assert spans[0].pieces == (1, 2)  # token ##ization
    assert spans[2].pieces == (4, 5, 6, 7, 8)  # un ##bel ##ie ##va ##bly
    assert [s.word_index for s in spans] == [0, 1, 2, 3, 4]
    assert all(0 not in s.pieces and trace.T - 1 not in s.pieces for s in spans)


FIND_CASES = [
    # text, query, expected (text, pieces) of each match
    pytest.param(RIVER, "bank", [("bank", (5,))], id="plain"),  # one match
    pytest.param(RIVER, "BANK", [("bank", (5,))], id="case-insensitive"),  # case is ignored
    pytest.param(RIVER, " bank,", [("bank", (5,))], id="punctuation-stripped"),  # typed with a comma
    pytest.param(RIVER, "the", [("the", (4,)), ("the", (7,)), ("the", (11,))], id="three-times"),  # every occurrence
    pytest.param(RIVER, "ban", [], id="no-partial-words"),  # a prefix is not the word
    pytest.param(RIVER, "money", [], id="absent"),  # nothing found
    pytest.param(SENTENCE, "didn't", [("didn't", (3, 4, 5))], id="apostrophe"),  # spans the tokenizer's 3 words
    pytest.param("Tokenization rocks.", "tokenization", [("Tokenization", (1, 2))], id="two-pieces"),  # 2 pieces
]


@pytest.mark.parametrize(("text", "query", "expected"), FIND_CASES)
def test_find_word(encoder: Encoder, text: str, query: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    """Matches are whole written words, case-insensitive, with the token positions of their pieces."""
    found = find_word(encoder.trace(text), query)
    assert [(s.text, s.pieces) for s in found] == expected


def test_find_word_skips_occurrences_cut_off_by_truncation(encoder: Encoder) -> None:
    """A word that only occurs past the 512-token limit has no pieces, so it is not found."""
    trace = encoder.trace("river " * 600 + "zebra")
    assert trace.truncated
    assert find_word(trace, "zebra") == []
    assert len(find_word(trace, "river")) == trace.T - 2


@pytest.mark.parametrize("bad", ["", "   ", "...", 42])
def test_find_word_rejects_empty_queries(traces: dict[str, Trace], bad: object) -> None:
    """A query with no letters or digits (or not a string) is a ValueError."""
    with pytest.raises(ValueError, match="word must"):
        find_word(traces["trained"], bad)  # type: ignore[arg-type]


def test_word_vectors_average_the_pieces(encoder: Encoder) -> None:
    """(L+1, D): the mean of the pieces' hidden states at every layer."""
    trace = encoder.trace("Tokenization rocks.")
    span = find_word(trace, "tokenization")[0]
    vectors = word_vectors(trace, span)
    assert vectors.shape == (trace.n_layers + 1, encoder.config.d_model)
    np.testing.assert_allclose(vectors, trace.hidden_states[:, [1, 2]].mean(axis=1), atol=1e-6)
    single = word_vectors(trace, find_word(trace, "rocks")[0])
    np.testing.assert_allclose(single, trace.hidden_states[:, 3], atol=1e-7)
    with pytest.raises(ValueError, match="piece position"):
        word_vectors(trace, WordSpan(word_index=0, text="x", pieces=(99,)))


def test_layerwise_cosine_basics() -> None:
    """Row-by-row cosine: 1 for equal rows, 0 for orthogonal or zero rows, -1 for opposite."""
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    b = np.array([[3.0, 0.0], [1.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(layerwise_cosine(a, b), [1.0, 0.0, 0.0, -1.0], atol=1e-12)
    with pytest.raises(ValueError, match=r"\(4, 2\) and \(3, 2\)"):
        layerwise_cosine(a, b[:3])


def _bank_curve(traces: dict[str, Trace], one: str, two: str) -> np.ndarray:
    """Layer-by-layer cosine between "bank" in two sentences, (L+1,)."""
    vectors = [word_vectors(traces[name], find_word(traces[name], "bank")[0]) for name in (one, two)]
    return layerwise_cosine(*vectors)


def test_context_pulls_the_two_banks_apart(bank_traces: dict[str, Trace]) -> None:
    """River bank vs money bank: identical embeddings at layer 0, clearly apart after the last layer."""
    curve = _bank_curve(bank_traces, "river", "loan")
    assert curve.shape == (7,)
    assert curve[0] == pytest.approx(1.0, abs=1e-6)  # same word, same position: same input vector
    assert curve[0] > curve[-1] + 0.1


def test_two_river_banks_stay_closer_than_river_and_money(bank_traces: dict[str, Trace]) -> None:
    """At the last layer, bank (river) vs bank (stream) is more alike than bank (river) vs bank (loan)."""
    same_sense = _bank_curve(bank_traces, "river", "river_too")
    other_sense = _bank_curve(bank_traces, "river", "loan")
    assert same_sense[-1] > other_sense[-1] + 0.05


def test_nearest_tokens(bank_traces: dict[str, Trace]) -> None:
    """A token's own state is its nearest neighbour; exclusions and specials are skipped; best first."""
    trace = bank_traces["river"]
    own = trace.hidden_states[6, 5]
    found = nearest_tokens(trace, own, 6, k=4)
    assert found[0][:2] == (5, "bank") and found[0][2] == pytest.approx(1.0, abs=1e-6)
    sims = [sim for _, _, sim in found]
    assert sims == sorted(sims, reverse=True) and len(found) == 4
    without = nearest_tokens(trace, own, 6, k=100, exclude=(5,))
    positions = [p for p, _, _ in without]
    assert 5 not in positions and 0 not in positions and trace.T - 1 not in positions
    assert len(without) == trace.T - 3  # every word but the excluded one
    across = nearest_tokens(bank_traces["loan"], own, 6, k=1)
    assert across[0][1] == "bank"  # the river "bank" still finds "bank" in the loan sentence


@pytest.mark.parametrize(
    ("layer", "k", "vector_size", "fragment"),
    [(7, 5, 384, "layer"), (0, 0, 384, "k must"), (0, 5, 383, r"shape \(384,\)")],
)
def test_nearest_tokens_rejects_bad_input(
    bank_traces: dict[str, Trace], layer: int, k: int, vector_size: int, fragment: str
) -> None:
    """Bad layer, k or vector size is a ValueError naming it."""
    with pytest.raises(ValueError, match=fragment):
        nearest_tokens(bank_traces["river"], np.ones(vector_size), layer, k=k)


# ---------------------------------------------------------------------------------------
# 5) Why ÷√d
# ---------------------------------------------------------------------------------------

DIMS = [16, 64, 256, 1024]


@pytest.mark.parametrize("d", DIMS)
def test_dot_products_spread_like_sqrt_d(d: int) -> None:
    """std(q·k) ≈ √d for N(0, 1) entries; after ÷√d it is ≈ 1 whatever d is."""
    stats = dot_product_spread(d)
    assert stats.scores.shape == (4000,) and stats.d == d
    assert stats.std_raw == pytest.approx(math.sqrt(d), rel=0.1)
    assert stats.std_scaled == pytest.approx(1.0, rel=0.1)
    assert abs(stats.scores.mean()) < 0.1 * math.sqrt(d)
    assert stats.max_entropy == pytest.approx(math.log(16))
    assert 0 < stats.entropy_raw < stats.entropy_scaled < stats.max_entropy


def test_raw_softmax_collapses_as_d_grows_scaled_does_not() -> None:
    """Raw scores: entropy falls and the top weight rises with d; scaled scores: both stay put."""
    runs = [dot_product_spread(d) for d in DIMS]
    raw_entropy = [r.entropy_raw for r in runs]
    assert raw_entropy == sorted(raw_entropy, reverse=True) and len(set(raw_entropy)) == len(DIMS)
    assert [r.top_weight_raw for r in runs] == sorted(r.top_weight_raw for r in runs)
    assert runs[-1].top_weight_raw > 0.9  # d = 1024: one key takes nearly everything
    scaled = [r.entropy_scaled for r in runs]
    assert max(scaled) - min(scaled) < 0.15


def test_dot_product_spread_is_seeded() -> None:
    """Same seed, same draws; another seed, other draws."""
    np.testing.assert_array_equal(dot_product_spread(64, seed=3).scores, dot_product_spread(64, seed=3).scores)
    assert not np.array_equal(dot_product_spread(64, seed=3).scores, dot_product_spread(64, seed=4).scores)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        pytest.param({"d": 0}, r"d must be in 1\.\.4096, got 0", id="d-zero"),  # no empty vectors
        pytest.param({"d": 4097}, r"d must be in 1\.\.4096, got 4097", id="d-too-big"),  # keeps it fast
        pytest.param({"d": 2.5}, "d must be an int", id="d-float"),  # a width is a whole number
        pytest.param({"d": 8, "n_keys": 1}, "n_keys must be", id="one-key"),  # a softmax over one key says nothing
        pytest.param({"d": 8, "n_pairs": 100, "n_keys": 16}, "multiple of n_keys", id="ragged"),  # 100 / 16
    ],
)
def test_dot_product_spread_rejects_bad_input(kwargs: dict, fragment: str) -> None:
    """Out-of-range sizes are a ValueError naming them."""
    with pytest.raises(ValueError, match=fragment):
        dot_product_spread(**kwargs)


def _reference_spread(trace: Trace, factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-layer std, softmax entropy and top weight of factor * Q Kᵀ, in float64 with -inf masking."""
    q, k = torch.from_numpy(trace.queries.copy()).double(), torch.from_numpy(trace.keys.copy()).double()
    scores = q @ k.transpose(-1, -2) * factor  # (L, H, T, T)
    visible = torch.ones(trace.T, trace.T, dtype=torch.bool)  # (T, T) True = key visible
    if trace.causal:
        visible = visible.tril()
    std = np.array([scores[layer][:, visible].std(correction=0).item() for layer in range(trace.n_layers)])
    masked = scores.masked_fill(~visible, -torch.inf)
    weights, logs = torch.softmax(masked, dim=-1), torch.log_softmax(masked, dim=-1)
    entropy = -torch.where(weights > 0, weights * logs, 0.0).sum(-1).mean(dim=(1, 2))
    return std, entropy.numpy(), weights.amax(-1).mean(dim=(1, 2)).numpy()


@pytest.mark.parametrize("variant", VARIANTS)
def test_model_score_spread_matches_a_float64_reference(traces: dict[str, Trace], variant: str) -> None:
    """Spreads, entropies and top weights per layer equal a plain float64 recomputation."""
    trace = traces[variant]
    spread = model_score_spread(trace)
    std_raw, entropy_raw, top_raw = _reference_spread(trace, 1.0)
    std_scaled, entropy_scaled, top_scaled = _reference_spread(trace, trace.scale)
    assert spread.std_raw.shape == (trace.n_layers,)
    np.testing.assert_allclose(spread.std_raw, std_raw, rtol=1e-5)
    np.testing.assert_allclose(spread.std_scaled, std_scaled, rtol=1e-5)
    np.testing.assert_allclose(spread.entropy_raw, entropy_raw, atol=1e-5)
    np.testing.assert_allclose(spread.entropy_scaled, entropy_scaled, atol=1e-5)
    np.testing.assert_allclose(spread.top_weight_raw, top_raw, atol=1e-5)
    np.testing.assert_allclose(spread.top_weight_scaled, top_scaled, atol=1e-5)
    expected_max = np.log(np.arange(1, trace.T + 1)).mean() if trace.causal else math.log(trace.T)
    assert spread.max_entropy == pytest.approx(expected_max)
    assert spread.causal is trace.causal and spread.scale == trace.scale


def test_model_score_spread_tells_the_sqrt_d_story(traces: dict[str, Trace]) -> None:
    """As trained: without ÷√d every layer's softmax is far peakier; with scale 1.0 raw and scaled coincide."""
    spread = model_score_spread(traces["trained"])
    assert (spread.entropy_scaled > spread.entropy_raw + 0.5).all()
    assert (spread.top_weight_raw > spread.top_weight_scaled).all()
    np.testing.assert_allclose(spread.std_scaled, spread.std_raw / math.sqrt(32))
    no_scale = model_score_spread(traces["scale1"])
    np.testing.assert_allclose(no_scale.entropy_raw, no_scale.entropy_scaled)
    np.testing.assert_allclose(no_scale.std_raw, no_scale.std_scaled)

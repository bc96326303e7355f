"""qkv_core.steps: one query step by step, a head as matrices, and the what-if toggles.

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

from qkv_core.encoder import Encoder, Trace
from qkv_core.numerics import MASKED_SCORE
from qkv_core.steps import (
    head_steps,
    hide_special_columns,
    matrix_step,
    output_change,
    special_share,
    token_step,
)
from tests.trace_texts import TOL, head_outputs


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
    np.testing.assert_allclose(step.output, head_outputs(trace, layer, head)[token], rtol=0, atol=TOL)
    assert step.scale == trace.scale
    assert math.isclose(step.weights.sum(), 1.0, abs_tol=1e-12)
    assert np.isfinite(step.scaled).all()
    both = head_steps(encoder, trace, layer, head, token)  # the step view's one call: the same numbers
    np.testing.assert_array_equal(both.token.weights, step.weights)
    np.testing.assert_array_equal(both.token.scaled, step.scaled)
    m = matrix_step(trace, layer, head)
    np.testing.assert_array_equal(both.matrix.weights, m.weights)
    np.testing.assert_array_equal(both.matrix.scaled, m.scaled)
    assert both.matrix.shapes == m.shapes
    np.testing.assert_allclose(both.matrix.weights[token], step.weights, rtol=0, atol=TOL)


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
    """Out-of-range or non-int indices are a ValueError that names the index and its range (head_steps too)."""
    with pytest.raises(ValueError, match=fragment):
        token_step(encoder, traces["trained"], layer, head, token)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=fragment):
        head_steps(encoder, traces["trained"], layer, head, token)  # type: ignore[arg-type]


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
    np.testing.assert_allclose(step.output, head_outputs(trace, layer, head), rtol=0, atol=TOL)
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


def test_value_mix_adds_the_largest_terms_and_measures_the_rest(encoder: Encoder, traces: dict[str, Trace]) -> None:
    from qkv_core.steps import value_mix

    step = token_step(encoder, traces["trained"], 3, 1, 10)
    mix = value_mix(step, 3)
    assert list(mix.keys) == list(np.argsort(-step.weights)[:3])
    np.testing.assert_allclose(mix.terms, step.weights[mix.keys, None] * step.values[mix.keys])
    np.testing.assert_allclose(mix.partial, mix.terms.sum(0))
    np.testing.assert_allclose(mix.output, step.output)
    assert mix.weight_share == pytest.approx(step.weights[mix.keys].sum())
    rest = step.output - mix.partial
    assert mix.distance == pytest.approx(np.linalg.norm(rest) / np.linalg.norm(step.output))
    everything = value_mix(step, traces["trained"].T)
    assert everything.distance < 1e-9 and everything.weight_share == pytest.approx(1.0)
    with pytest.raises(ValueError, match="k must be"):
        value_mix(step, 0)

"""One head's attention step by step: one query token, then every token as matrices; and the what-ifs.

Letter legend used in shape comments:

    L        encoder layers (hidden states have L+1 rows: the embeddings, then each layer's output)
    H        attention heads
    T        tokens (word pieces, [CLS] and [SEP] included)
    D        model width, D = H * d_head
    d_head   width of one head's query / key / value vectors
    ...      any leading dimensions, e.g. (L, H)

Everything here is a pure function of an ``Encoder`` and/or a ``Trace`` (or plain arrays)
and returns arrays or frozen results; masked scores are ``qkv_core.numerics.MASKED_SCORE``,
finite, so no NaN can appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from qkv_core.attention import scaled_dot_product_attention
from qkv_core.checks import check_index, check_maps, is_int, short
from qkv_core.encoder import SPECIAL_TOKENS, Encoder, Trace, special_mask
from qkv_core.numerics import MASKED_SCORE, causal_mask, cosine, read_only, softmax

__all__ = [
    "HeadSteps",
    "MatrixStep",
    "TokenStep",
    "ValueMix",
    "head_steps",
    "hide_special_columns",
    "matrix_step",
    "output_change",
    "special_share",
    "token_step",
    "value_mix",
]


# ---------------------------------------------------------------------------------------
# One query, step by step; the whole head as matrices
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TokenStep:
    """One query token through one head, every stage kept (float64, read-only)."""

    layer: int
    head: int
    token: int
    x: np.ndarray  # (D,) the token's input to the layer
    w_q: np.ndarray  # (d_head, D) the head's rows of W_q, stored [out, in]
    b_q: np.ndarray  # (d_head,)
    q: np.ndarray  # (d_head,) = w_q @ x + b_q
    keys: np.ndarray  # (T, d_head) every token's key in this head
    values: np.ndarray  # (T, d_head) every token's value in this head
    dots: np.ndarray  # (T,) = keys @ q
    scale: float  # the trace's score scale (1/sqrt(d_head) as trained)
    scaled: np.ndarray  # (T,) dots * scale, MASKED_SCORE where masked
    masked: np.ndarray  # (T,) bool, True where the causal mask hides the key
    weights: np.ndarray  # (T,) softmax(scaled); sums to 1
    output: np.ndarray  # (d_head,) = weights @ values


@dataclass(frozen=True, eq=False)
class MatrixStep:
    """One head for all tokens at once, as matrices (float64, read-only)."""

    layer: int
    head: int
    Q: np.ndarray  # (T, d_head)  # noqa: N815  (the maths' letters)
    K: np.ndarray  # (T, d_head)  # noqa: N815
    V: np.ndarray  # (T, d_head)  # noqa: N815
    scores: np.ndarray  # (T, T) = Q K^T
    scale: float
    scaled: np.ndarray  # (T, T) scores * scale, MASKED_SCORE where masked
    masked: np.ndarray  # (T, T) bool, True where key j is hidden from query i
    weights: np.ndarray  # (T, T) row-wise softmax; rows sum to 1
    output: np.ndarray  # (T, d_head) = weights @ V
    shapes: dict[str, str]  # human-readable shape of each stage, e.g. {"Q": "T × d_head = 16 × 32"}


@dataclass(frozen=True, eq=False)
class HeadSteps:
    """One head on one text: the chosen query token step by step, and every token in matrix form."""

    token: TokenStep
    matrix: MatrixStep  # row ``token.token`` of it is ``token``


def _check_head(trace: Trace, layer: object, head: object) -> tuple[int, int]:
    """Validate an attention layer (0..L-1) and head (0..H-1) of ``trace``."""
    return check_index("layer", layer, trace.n_layers), check_index("head", head, trace.n_heads)


def _check_token_args(
    encoder: Encoder, trace: Trace, layer: object, head: object, token: object
) -> tuple[int, int, int]:
    """Check that ``trace`` comes from ``encoder`` and that layer, head and token index it."""
    c = encoder.config
    if (trace.n_layers, trace.n_heads, trace.hidden_states.shape[-1]) != (c.n_layers, c.n_heads, c.d_model):
        raise ValueError(
            f"trace (L={trace.n_layers}, H={trace.n_heads}, D={trace.hidden_states.shape[-1]}) does not come "
            f"from this encoder (L={c.n_layers}, H={c.n_heads}, D={c.d_model})"
        )
    layer, head = _check_head(trace, layer, head)
    return layer, head, check_index("token", token, trace.T)


def token_step(encoder: Encoder, trace: Trace, layer: int, head: int, token: int) -> TokenStep:
    """Recompute one head's attention for one query token from the layer's weights.

    Steps:
        1) input      x = hidden_states[layer][token]                  (D,)
        2) project    q = W_q[head rows] x + b_q[head rows]            (d_head,)
        3) score      s_j = k_j · q for every key j                    (T,)
        4) scale      s'_j = scale * s_j
        5) mask       s'_j = MASKED_SCORE for j > token (causal only)
        6) softmax    a = softmax(s')                                  (T,)
        7) mix values o = Σ_j a_j v_j                                   (d_head,)
    """
    return _token_step(encoder, trace, *_check_token_args(encoder, trace, layer, head, token))


def _token_step(encoder: Encoder, trace: Trace, layer: int, head: int, token: int) -> TokenStep:
    """``token_step`` on checked indices."""
    d_head = encoder.config.d_head
    rows = slice(head * d_head, (head + 1) * d_head)
    w = encoder.layer_weights(layer)

    # 1) input
    x = trace.hidden_states[layer, token].astype(np.float64)  # (D,)
    # 2) project
    w_q = w.w_q[rows].numpy().astype(np.float64)  # (d_head, D)
    b_q = w.b_q[rows].numpy().astype(np.float64)  # (d_head,)
    q = w_q @ x + b_q  # (d_head, D) @ (D,) -> (d_head,)
    keys = trace.keys[layer, head].astype(np.float64)  # (T, d_head)
    values = trace.values[layer, head].astype(np.float64)  # (T, d_head)
    # 3) score
    dots = keys @ q  # (T, d_head) @ (d_head,) -> (T,)
    # 4) scale
    scaled = dots * trace.scale  # (T,)
    # 5) mask: row ``token`` of the causal mask
    masked = causal_mask(trace.T)[token].numpy() if trace.causal else np.zeros(trace.T, dtype=bool)  # (T,)
    scaled[masked] = MASKED_SCORE
    # 6) softmax
    weights = softmax(scaled)  # (T,)
    # 7) mix values
    output = weights @ values  # (T,) @ (T, d_head) -> (d_head,)
    arrays = dict(
        x=x, w_q=w_q, b_q=b_q, q=q, keys=keys, values=values, dots=dots,
        scaled=scaled, masked=masked, weights=weights, output=output,
    )
    return TokenStep(
        layer=layer, head=head, token=token, scale=float(trace.scale),
        **{name: read_only(array) for name, array in arrays.items()},
    )


def matrix_step(trace: Trace, layer: int, head: int) -> MatrixStep:
    """One head's attention over the whole text as matrix products.

    Steps (``qkv_core.attention.scaled_dot_product_attention`` in float64):
        1) score      S  = Q K^T                                   (T, T)
        2) scale      S' = scale * S
        3) mask       S'[i, j] = MASKED_SCORE for j > i (causal only)
        4) softmax    A = softmax(S') row by row                   (T, T)
        5) mix values O = A V                                      (T, d_head)
    """
    return _matrix_step(trace, *_check_head(trace, layer, head))


def _matrix_step(trace: Trace, layer: int, head: int) -> MatrixStep:
    """``matrix_step`` on checked indices."""
    # torch float64, like the encoder's matmuls: no second BLAS thread pool competing for cores
    q, k, v = (torch.tensor(a[layer, head], dtype=torch.float64) for a in (trace.queries, trace.keys, trace.values))
    t, d_head = q.shape  # q, k, v each (T, d_head)
    with torch.inference_mode():
        result = scaled_dot_product_attention(q, k, v, scale=trace.scale, causal=trace.causal)  # 1) .. 5)
    masked = causal_mask(t).numpy() if trace.causal else np.zeros((t, t), dtype=bool)  # (T, T)

    tokens_by_head = f"T × d_head = {t} × {d_head}"
    square = f"T × T = {t} × {t}"
    shapes = {
        "Q": tokens_by_head,
        "K": tokens_by_head,
        "V": tokens_by_head,
        "Kᵀ": f"d_head × T = {d_head} × {t}",
        "scores": square,
        "scaled": square,
        "weights": square,
        "output": tokens_by_head,
    }
    tensors = dict(
        Q=q, K=k, V=v, scores=result.scores, scaled=result.scaled, weights=result.weights, output=result.output
    )
    arrays = {name: tensor.numpy() for name, tensor in tensors.items()} | {"masked": masked}
    return MatrixStep(
        layer=layer, head=head, scale=float(trace.scale), shapes=shapes,
        **{name: read_only(array) for name, array in arrays.items()},
    )


def head_steps(encoder: Encoder, trace: Trace, layer: int, head: int, token: int) -> HeadSteps:
    """``token_step`` and ``matrix_step`` of one head in one call: the step-by-step view's numbers."""
    layer, head, token = _check_token_args(encoder, trace, layer, head, token)
    return HeadSteps(token=_token_step(encoder, trace, layer, head, token), matrix=_matrix_step(trace, layer, head))


@dataclass(frozen=True, eq=False)
class ValueMix:
    """The largest terms of one query's sum Σ_j w_j v_j, and how much of the output they make (read-only)."""

    keys: np.ndarray  # (k,) key positions, largest weight first
    weights: np.ndarray  # (k,) their weights w_j
    values: np.ndarray  # (k, d_head) their value rows v_j
    terms: np.ndarray  # (k, d_head) w_j v_j
    partial: np.ndarray  # (d_head,) Σ of the k terms
    output: np.ndarray  # (d_head,) the full Σ_j w_j v_j over every key
    weight_share: float  # Σ of the k weights (the rows sum to 1, so this is their share of the weight)
    distance: float  # |output - partial| / |output|: how far the k terms alone are from the output


def value_mix(step: TokenStep, k: int = 3) -> ValueMix:
    """The k largest weighted value rows of ``step`` and their sum beside the head's output.

    Steps:
        1) pick      the k keys with the largest weights (ties: earlier position first)
        2) weigh     term_j = w_j v_j                                  (k, d_head)
        3) add       partial = Σ term_j; compare with output = Σ over all T keys
    """
    if not is_int(k) or k < 1:
        raise ValueError(f"k must be a positive int, got {short(k)}")
    # 1) pick
    keys = np.argsort(-step.weights, kind="stable")[: min(int(k), len(step.weights))]  # (k,)
    weights = step.weights[keys]  # (k,)
    values = step.values[keys]  # (k, d_head)
    # 2) weigh
    terms = weights[:, None] * values  # (k, 1) * (k, d_head) -> (k, d_head)
    # 3) add
    partial = terms.sum(axis=0)  # (d_head,)
    norm = float(np.linalg.norm(step.output))
    distance = float(np.linalg.norm(step.output - partial)) / norm if norm > 0 else 0.0
    arrays = dict(keys=keys, weights=weights, values=values, terms=terms, partial=partial,
                  output=np.array(step.output))
    return ValueMix(weight_share=float(weights.sum()), distance=distance,
                    **{name: read_only(np.array(a)) for name, a in arrays.items()})


# ---------------------------------------------------------------------------------------
# What-ifs: hiding [CLS]/[SEP], their share, how much the outputs change
# ---------------------------------------------------------------------------------------


def hide_special_columns(
    weights: np.ndarray, tokens: Sequence[str], specials: Sequence[str] = SPECIAL_TOKENS
) -> np.ndarray:
    """Zero the special tokens' columns of (..., T, T) weights and renormalise each row to sum 1.

    A row that had all its weight on specials becomes uniform over the other columns;
    if every column is special the weights come back unchanged (as a copy).
    """
    weights = np.asarray(weights)
    if not np.issubdtype(weights.dtype, np.floating):
        weights = weights.astype(np.float64)
    check_maps(weights, tokens)
    keep = ~special_mask(tokens, specials)  # (T,)
    if not keep.any():
        return weights.copy()
    kept = weights * keep.astype(weights.dtype)  # (..., T, T), special columns zeroed
    total = kept.sum(axis=-1, keepdims=True)  # (..., T, 1)
    empty = total <= 0  # (..., T, 1) rows whose weight was all on specials
    np.divide(kept, total, out=kept, where=~empty)  # (..., T, T), rows sum to 1 again
    if empty.any():
        uniform = (keep / keep.sum()).astype(weights.dtype)  # (T,)
        kept = np.where(empty, uniform, kept)  # (..., T, T)
    return kept


def special_share(
    weights: np.ndarray, tokens: Sequence[str], specials: Sequence[str] = SPECIAL_TOKENS
) -> np.ndarray:
    """Share of each map's attention that lands on special tokens: (..., T, T) -> (...), e.g. (L, H).

    Averaged over the non-special query rows (all rows if every token is special).
    """
    weights = np.asarray(weights)
    check_maps(weights, tokens)
    special = special_mask(tokens, specials)  # (T,)
    rows = ~special if (~special).any() else np.ones_like(special)  # (T,)
    on_specials = weights[..., special].sum(axis=-1, dtype=np.float64)  # (..., T)
    return on_specials[..., rows].mean(axis=-1)  # (...,)


def output_change(base: Trace, other: Trace) -> np.ndarray:
    """Per-token cosine similarity (T,) of the final hidden states of two traces of the same text."""
    if base.tokens != other.tokens:
        raise ValueError(
            f"output_change needs two traces of the same tokens, got T={base.T} and T={other.T} "
            f"({' '.join(base.tokens[:6])} … vs {' '.join(other.tokens[:6])} …)"
        )
    return cosine(base.hidden_states[-1], other.hidden_states[-1])  # (T,)

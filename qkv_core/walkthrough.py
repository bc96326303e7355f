"""The /attention page's walkthrough views: one query step by step, toggles, head patterns, word vectors, ÷√d.

Letter legend used in shape comments:

    L        encoder layers (hidden states have L+1 rows: the embeddings, then each layer's output)
    H        attention heads
    T        tokens (word pieces, [CLS] and [SEP] included)
    D        model width, D = H * d_head
    d_head   width of one head's query / key / value vectors
    d        width of the random vectors in the ÷√d experiment
    P        (query, key) pairs in that experiment; P = N * K for N queries of K keys each
    ...      any leading dimensions, e.g. (L, H) or (H,)

Everything here is a pure function of an ``Encoder`` and/or a ``Trace`` (or plain
arrays) and returns arrays or frozen result objects; masking uses the finite
``MASKED_SCORE``, never -inf, so no NaN can appear.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from qkv_core.attention import merge_heads
from qkv_core.encoder import Encoder, Trace

__all__ = [
    "MASKED_SCORE",
    "PATTERN_KINDS",
    "SPECIAL_TOKENS",
    "HeadPattern",
    "MatrixStep",
    "ScoreSpread",
    "SpreadStats",
    "TokenStep",
    "WordSpan",
    "describe_head",
    "describe_heads",
    "dot_product_spread",
    "find_word",
    "head_concat",
    "hide_special_columns",
    "layerwise_cosine",
    "matrix_step",
    "model_score_spread",
    "nearest_tokens",
    "output_change",
    "project_output",
    "special_share",
    "token_step",
    "word_spans",
    "word_vectors",
]

MASKED_SCORE = -1e9  # stands in for -inf where the causal mask hides a key; exp() of it is exactly 0
SPECIAL_TOKENS = ("[CLS]", "[SEP]")
PATTERN_KINDS = ("previous", "next", "self", "cls", "sep", "same_word", "broad", "mixed")
SHARE_THRESHOLD = 0.4  # a single pattern names the head when it holds at least this share
BROAD_THRESHOLD = 0.8  # otherwise "broad" when mean entropy is at least this fraction of log(T)
MAX_SPREAD_DIM = 4096

_SHARE_KINDS = ("previous", "next", "self", "cls", "sep", "same_word")  # ties: the earlier one wins
_SHARE_LABELS = {
    "previous": "the previous token",
    "next": "the next token",
    "self": "itself",
    "cls": "[CLS]",
    "sep": "[SEP]",
    "same_word": "the same word elsewhere",
}
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


def _index(name: str, value: object, n: int) -> int:
    """Check that ``value`` is an int in 0..n-1 and return it as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"{name} must be in 0..{n - 1}, got {value}")
    return int(value)


def _read_only(array: np.ndarray) -> np.ndarray:
    """Mark an array read-only and return it."""
    array.flags.writeable = False
    return array


def _softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum so exp() cannot overflow."""
    z = np.exp(x - x.max(axis=-1, keepdims=True))  # (..., n)
    return z / z.sum(axis=-1, keepdims=True)  # (..., n)


def _causal_mask(t: int) -> np.ndarray:
    """(T, T) bool, True where key j lies after query i (j > i) and is hidden."""
    return np.triu(np.ones((t, t), dtype=bool), k=1)


def _is_special(tokens: Sequence[str], specials: Iterable[str] = SPECIAL_TOKENS) -> np.ndarray:
    """(T,) bool, True for special tokens."""
    specials = set(specials)
    return np.fromiter((tok in specials for tok in tokens), dtype=bool, count=len(tokens))


def _check_square(weights: np.ndarray, tokens: Sequence[str], name: str = "weights") -> int:
    """Check that ``weights`` is (..., T, T) with T = len(tokens); return T."""
    if weights.ndim < 2 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"{name} must be (..., T, T), got shape {weights.shape}")
    if weights.shape[-1] != len(tokens):
        raise ValueError(f"{name} has T={weights.shape[-1]} columns but tokens has {len(tokens)} entries")
    return weights.shape[-1]


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity along the last axis; 0 where either vector is zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dots = (a * b).sum(axis=-1)  # (...,)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)  # (...,)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def _check_trace_layer(trace: Trace, layer: object) -> int:
    """Validate an attention layer index (0..L-1) for ``trace``."""
    return _index("layer", layer, trace.n_layers)


def _check_state_layer(trace: Trace, layer: object) -> int:
    """Validate a hidden-state index (0 = embeddings .. L = last layer's output)."""
    return _index("layer", layer, trace.hidden_states.shape[0])


# ---------------------------------------------------------------------------------------
# 1) One query, step by step; the whole head as matrices
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
    c = encoder.config
    if (trace.n_layers, trace.n_heads, trace.hidden_states.shape[-1]) != (c.n_layers, c.n_heads, c.d_model):
        raise ValueError(
            f"trace (L={trace.n_layers}, H={trace.n_heads}, D={trace.hidden_states.shape[-1]}) does not come "
            f"from this encoder (L={c.n_layers}, H={c.n_heads}, D={c.d_model})"
        )
    layer = _check_trace_layer(trace, layer)
    head = _index("head", head, trace.n_heads)
    token = _index("token", token, trace.T)
    d_head, t = c.d_head, trace.T
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
    # 5) mask
    masked = np.zeros(t, dtype=bool)  # (T,)
    if trace.causal:
        masked[token + 1 :] = True
    scaled[masked] = MASKED_SCORE
    # 6) softmax
    weights = _softmax(scaled)  # (T,)
    # 7) mix values
    output = weights @ values  # (T,) @ (T, d_head) -> (d_head,)
    arrays = dict(
        x=x, w_q=w_q, b_q=b_q, q=q, keys=keys, values=values, dots=dots,
        scaled=scaled, masked=masked, weights=weights, output=output,
    )
    return TokenStep(
        layer=layer, head=head, token=token, scale=float(trace.scale),
        **{name: _read_only(array) for name, array in arrays.items()},
    )


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


def matrix_step(trace: Trace, layer: int, head: int) -> MatrixStep:
    """One head's attention over the whole text as matrix products.

    Steps:
        1) score      S  = Q K^T                                   (T, T)
        2) scale      S' = scale * S
        3) mask       S'[i, j] = MASKED_SCORE for j > i (causal only)
        4) softmax    A = softmax(S') row by row                   (T, T)
        5) mix values O = A V                                      (T, d_head)
    """
    layer = _check_trace_layer(trace, layer)
    head = _index("head", head, trace.n_heads)
    # torch float64, like the encoder's matmuls: no second BLAS thread pool competing for cores
    q, k, v = (torch.tensor(a[layer, head], dtype=torch.float64) for a in (trace.queries, trace.keys, trace.values))
    t, d_head = q.shape  # q, k, v each (T, d_head)
    masked = _causal_mask(t) if trace.causal else np.zeros((t, t), dtype=bool)  # (T, T)

    with torch.inference_mode():
        # 1) score
        scores = q @ k.T  # (T, d_head) @ (d_head, T) -> (T, T)
        # 2) scale
        scaled = scores * trace.scale  # (T, T)
        # 3) mask
        scaled.masked_fill_(torch.from_numpy(masked), MASKED_SCORE)  # (T, T)
        # 4) softmax
        weights = torch.softmax(scaled, dim=-1)  # (T, T)
        # 5) mix values
        output = weights @ v  # (T, T) @ (T, d_head) -> (T, d_head)

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
    tensors = dict(Q=q, K=k, V=v, scores=scores, scaled=scaled, weights=weights, output=output)
    arrays = {name: tensor.numpy() for name, tensor in tensors.items()} | {"masked": masked}
    return MatrixStep(
        layer=layer, head=head, scale=float(trace.scale), shapes=shapes,
        **{name: _read_only(array) for name, array in arrays.items()},
    )


# ---------------------------------------------------------------------------------------
# 2) Toggle maths
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
    _check_square(weights, tokens)
    keep = ~_is_special(tokens, specials)  # (T,)
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
    _check_square(weights, tokens)
    special = _is_special(tokens, specials)  # (T,)
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
    return _cosine(base.hidden_states[-1], other.hidden_states[-1])  # (T,)


# ---------------------------------------------------------------------------------------
# 3) Head patterns, merging heads, the output projection
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadPattern:
    """A computed one-line description of what one attention head does."""

    kind: str  # one of PATTERN_KINDS
    text: str  # e.g. "mostly attends to the previous token (62 % of its weight)"
    score: float  # the number that decided: the winning share, or normalised entropy for "broad"
    shares: tuple[tuple[str, float], ...]  # (kind, mean share) for every share kind, in _SHARE_KINDS order
    entropy: float  # mean row entropy in nats
    max_entropy: float  # log(T)


def _pattern_stats(
    weights: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Mean shares per pattern kind and mean row entropy for (..., T, T) maps, over non-special query rows.

    Returns ({kind: (...)}, entropy (...)); shares are means over the query rows of the
    weight each row puts on position i-1, i+1, i, [CLS], [SEP] or the same word elsewhere.
    """
    t = weights.shape[-1]
    special = _is_special(tokens)  # (T,)
    rows = np.flatnonzero(~special) if (~special).any() else np.arange(t)  # (n,) query rows used
    n = len(rows)
    lead = weights.shape[:-2]

    def diagonal_share(offset: int) -> np.ndarray:
        """Mean over rows of w[i, i + offset]; rows without that neighbour give 0."""
        ii = rows[(rows + offset >= 0) & (rows + offset < t)]  # (m,)
        return weights[..., ii, ii + offset].sum(axis=-1, dtype=np.float64) / n  # (...,)

    def column_share(name: str) -> np.ndarray:
        """Mean over rows of the weight on every column holding token ``name``."""
        cols = np.flatnonzero([tok == name for tok in tokens])  # (c,)
        if len(cols) == 0:
            return np.zeros(lead)
        block = weights[..., rows[:, None], cols[None, :]]  # (..., n, c)
        return block.sum(axis=(-1, -2), dtype=np.float64) / n  # (...,)

    # same word elsewhere: equal token strings, or pieces of one word (same word_id); never specials
    _, codes = np.unique(np.array(tokens, dtype=str), return_inverse=True)  # (T,)
    same = codes[:, None] == codes[None, :]  # (T, T)
    if word_ids is not None:
        if len(word_ids) != t:
            raise ValueError(f"word_ids has {len(word_ids)} entries but weights have T={t}")
        wid = np.array([-1 if w is None else w for w in word_ids], dtype=np.int64)  # (T,)
        same |= (wid[:, None] == wid[None, :]) & (wid[:, None] >= 0)  # (T, T)
    same &= ~np.eye(t, dtype=bool) & ~special[None, :] & ~special[:, None]  # (T, T)
    row_used = np.zeros(t, dtype=bool)
    row_used[rows] = True
    ii, jj = np.nonzero(same & row_used[:, None])  # (P,), (P,)
    same_word = weights[..., ii, jj].sum(axis=-1, dtype=np.float64) / n  # (...,)

    shares = {
        "previous": diagonal_share(-1),
        "next": diagonal_share(+1),
        "self": diagonal_share(0),
        "cls": column_share("[CLS]"),
        "sep": column_share("[SEP]"),
        "same_word": same_word,
    }
    # entropy of each used row, -Σ w log w with 0 log 0 = 0
    used = weights[..., rows, :].astype(np.float32, copy=False)  # (..., n, T)
    logs = np.log(np.where(used > 0, used, 1.0))  # (..., n, T)
    entropy = -(used * logs).sum(axis=-1, dtype=np.float64).mean(axis=-1)  # (...,)
    return shares, entropy


def _describe(shares: dict[str, float], entropy: float, t: int) -> HeadPattern:
    """Turn one head's shares and entropy into a HeadPattern."""
    max_entropy = math.log(t)  # 0 for a single token
    normalised = entropy / max_entropy if max_entropy > 0 else 0.0
    best = max(_SHARE_KINDS, key=lambda kind: shares[kind])  # first of equals wins
    top = shares[best]
    pct = f"{round(100 * top)} %"
    if top >= SHARE_THRESHOLD:
        kind, score = best, top
        text = {
            "previous": f"mostly attends to the previous token ({pct} of its weight)",
            "next": f"mostly attends to the next token ({pct} of its weight)",
            "self": f"mostly attends to itself ({pct} of its weight)",
            "cls": f"parks on [CLS] ({pct})",
            "sep": f"parks on [SEP] ({pct})",
            "same_word": f"looks at the same word elsewhere ({pct})",
        }[best]
    elif normalised >= BROAD_THRESHOLD:
        kind, score = "broad", normalised
        text = f"spreads its attention broadly (entropy {entropy:.1f} of {max_entropy:.1f} nats)"
    else:
        kind, score = "mixed", top
        text = f"no single pattern: top share {pct} to {_SHARE_LABELS[best]}"
    return HeadPattern(
        kind=kind,
        text=text,
        score=float(score),
        shares=tuple((name, float(shares[name])) for name in _SHARE_KINDS),
        entropy=float(entropy),
        max_entropy=float(max_entropy),
    )


def describe_head(
    weights: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None = None
) -> HeadPattern:
    """Name the pattern of one head's (T, T) map: previous / next / self / cls / sep / same_word / broad / mixed.

    Steps:
        1) shares     mean over non-special query rows i of the weight on i-1, i+1, i,
                      [CLS], [SEP], and other positions of the same token or word
        2) entropy    mean row entropy H = -Σ_j w_ij log w_ij, compared with log(T)
        3) decide     largest share if >= 0.4; else "broad" if H / log(T) >= 0.8; else "mixed"
    """
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"describe_head expects one head's (T, T) map, got shape {weights.shape}")
    return describe_heads(weights[None], tokens, word_ids)[0]


def describe_heads(
    attentions_layer: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None = None
) -> list[HeadPattern]:
    """``describe_head`` for every head of one layer: (H, T, T) -> H patterns."""
    weights = np.asarray(attentions_layer)
    if weights.ndim != 3:
        raise ValueError(f"describe_heads expects one layer's (H, T, T) maps, got shape {weights.shape}")
    t = _check_square(weights, tokens, "attentions_layer")
    if t == 0:
        raise ValueError("describe_heads needs at least one token")
    shares, entropy = _pattern_stats(weights, tokens, word_ids)  # {kind: (H,)}, (H,)
    return [
        _describe({kind: float(share[h]) for kind, share in shares.items()}, float(entropy[h]), t)
        for h in range(weights.shape[0])
    ]


def head_concat(trace: Trace, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """Each head's output A_h V_h (H, T, d_head) and the heads laid side by side (T, D) = trace.contexts[layer]."""
    layer = _check_trace_layer(trace, layer)
    with torch.inference_mode():  # torch, like the encoder: no second BLAS thread pool competing for cores
        weights = torch.tensor(trace.attentions[layer])  # (H, T, T)
        values = torch.tensor(trace.values[layer])  # (H, T, d_head)
        per_head = weights @ values  # (H, T, T) @ (H, T, d_head) -> (H, T, d_head)
        concat = merge_heads(per_head)  # (H, T, d_head) -> (T, D)
        return _read_only(per_head.numpy()), _read_only(concat.numpy())


def project_output(encoder: Encoder, trace: Trace, layer: int) -> np.ndarray:
    """The attention block's output before the residual: contexts W_oᵀ + b_o, (T, D)."""
    layer = _check_trace_layer(trace, layer)
    if encoder.config.d_model != trace.contexts.shape[-1]:
        raise ValueError(
            f"trace width D={trace.contexts.shape[-1]} does not match the encoder's D={encoder.config.d_model}"
        )
    w = encoder.layer_weights(layer)
    with torch.inference_mode():  # F.linear, exactly as the encoder applied W_o
        context = torch.tensor(trace.contexts[layer])  # (T, D)
        projected = F.linear(context, w.w_o, w.b_o)  # (T, D) @ (D, D)^T + (D,) -> (T, D)
    return _read_only(projected.numpy())


# ---------------------------------------------------------------------------------------
# 4) Contextual embeddings
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WordSpan:
    """One written word and the token positions of its pieces."""

    word_index: int  # the tokenizer's word id of the first piece
    text: str  # the word as written in trace.text
    pieces: tuple[int, ...]  # token positions, in order


def word_spans(trace: Trace) -> list[WordSpan]:
    """Every word of the trace (as the tokenizer splits words; punctuation is its own word), specials excluded."""
    groups: dict[int, list[int]] = {}
    for position, word in enumerate(trace.word_ids):
        if word is not None:
            groups.setdefault(word, []).append(position)
    spans = []
    for word, positions in groups.items():
        start, end = trace.offsets[positions[0]][0], trace.offsets[positions[-1]][1]
        spans.append(WordSpan(word_index=word, text=trace.text[start:end], pieces=tuple(positions)))
    return spans


def find_word(trace: Trace, word: str) -> list[WordSpan]:
    """Every occurrence of ``word`` in the trace's text (case-insensitive, punctuation around it ignored)."""
    if not isinstance(word, str):
        raise ValueError(f"word must be a str, got {type(word).__name__}")
    needle = _EDGE_PUNCT.sub("", word.strip())
    if not needle:
        raise ValueError(f"word must contain a letter or digit, got {word!r}")
    pattern = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)", re.IGNORECASE)
    found = []
    for match in pattern.finditer(trace.text):
        pieces = tuple(
            position
            for position, ((start, end), wid) in enumerate(zip(trace.offsets, trace.word_ids))
            if wid is not None and start < match.end() and end > match.start()
        )
        if pieces:  # an occurrence cut off by truncation has no pieces
            found.append(WordSpan(word_index=trace.word_ids[pieces[0]], text=match.group(), pieces=pieces))
    return found


def word_vectors(trace: Trace, span: WordSpan) -> np.ndarray:
    """The word's vector at every layer: mean of its pieces' hidden states, (L+1, D)."""
    if not span.pieces:
        raise ValueError(f"span {span.text!r} has no pieces")
    for position in span.pieces:
        _index("piece position", position, trace.T)
    pieces = list(span.pieces)
    return trace.hidden_states[:, pieces, :].mean(axis=1, dtype=np.float64)  # (L+1, n, D) -> (L+1, D)


def layerwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of two (L+1, D) stacks, row by row: (L+1,)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"layerwise_cosine needs two (L+1, D) arrays of one shape, got {a.shape} and {b.shape}")
    return _cosine(a, b)  # (L+1,)


def nearest_tokens(
    trace: Trace, vector: np.ndarray, layer: int, k: int = 5, exclude: Iterable[int] = ()
) -> list[tuple[int, str, float]]:
    """The k positions whose hidden state at ``layer`` is most cosine-similar to ``vector``, best first.

    ``layer`` indexes hidden states (0 = embeddings .. L); specials and ``exclude`` are skipped.
    Returns (position, token, cosine) triples.
    """
    layer = _check_state_layer(trace, layer)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    vector = np.asarray(vector)
    d = trace.hidden_states.shape[-1]
    if vector.shape != (d,):
        raise ValueError(f"vector must have shape ({d},), got {vector.shape}")
    states = trace.hidden_states[layer]  # (T, D)
    sims = _cosine(states, vector[None, :])  # (T,)
    allowed = ~_is_special(trace.tokens)  # (T,)
    for position in exclude:
        allowed[_index("excluded position", position, trace.T)] = False
    order = [int(i) for i in np.argsort(-sims, kind="stable") if allowed[i]]
    return [(i, trace.tokens[i], float(sims[i])) for i in order[:k]]


# ---------------------------------------------------------------------------------------
# 5) Why divide by √d
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SpreadStats:
    """How random dot products spread in dimension d, and what that does to a softmax."""

    d: int
    scores: np.ndarray  # (P,) raw q·k
    std_raw: float  # ≈ √d
    std_scaled: float  # std of q·k / √d, ≈ 1
    entropy_raw: float  # mean softmax entropy over n_keys raw scores (nats)
    entropy_scaled: float  # the same for the scaled scores
    max_entropy: float  # log(n_keys), a uniform softmax
    top_weight_raw: float  # mean largest softmax weight, raw scores
    top_weight_scaled: float  # the same for the scaled scores


def _entropy_and_top(scores: np.ndarray) -> tuple[float, float]:
    """Mean softmax entropy (nats) and mean largest weight over the rows of (N, K) scores."""
    weights = _softmax(scores)  # (N, K)
    logs = np.log(np.where(weights > 0, weights, 1.0))  # (N, K), 0 log 0 = 0
    entropy = -(weights * logs).sum(axis=-1)  # (N,)
    return float(entropy.mean()), float(weights.max(axis=-1).mean())


def dot_product_spread(d: int, n_pairs: int = 4000, n_keys: int = 16, seed: int = 0) -> SpreadStats:
    """Dot products of random N(0, 1) vectors grow like √d; dividing by √d keeps the softmax soft.

    Steps:
        1) draw       N = n_pairs / n_keys queries q_i and N + n_keys - 1 keys, entries i.i.d. N(0, 1)
        2) score      query i meets keys i .. i + n_keys - 1 (a sliding window, so every pair
                      is a fresh (q, k) couple): s_ij = q_i · k_{i+j}          (N, n_keys)
        3) scale      s_ij / √d
        4) softmax    over each query's n_keys scores, raw and scaled; entropy and top weight
    """
    limits = (("d", d, 1, MAX_SPREAD_DIM), ("n_keys", n_keys, 2, None), ("n_pairs", n_pairs, 1, None))
    for name, value, low, high in limits:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if value < low or (high is not None and value > high):
            bounds = f"in {low}..{high}" if high is not None else f">= {low}"
            raise ValueError(f"{name} must be {bounds}, got {value}")
    if n_pairs % n_keys != 0:
        raise ValueError(f"n_pairs must be a multiple of n_keys, got n_pairs={n_pairs}, n_keys={n_keys}")
    n_queries = n_pairs // n_keys
    rng = np.random.default_rng(seed)

    # 1) draw
    q = rng.standard_normal((n_queries, d))  # (N, d)
    k = rng.standard_normal((n_queries + n_keys - 1, d))  # (N + n_keys - 1, d)
    # 2) score
    windows = sliding_window_view(k, n_keys, axis=0)  # (N, d, n_keys) view: window i = keys i .. i + n_keys - 1
    raw = (q[:, None, :] @ windows)[:, 0, :]  # (N, 1, d) @ (N, d, n_keys) -> (N, 1, n_keys) -> (N, n_keys)
    # 3) scale
    scaled = raw / math.sqrt(d)  # (N, n_keys)
    # 4) softmax
    entropy_raw, top_raw = _entropy_and_top(raw)
    entropy_scaled, top_scaled = _entropy_and_top(scaled)
    scores = raw.reshape(-1)  # (N, n_keys) -> (P,)
    return SpreadStats(
        d=int(d),
        scores=_read_only(scores),
        std_raw=float(scores.std()),
        std_scaled=float(scaled.std()),
        entropy_raw=entropy_raw,
        entropy_scaled=entropy_scaled,
        max_entropy=math.log(n_keys),
        top_weight_raw=top_raw,
        top_weight_scaled=top_scaled,
    )


@dataclass(frozen=True, eq=False)
class ScoreSpread:
    """Per layer, how spread the model's attention scores are with and without the scale."""

    scale: float  # the trace's scale
    causal: bool  # True: masked pairs were left out of the spreads and the softmax
    std_raw: np.ndarray  # (L,) std of Q K^T over heads and visible (query, key) pairs
    std_scaled: np.ndarray  # (L,) std of scale * Q K^T
    entropy_raw: np.ndarray  # (L,) mean softmax entropy (nats) over heads and query rows, raw scores
    entropy_scaled: np.ndarray  # (L,) the same for the scaled scores
    top_weight_raw: np.ndarray  # (L,) mean largest softmax weight, raw scores
    top_weight_scaled: np.ndarray  # (L,) the same for the scaled scores
    max_entropy: float  # mean over query rows of log(visible keys): log(T) unless causal


def _entropy_and_top_into(scores: torch.Tensor, work: torch.Tensor) -> tuple[float, float]:
    """Mean softmax entropy (nats) and mean top weight over the rows of (..., T, T) ``scores``.

    ``work`` receives the softmax and ``scores`` is shifted by its row maxima in place
    (reused buffers spare a fresh allocation per layer). With d = s - max(s), p = softmax(s)
    and Z = Σ exp(d): the top weight is exp(0) / Z = 1 / Z, and the entropy is
    -Σ p log p = -Σ p (d - log Z) = log Z - Σ p d, with no log of a zero weight.
    """
    torch.softmax(scores, dim=-1, out=work)  # (..., T, T) p; masked entries give exactly 0
    scores -= scores.amax(dim=-1, keepdim=True)  # (..., T, T) d, every row's max is 0
    top = work.amax(dim=-1)  # (..., T) = 1 / Z
    entropy = -top.log() - torch.linalg.vecdot(work, scores)  # (..., T)
    return float(entropy.mean()), float(top.mean())


def model_score_spread(trace: Trace) -> ScoreSpread:
    """Spread and softmax entropy of every layer's scores Q Kᵀ, raw and multiplied by the trace's scale.

    Steps (per layer, all heads at once):
        1) score      S = Q K^T                                   (H, T, T)
        2) spread     std of S over heads and visible (query, key) pairs; scale * S has
                      exactly scale times that spread
        3) scale      S' = scale * S  (raw: S' = S)
        4) mask       S'[i, j] = MASKED_SCORE for j > i (causal traces only)
        5) softmax    mean row entropy and mean top weight of softmax(S'), raw and scaled
    """
    n_layers, t = trace.n_layers, trace.T
    hidden = _causal_mask(t) if trace.causal else np.zeros((t, t), dtype=bool)  # (T, T)
    visible = torch.from_numpy((~hidden).astype(np.float32)).reshape(-1)  # (T*T,) 1 = pair counts
    bias = torch.from_numpy(np.where(hidden, MASKED_SCORE, 0.0).astype(np.float32)) if trace.causal else None  # (T, T)
    n_pairs = trace.n_heads * float(visible.sum())
    stats = np.zeros((5, n_layers))  # std raw, entropy raw / scaled, top weight raw / scaled
    with torch.inference_mode():
        work = torch.empty((trace.n_heads, t, t))  # (H, T, T) reused scratch
        shifted = torch.empty((trace.n_heads, t, t))  # (H, T, T) reused scratch
        for layer in range(n_layers):
            q = torch.tensor(trace.queries[layer])  # (H, T, d_head)
            k = torch.tensor(trace.keys[layer])  # (H, T, d_head)
            # 1) score
            raw = q @ k.transpose(-1, -2)  # (H, T, d_head) @ (H, d_head, T) -> (H, T, T)
            # 2) spread, two-pass over the visible pairs
            mean = float((raw.reshape(trace.n_heads, -1) @ visible).sum()) / n_pairs  # (H, T*T) @ (T*T,)
            torch.sub(raw, mean, out=work).square_()  # (H, T, T)
            stats[0, layer] = math.sqrt(float((work.reshape(trace.n_heads, -1) @ visible).sum()) / n_pairs)
            for row, factor in ((1, 1.0), (2, trace.scale)):
                # 3) scale  4) mask
                torch.mul(raw, factor, out=shifted)  # (H, T, T)
                if bias is not None:
                    shifted += bias  # (H, T, T) + (T, T)
                # 5) softmax
                stats[row, layer], stats[row + 2, layer] = _entropy_and_top_into(shifted, work)
    if trace.causal:
        max_entropy = float(np.log(np.arange(1, t + 1)).mean())
    else:
        max_entropy = math.log(t)
    std_raw, entropy_raw, entropy_scaled, top_raw, top_scaled = (row.copy() for row in stats)
    std_scaled = std_raw * trace.scale  # (L,)
    return ScoreSpread(
        scale=float(trace.scale),
        causal=bool(trace.causal),
        std_raw=_read_only(std_raw),
        std_scaled=_read_only(std_scaled),
        entropy_raw=_read_only(entropy_raw),
        entropy_scaled=_read_only(entropy_scaled),
        top_weight_raw=_read_only(top_raw),
        top_weight_scaled=_read_only(top_scaled),
        max_entropy=max_entropy,
    )

"""What attention does, not only where it looks: value-weighted maps, rollout, head knockouts, leave-one-out.

Letter legend used in shape comments:

    L        encoder layers
    H        attention heads
    T        tokens (word pieces, [CLS] and [SEP] included)
    D        model width, D = H * d_head
    d_head   width of one head's query / key / value vectors
    B        copies of a text run together (one per knockout or deletion)
    n        word pieces other than [CLS] and [SEP] (n = T - 2)
    ...      any leading dimensions, e.g. (L, H)

The findings these functions measure on the reader's own text:

* Kobayashi et al. 2020 (EMNLP), "Attention is Not Only a Weight": weigh α_ij by the size of
  what token j sends, ‖α_ij f(x_j)‖ (``value_weighted``); weight on [CLS]/[SEP] often carries
  little (``special_shift``).
* Abnar & Zuidema 2020 (ACL), "Quantifying Attention Flow in Transformers": one layer's weights
  ignore the residual path and the layers below; rollout composes them (``rollout``).
* Michel, Levy & Neubig 2019 (NeurIPS), "Are Sixteen Heads Really Better than One?": many heads
  can go with little change (``head_importance``, ``knockout``).
* Clark et al. 2019 (BlackboxNLP), "What Does BERT Look At?": heads specialise in [CLS]/[SEP],
  punctuation, previous / next token, broad attention; the shares are measurable (``head_stats``).
* Jain & Wallace 2019, Wiegreffe & Pinter 2019: whether attention explains is a measurable
  question (``token_importance``, ``spearman_scores``).

Knockouts and deletions run many copies of the text in batches, each copy with its own head
mask (``Encoder._run_batch``), never one forward pass per head. Their cost grows with the
number of copies times T (and T² inside attention), so they cap the text:
``head_importance`` at ``MAX_TOKENS_FOR_KNOCKOUT`` tokens, ``token_importance`` at
``MAX_TOKENS_FOR_LEAVE_ONE_OUT``; ``capped`` says when a text is cut.
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from qkv_core.attention import merge_heads, split_heads
from qkv_core.checks import is_real
from qkv_core.encoder import SPECIAL_TOKENS, Encoder, Trace, pool, special_mask
from qkv_core.numerics import cosine, entropy, read_only

__all__ = [
    "EXPLANATIONS",
    "EXPLANATION_LABELS",
    "HEAD_STAT_COLUMNS",
    "MAX_TOKENS_FOR_KNOCKOUT",
    "MAX_TOKENS_FOR_LEAVE_ONE_OUT",
    "Knockout",
    "SpecialShift",
    "capped",
    "head_importance",
    "head_stats",
    "head_stats_of",
    "is_punctuation",
    "knockout",
    "normalise_rows",
    "rollout",
    "spearman_scores",
    "special_shift",
    "token_importance",
    "value_norms",
    "value_weighted",
]

# Limits in tokens, [CLS] and [SEP] included; past them the text's first pieces are used and
# ``capped`` says so, so the page can. Costs on one core of a 2-core AMD EPYC (CPU time, 1 torch thread):
# head_importance runs ~L·(L+1)/2·H = 252 layer passes of one copy of the text (the layers below a
# knocked-out head are shared): ~0.45 s at 32 tokens, ~2.3 s at 128, and ~5 s+ at 256.
MAX_TOKENS_FOR_KNOCKOUT = 128
# token_importance runs T - 2 copies of T - 1 tokens through all L layers, work growing as T²
# (T³ inside attention): ~0.37 s at 32 tokens, ~1.3 s at 64, ~5.5 s at 128.
MAX_TOKENS_FOR_LEAVE_ONE_OUT = 64
_BATCH_FLOATS = 2**23  # copies per batch keep B·H·T² ≤ 8 M floats (32 MB per attention buffer)

HEAD_STAT_COLUMNS = ("cls", "sep", "punct", "prev", "next", "self", "entropy")

EXPLANATIONS = (
    "attention",
    "attention_mean",
    "rollout",
    "rollout_mean",
    "value_weighted",
    "value_weighted_mean",
)
EXPLANATION_LABELS = {
    "attention": "raw attention from [CLS], last layer, mean over heads",
    "attention_mean": "raw attention received, last layer, mean over heads and all query tokens",
    "rollout": "rollout from [CLS] through all layers",
    "rollout_mean": "rollout received through all layers, mean over all query tokens",
    "value_weighted": "value-weighted attention ‖α f(x)‖ from [CLS], last layer, mean over heads",
    "value_weighted_mean": "value-weighted attention received, last layer, mean over heads and all query tokens",
}


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def _check_trace(encoder: Encoder, trace: Trace) -> None:
    """The trace must come from a model of the encoder's sizes."""
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a Trace, got {type(trace).__name__}")
    c = encoder.config
    expected = (c.n_layers, c.n_heads, trace.T, c.d_head)
    if trace.values.shape != expected:
        raise ValueError(
            f"trace values have shape {trace.values.shape} but the encoder expects (L, H, T, d_head) = {expected}"
        )


def _check_text(text: object) -> str:
    """``text`` must be a str."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return text


def capped(encoder: Encoder, text: str, limit: int = MAX_TOKENS_FOR_KNOCKOUT) -> bool:
    """True when a measure capped at ``limit`` tokens uses only the first pieces of ``text``.

    ``limit`` is ``MAX_TOKENS_FOR_KNOCKOUT`` for ``head_importance`` (the default),
    ``MAX_TOKENS_FOR_LEAVE_ONE_OUT`` for ``token_importance``.
    """
    return encoder.tokenize(_check_text(text)).n_tokens_full > _limit(encoder, limit)


def _limit(encoder: Encoder, cap: int) -> int:
    """Tokens kept: the cap, or the embedding's own limit (or the model's) if shorter."""
    return max(2, min(cap, encoder.embed_max_tokens, encoder.config.max_positions))


# ---------------------------------------------------------------------------------------
# Value-weighted attention (Kobayashi et al. 2020)
# ---------------------------------------------------------------------------------------


def value_norms(encoder: Encoder, trace: Trace) -> np.ndarray:
    """‖f_h(x_j)‖ = ‖v_j W_o,hᵀ‖₂, the size of what token j sends through head h: (L, H, T) float32.

    v_j is head h's value vector for token j (bias b_v included), W_o,h the d_head columns of
    the layer's output projection W_o (D, D) that belong to head h.
    """
    _check_trace(encoder, trace)
    c = encoder.config
    out = np.empty((c.n_layers, c.n_heads, trace.T), dtype=np.float32)  # (L, H, T)
    with torch.inference_mode():
        for layer in range(c.n_layers):
            w_o = encoder.layer_weights(layer).w_o.view(c.d_model, c.n_heads, c.d_head)  # (D, H, d_head)
            v = torch.tensor(trace.values[layer])  # (H, T, d_head), a copy: torch wants writable memory
            sent = torch.einsum("htd,ehd->hte", v, w_o)  # (H, T, d_head) x (D, H, d_head) -> (H, T, D)
            out[layer] = torch.linalg.vector_norm(sent, dim=-1).numpy()  # (H, T)
    return read_only(out)


def value_weighted(encoder: Encoder, trace: Trace) -> np.ndarray:
    """Value-weighted attention (L, H, T, T): entry [l, h, i, j] = ‖α_ij · (v_j W_o,hᵀ)‖₂.

    Steps:
        1) send       f_h(x_j) = v_j W_o,hᵀ, head h's share of W_o applied to token j's value   (L, H, T, D)
        2) size       ‖f_h(x_j)‖₂                                                              (L, H, T)
        3) weigh      α_ij ‖f_h(x_j)‖ = ‖α_ij f_h(x_j)‖ (α ≥ 0)                                 (L, H, T, T)

    Summing α_ij f_h(x_j) over heads h and tokens j, plus b_o, gives the attention block's
    output before the residual: these norms split that output by head and token. The trace's
    weights are used as they are (masked, causal or rescaled if the trace was).
    """
    norms = value_norms(encoder, trace)  # (L, H, T)
    return read_only(trace.attentions * norms[:, :, None, :])  # (L, H, T, T) * (L, H, 1, T)


def normalise_rows(weights: np.ndarray) -> np.ndarray:
    """Each row of non-negative (..., T, T) maps divided by its sum, so value-weighted maps read as shares like α.

    Rows that sum to 0 (a masked head) stay 0. float32, one new array (75 MB at T=512, no float64 copy).
    """
    out = np.array(weights, dtype=np.float32)  # (..., T, T) a writable copy
    if out.ndim < 2:
        raise ValueError(f"normalise_rows expects (..., T, T), got shape {out.shape}")
    sums = out.sum(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)  # (..., T, 1)
    empty = sums[..., 0] <= 0  # (..., T)
    np.divide(out, sums, out=out, where=sums > 0)  # (..., T, T) in place
    out[empty] = 0.0
    return read_only(out)


@dataclass(frozen=True)
class SpecialShift:
    """How much weight sits on [CLS]/[SEP] raw versus value-weighted (``special_shift``)."""

    raw_share: float  # mean over rows of the raw weight on [CLS]/[SEP], in [0, 1]
    norm_share: float  # the same for value-weighted rows, each normalised to sum 1
    moved: float  # (raw_share - norm_share) / raw_share: the fraction of the special weight moved elsewhere

    @property
    def moved_percent(self) -> int:
        """``moved`` as a whole percentage, e.g. 41 (negative when value-weighting adds weight to [CLS]/[SEP])."""
        return round(100 * self.moved)


def special_shift(raw: np.ndarray, norm: np.ndarray, tokens: Sequence[str]) -> SpecialShift:
    """The measured shift: the share of weight on [CLS]/[SEP], raw (α) vs value-weighted (‖α f(x)‖).

    ``raw`` and ``norm`` are (..., T, T) maps of the same shape (one head, a layer, or all
    layers: every row of every map counts once). Each row of either is normalised to sum 1
    (rows summing to 0, e.g. a masked head, are left out); the shares are the means over rows
    of the weight on columns whose token is [CLS] or [SEP]. ``moved`` = (raw − norm) / raw,
    so the page can say "value-weighting moves {moved_percent} % of the weight that sat on
    [CLS]/[SEP] to other tokens"; 0 when no raw weight sits there, negative when
    value-weighting puts more weight on them.
    """
    raw = np.asarray(raw)
    norm = np.asarray(norm)
    if raw.shape != norm.shape:
        raise ValueError(f"raw and norm must have the same shape, got {raw.shape} and {norm.shape}")
    if raw.ndim < 2 or raw.shape[-1] != raw.shape[-2] or raw.shape[-1] != len(tokens):
        raise ValueError(f"raw and norm must be (..., T, T) with T = {len(tokens)} tokens, got {raw.shape}")
    special = special_mask(tokens, SPECIAL_TOKENS)  # (T,)
    raw_share = _special_share(raw, special)
    norm_share = _special_share(norm, special)
    moved = (raw_share - norm_share) / raw_share if raw_share > 0 else 0.0
    return SpecialShift(raw_share=raw_share, norm_share=norm_share, moved=float(moved))


def _special_share(weights: np.ndarray, special: np.ndarray) -> float:
    """Mean over rows with a positive sum of (weight on special columns) / (row sum)."""
    sums = weights.sum(axis=-1, dtype=np.float64)  # (..., T)
    on_special = weights[..., special].sum(axis=-1, dtype=np.float64)  # (..., T)
    used = sums > 0
    return float((on_special[used] / sums[used]).mean()) if used.any() else 0.0


# ---------------------------------------------------------------------------------------
# Rollout (Abnar & Zuidema 2020)
# ---------------------------------------------------------------------------------------


def rollout(attentions: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (L, T, T): R_l[i, j] = how much of token j reaches token i after layers 1..l.

    Steps:
        1) average    A_l = mean over heads of the layer's weights                 (L, T, T)
        2) residual   Ã_l = residual · I + (1 − residual) · A_l, rows renormalised to sum 1
        3) compose    R_1 = Ã_1, R_l = Ã_l · R_(l−1)                                (L, T, T)

    Returns R_1 … R_L, float32, read-only, computed in float64. A row that sums to 0 after
    step 2 (possible only with residual 0 and every head of a layer masked) stays 0.
    """
    weights = np.asarray(attentions)
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"rollout expects attentions of shape (L, H, T, T), got {weights.shape}")
    if not is_real(residual) or not 0 <= residual <= 1:
        raise ValueError(f"residual must be a number in [0, 1], got {residual!r}")
    n_layers, t = weights.shape[0], weights.shape[-1]
    eye = np.eye(t)  # (T, T)
    out = np.empty((n_layers, t, t), dtype=np.float32)  # (L, T, T)
    composed = eye
    for layer in range(n_layers):
        mixed = residual * eye + (1 - residual) * weights[layer].mean(axis=0, dtype=np.float64)  # 1), 2) (T, T)
        sums = mixed.sum(axis=-1, keepdims=True)  # (T, 1)
        mixed = np.divide(mixed, sums, out=np.zeros_like(mixed), where=sums > 0)  # rows sum to 1
        composed = mixed @ composed  # 3) (T, T) @ (T, T) -> (T, T)
        out[layer] = composed
    return read_only(out)


# ---------------------------------------------------------------------------------------
# Measured head habits (Clark et al. 2019)
# ---------------------------------------------------------------------------------------


def is_punctuation(token: str) -> bool:
    """True for a word piece made only of punctuation characters (Unicode category P*), its ## prefix aside."""
    if token in SPECIAL_TOKENS:
        return False
    body = token[2:] if token.startswith("##") and len(token) > 2 else token
    return bool(body) and all(unicodedata.category(ch).startswith("P") for ch in body)


def head_stats(trace: Trace) -> pd.DataFrame:
    """One row per (layer, head), 1-based, layer-major, with the measured shares of ``head_stats_of``."""
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a Trace, got {type(trace).__name__}")
    return head_stats_of(trace.attentions, trace.tokens)


def head_stats_of(attentions: np.ndarray, tokens: Sequence[str]) -> pd.DataFrame:
    """Measured habits of every head of (L, H, T, T) maps: columns layer, head, then ``HEAD_STAT_COLUMNS``.

    Rows: (layer, head), both 1-based, layer 1 heads 1…H, then layer 2, … Every column is a
    mean over query rows i of one head's map α:

        cls      α[i, 0]                 (the first position, [CLS] in a trace)
        sep      α[i, T−1]               (the last position, [SEP] in a trace)
        punct    Σ α[i, j] over tokens j made only of punctuation (Unicode category P)
        prev     α[i, i−1], rows i ≥ 1
        next     α[i, i+1], rows i ≤ T−2
        self     α[i, i]
        entropy  −Σ_j α_ij log α_ij, in nats (0 log 0 = 0)

    With T = 1, ``prev`` and ``next`` have no rows and are 0.
    """
    weights = np.asarray(attentions)
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"head_stats expects attentions of shape (L, H, T, T), got {weights.shape}")
    t = weights.shape[-1]
    if t != len(tokens) or t == 0:
        raise ValueError(f"attentions have T={t} but tokens has {len(tokens)} entries (at least 1 needed)")
    n_layers, n_heads = weights.shape[:2]
    rows = np.arange(t)  # (T,)
    punct = np.fromiter((is_punctuation(tok) for tok in tokens), dtype=bool, count=t)  # (T,)
    diag = np.diagonal(weights, axis1=-2, axis2=-1)  # (L, H, T) α[i, i]

    def mean_offset(offset: int) -> np.ndarray:
        """Mean over the rows that have position i + offset of α[i, i + offset]; 0 with no such row."""
        i = rows[(rows + offset >= 0) & (rows + offset < t)]  # (m,)
        if len(i) == 0:
            return np.zeros((n_layers, n_heads))
        return weights[..., i, i + offset].mean(axis=-1, dtype=np.float64)  # (L, H)

    columns = {
        "cls": weights[..., :, 0].mean(axis=-1, dtype=np.float64),  # (L, H)
        "sep": weights[..., :, t - 1].mean(axis=-1, dtype=np.float64),
        "punct": weights[..., punct].sum(axis=-1, dtype=np.float64).mean(axis=-1),
        "prev": mean_offset(-1),
        "next": mean_offset(+1),
        "self": diag.mean(axis=-1, dtype=np.float64),
        "entropy": entropy(weights).mean(axis=-1),
    }
    layer, head = np.meshgrid(np.arange(1, n_layers + 1), np.arange(1, n_heads + 1), indexing="ij")  # (L, H)
    table = {"layer": layer.ravel(), "head": head.ravel()}
    table.update({name: np.asarray(value, dtype=np.float64).ravel() for name, value in columns.items()})
    return pd.DataFrame(table)


# ---------------------------------------------------------------------------------------
# Head knockouts (Michel, Levy & Neubig 2019)
# ---------------------------------------------------------------------------------------


def head_importance(encoder: Encoder, text: str) -> np.ndarray:
    """(L, H): 1 − cosine(embedding of ``text``, the same with only head (l, h) masked to 0).

    Embeddings are ``Encoder.embed``'s (mean of the final states, L2-normalised), on the
    text's first ``MAX_TOKENS_FOR_KNOCKOUT`` tokens (``capped`` says when that cut bites).

    Steps:
        1) intact     one pass (a trace): the states x_l entering each layer, the merged heads C_l
        2) knock out  for each layer l, H copies, copy h with head h's d_head columns of C_l zeroed
                      (the same as masking its weights to 0), through W_o, the residual and the
                      feed-forward; then, as one batch, through layers l+1..L. The layers below l
                      and layer l's attention are the intact ones, so they are not run again
        3) compare    1 − cosine of each copy's embedding with the intact one
    """
    text = _check_text(text)
    c = encoder.config
    trace = encoder.trace(text, max_tokens=_limit(encoder, MAX_TOKENS_FOR_KNOCKOUT))  # 1)
    intact = _pooled(trace.hidden_states[-1][None])[0]  # (D,)
    out = np.empty((c.n_layers, c.n_heads))  # (L, H)
    keep = torch.ones(c.n_heads, c.n_heads, 1, c.d_head)  # (copies, H, 1, d_head): copy h ...
    keep[torch.arange(c.n_heads), torch.arange(c.n_heads)] = 0.0  # ... has head h's columns zeroed
    with torch.inference_mode():
        for layer in range(c.n_layers):  # 2)
            x = torch.tensor(trace.hidden_states[layer])  # (T, D) states entering the layer
            heads = split_heads(torch.tensor(trace.contexts[layer]), c.n_heads)  # (T, D) -> (H, T, d_head)
            context = merge_heads(heads * keep)  # (copies, H, T, d_head) -> (copies, T, D)
            states = encoder._finish_layer(x, context, encoder.layer_weights(layer))  # (copies, T, D)
            states = encoder._run_batch(states, None, first_layer=layer + 1)  # (copies, T, D)
            out[layer] = 1.0 - cosine(pool(states, _all_real(states)).numpy(), intact)  # 3) (H,)
    return read_only(out)


def _all_real(states: torch.Tensor) -> torch.Tensor:
    """(B, T) all True: every position of an unpadded batch is a real token."""
    return torch.ones(states.shape[:2], dtype=torch.bool)


def _pooled(states: np.ndarray) -> np.ndarray:
    """``Encoder.embed``'s pooling of unpadded final states (B, T, D) -> (B, D) float32."""
    with torch.inference_mode():
        x = torch.from_numpy(np.array(states, dtype=np.float32))  # (B, T, D)
        return pool(x, _all_real(x)).numpy()


@dataclass(frozen=True, eq=False)
class Knockout:
    """The model with a set of heads switched off, compared with the intact model on one text."""

    tokens: list[str]  # (T,) the pieces compared ([CLS] and [SEP] included)
    off: tuple[tuple[int, int], ...]  # the (layer, head) pairs switched off, 0-based, sorted
    cosine: float  # cosine of the sentence embedding to the intact one (1 = unchanged)
    movement: np.ndarray  # (T,) 1 − cosine of each token's final vector to its intact one
    truncated: bool  # True when the text was cut to the embedding's limit (``Encoder.embed_max_tokens``)

    @property
    def change(self) -> float:
        """1 − cosine: how much the sentence embedding moved."""
        return 1.0 - self.cosine


def _check_off(encoder: Encoder, off: object) -> tuple[tuple[int, int], ...]:
    """``off`` as sorted unique (layer, head) pairs inside the model; ValueError otherwise."""
    c = encoder.config
    if isinstance(off, (str, bytes)) or not isinstance(off, Iterable):
        raise ValueError(f"off must be a set of (layer, head) pairs, got {type(off).__name__}")
    pairs = set()
    for pair in off:
        if (
            not isinstance(pair, (tuple, list))
            or len(pair) != 2
            or not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in pair)
        ):
            raise ValueError(f"off must hold (layer, head) pairs of ints, got {pair!r}")
        layer, head = int(pair[0]), int(pair[1])
        if not (0 <= layer < c.n_layers and 0 <= head < c.n_heads):
            raise ValueError(
                f"head (layer, head) = {pair!r} is outside the model: layer in 0..{c.n_layers - 1}, "
                f"head in 0..{c.n_heads - 1}"
            )
        pairs.add((layer, head))
    return tuple(sorted(pairs))


def knockout(encoder: Encoder, text: str, off: Iterable[tuple[int, int]]) -> Knockout:
    """Switch off the heads in ``off`` (0-based (layer, head) pairs) and compare with the intact model.

    The text is cut as ``Encoder.embed`` cuts it; the intact model and the knocked-out one run
    as one batch of two copies, each with its own head mask. An empty ``off`` gives cosine 1.
    """
    text = _check_text(text)
    pairs = _check_off(encoder, off)
    c = encoder.config
    tokenized = encoder.tokenize(text, min(encoder.embed_max_tokens, c.max_positions))
    mask = torch.ones(2, c.n_layers, c.n_heads)  # (B=2, L, H): copy 0 intact, copy 1 knocked out
    for layer, head in pairs:
        mask[1, layer, head] = 0.0
    with torch.inference_mode():
        ids = torch.from_numpy(np.array(tokenized.ids)).expand(2, tokenized.T)  # (2, T)
        states = encoder._run_batch(encoder._embed_ids(ids), None, head_mask=mask)  # (2, T, D)
        pooled = pool(states, _all_real(states)).numpy()  # (2, D)
        states = states.numpy()
    return Knockout(
        tokens=tokenized.tokens,
        off=pairs,
        cosine=float(cosine(pooled[0], pooled[1])),
        movement=read_only((1.0 - cosine(states[0], states[1])).astype(np.float32)),  # (T,)
        truncated=tokenized.truncated,
    )


# ---------------------------------------------------------------------------------------
# Which explanation is right on this text (Jain & Wallace 2019, Wiegreffe & Pinter 2019)
# ---------------------------------------------------------------------------------------


def _leave_one_out(encoder: Encoder, ids: np.ndarray, intact: np.ndarray) -> np.ndarray:
    """(n,): 1 − cosine(intact, embedding of ids with piece k deleted) for k = 1..T−2, batched."""
    t = len(ids)
    n = t - 2
    out = np.empty(n)
    if n == 0:
        return out
    keep = ~np.eye(t, dtype=bool)[1:-1]  # (n, T) row k-1 drops position k
    deleted = np.broadcast_to(ids, (n, t))[keep].reshape(n, t - 1)  # (n, T-1)
    per_batch = max(1, _BATCH_FLOATS // (encoder.config.n_heads * (t - 1) ** 2))
    with torch.inference_mode():
        for start in range(0, n, per_batch):
            batch = torch.from_numpy(np.ascontiguousarray(deleted[start : start + per_batch]))  # (B, T-1)
            states = encoder._run_batch(encoder._embed_ids(batch), None)  # (B, T-1, D)
            out[start : start + len(batch)] = 1.0 - cosine(pool(states, _all_real(states)).numpy(), intact)
    return out


def token_importance(encoder: Encoder, text: str) -> pd.DataFrame:
    """One row per word piece except [CLS]/[SEP], in order: leave-one-out and each attention-based explanation.

    The text is cut to ``MAX_TOKENS_FOR_LEAVE_ONE_OUT`` tokens first (``capped(encoder, text,
    MAX_TOKENS_FOR_LEAVE_ONE_OUT)`` says when).
    Columns:

        token                the word piece
        leave_one_out        1 − cosine between the sentence embedding (``embed([text])[0]``)
                             and the embedding, pooled the same way, of the same ids with this
                             one piece deleted (one batch of T − 2 deletions)
        attention            α[L, h, 0, j] averaged over heads h: what [CLS] looks at in the last layer
        attention_mean       α[L, h, i, j] averaged over heads h and all query rows i: the weight
                             token j receives in the last layer (the embedding averages every row)
        rollout              R_L[0, j] of ``rollout`` (residual 0.5): how much of token j reaches [CLS]
        rollout_mean         R_L[i, j] averaged over all rows i: how much of j reaches the mean-pooled embedding
        value_weighted       ‖α[L, h, 0, j] f_h(x_j)‖ (``value_weighted``) averaged over heads, row [CLS]
        value_weighted_mean  the same averaged over heads and all query rows i

    ``spearman_scores(table)`` ranks the explanations by their agreement with leave_one_out.
    An empty text gives an empty table with these columns.
    """
    text = _check_text(text)
    trace = encoder.trace(text, max_tokens=_limit(encoder, MAX_TOKENS_FOR_LEAVE_ONE_OUT))
    t = trace.T
    intact = _pooled(trace.hidden_states[-1][None])[0]  # (D,)
    last = trace.attentions[-1].astype(np.float64)  # (H, T, T)
    rolled = rollout(trace.attentions)[-1].astype(np.float64)  # (T, T)
    weighted = value_weighted(encoder, trace)[-1].astype(np.float64)  # (H, T, T)
    pieces = slice(1, t - 1)  # the word pieces between [CLS] and [SEP]
    return pd.DataFrame(
        {
            "token": trace.tokens[pieces],
            "leave_one_out": _leave_one_out(encoder, np.array(trace.ids), intact),
            "attention": last[:, 0, pieces].mean(axis=0),
            "attention_mean": last[:, :, pieces].mean(axis=(0, 1)),
            "rollout": rolled[0, pieces],
            "rollout_mean": rolled[:, pieces].mean(axis=0),
            "value_weighted": weighted[:, 0, pieces].mean(axis=0),
            "value_weighted_mean": weighted[:, :, pieces].mean(axis=(0, 1)),
        }
    )


def spearman_scores(table: pd.DataFrame) -> pd.Series:
    """Spearman correlation of each explanation column with ``leave_one_out``, best first.

    Index: the explanations of ``EXPLANATIONS`` found in ``table``; values in [−1, 1]
    (``scipy.stats.spearmanr``, ties ranked by their mean). The correlation is undefined, and
    the value NaN (placed last, no warning), when the table has fewer than 2 rows or either
    column is constant. Ties in the value keep ``EXPLANATIONS`` order.
    """
    from scipy import stats  # here, not at import: scipy.stats costs the server ~44 MB and 400 modules

    if not isinstance(table, pd.DataFrame) or "leave_one_out" not in table.columns:
        raise ValueError("spearman_scores expects token_importance's table (with a leave_one_out column)")
    names = [name for name in EXPLANATIONS if name in table.columns]
    truth = table["leave_one_out"].to_numpy(dtype=np.float64)
    scores = {}
    for name in names:
        column = table[name].to_numpy(dtype=np.float64)
        if len(truth) < 2 or np.ptp(truth) == 0 or np.ptp(column) == 0:
            scores[name] = math.nan
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores[name] = float(stats.spearmanr(column, truth).statistic)
    series = pd.Series(scores, dtype=np.float64, name="spearman")
    return series.sort_values(ascending=False, na_position="last", kind="stable")


@dataclass(frozen=True, eq=False)
class SpareQuestion:
    """Which of a few heads can go with the least change to the sentence embedding (predict, then reveal)."""

    options: tuple[tuple[int, int], ...]  # 0-based (layer, head) offered, in layer-major order
    change: tuple[float, ...]  # 1 − cosine when that option alone is switched off, as ``head_importance``
    answer: tuple[int, int]  # the option whose removal changes the embedding least
    largest: tuple[int, int]  # the option whose removal changes it most


def spare_question(importance: np.ndarray, n_options: int = 4) -> SpareQuestion:
    """Offer heads spread over the importance ranking (least, most, and evenly between) and say which can go.

    ``importance`` is ``head_importance``'s (L, H). The options sit at evenly spaced ranks of the sorted
    importance, so the least and the most important head are always among them, shown in layer-major order.
    """
    importance = np.asarray(importance, dtype=np.float64)
    if importance.ndim != 2 or importance.size < 2 or not np.isfinite(importance).all():
        raise ValueError(f"importance must be a finite (L, H) array of at least 2 heads, got shape {importance.shape}")
    n = min(n_options, importance.size)
    order = np.argsort(importance, axis=None, kind="stable")  # flat indices, least important first
    ranks = np.unique(np.linspace(0, importance.size - 1, n).round().astype(int))
    flat = sorted(int(order[r]) for r in ranks)  # layer-major
    options = tuple(divmod(i, importance.shape[1]) for i in flat)
    change = tuple(float(importance[o]) for o in options)
    return SpareQuestion(options, change, options[int(np.argmin(change))], options[int(np.argmax(change))])

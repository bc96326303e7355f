"""What each attention head does, shown head by head, and how a layer joins its heads.

Letter legend used in shape comments:

    L        encoder layers
    H        attention heads
    T        tokens (word pieces, [CLS] and [SEP] included)
    D        model width, D = H * d_head
    d_head   width of one head's query / key / value vectors
    n        query rows a head pattern is measured on (the non-special tokens)
    ...      any leading dimensions, e.g. (H,)

A head pattern is computed from the weights on the viewer's own text, with the measured
shares of ``qkv_core.explain.head_stats_of`` (Clark et al. 2019): the mean over every query
row of the weight on the previous / next token, itself, [CLS] (first position), [SEP] (last
position), punctuation, plus the same word elsewhere, and the mean row entropy. A head whose
weight mostly sits on [CLS] / [SEP] is *parked* (kind "cls" or "sep"): a resting place, not a habit.
A layer's *variety* is how much its heads' maps differ from each other on the text,
weight on [CLS] / [SEP] left out, so that parked heads count as alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from qkv_core.attention import merge_heads
from qkv_core.checks import check_index, check_maps, is_int
from qkv_core.encoder import Encoder, Trace, special_mask
from qkv_core.explain import head_stats_of
from qkv_core.numerics import read_only
from qkv_core.steps import hide_special_columns

__all__ = [
    "PATTERN_KINDS",
    "Example",
    "HeadPattern",
    "LayerSurvey",
    "describe_head",
    "describe_heads",
    "head_concat",
    "layer_variety",
    "project_output",
    "survey_layer",
]

PATTERN_KINDS = ("previous", "next", "self", "cls", "sep", "punct", "same_word", "broad", "mixed")
SHARE_THRESHOLD = 0.4  # a single pattern names the head when it holds at least this share
BROAD_THRESHOLD = 0.8  # otherwise "broad" when mean entropy is at least this fraction of log(T)
PARKED_THRESHOLD = 0.5  # [CLS] + [SEP] together holding at least this share (and more than any habit): parked
PARKED_KINDS = ("cls", "sep")  # the kinds of a parked head

_SHARE_KINDS = ("previous", "next", "self", "cls", "sep", "punct", "same_word")  # ties: the earlier one wins
_STAT_COLUMNS = {"previous": "prev", "next": "next", "self": "self", "cls": "cls", "sep": "sep", "punct": "punct"}
_SHARE_LABELS = {
    "previous": "the previous token",
    "next": "the next token",
    "self": "itself",
    "cls": "[CLS]",
    "sep": "[SEP]",
    "punct": "punctuation",
    "same_word": "the same word elsewhere",
}


# ---------------------------------------------------------------------------------------
# One head's pattern
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

    @property
    def parked(self) -> bool:
        """True when the head's weight mostly sits on [CLS] / [SEP]: no habit on this text."""
        return self.kind in PARKED_KINDS


def _pattern_stats(
    weights: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Mean shares per pattern kind and mean row entropy for (H, T, T) maps, over every query row.

    Returns ({kind: (H,)}, entropy (H,)). previous, next, self, cls, sep, punct and the entropy
    are ``head_stats_of``'s columns prev, next, self, cls, sep, punct, entropy; same_word is the
    mean over rows of the weight on other positions of the same token or word (specials never count).
    """
    t = weights.shape[-1]
    table = head_stats_of(weights[None], tokens)  # one "layer" of H heads
    shares = {kind: table[column].to_numpy() for kind, column in _STAT_COLUMNS.items()}  # {kind: (H,)}
    special = special_mask(tokens)  # (T,)
    _, codes = np.unique(np.array(tokens, dtype=str), return_inverse=True)  # (T,)
    same = codes[:, None] == codes[None, :]  # (T, T)
    if word_ids is not None:
        wid = np.array([-1 if w is None else w for w in word_ids], dtype=np.int64)  # (T,)
        same |= (wid[:, None] == wid[None, :]) & (wid[:, None] >= 0)  # (T, T)
    same &= ~np.eye(t, dtype=bool) & ~special[None, :] & ~special[:, None]  # (T, T)
    ii, jj = np.nonzero(same)  # (P,), (P,)
    shares["same_word"] = weights[..., ii, jj].sum(axis=-1, dtype=np.float64) / t  # (H,)
    return shares, table["entropy"].to_numpy()  # {kind: (H,)}, (H,)


def _describe(shares: dict[str, float], mean_entropy: float, t: int) -> HeadPattern:
    """Turn one head's shares and mean row entropy into a HeadPattern."""
    max_entropy = math.log(t)  # 0 for a single token
    normalised = mean_entropy / max_entropy if max_entropy > 0 else 0.0
    best = max(_SHARE_KINDS, key=lambda kind: shares[kind])  # first of equals wins
    top = shares[best]
    pct = f"{round(100 * top)} %"
    habit = max(shares[k] for k in _SHARE_KINDS if k not in PARKED_KINDS)
    parked = shares["cls"] + shares["sep"]
    if (top >= SHARE_THRESHOLD and best in PARKED_KINDS) or (parked >= PARKED_THRESHOLD and parked > habit):
        kind = "cls" if shares["cls"] >= shares["sep"] else "sep"
        alone = shares[kind] >= SHARE_THRESHOLD  # one marker holds the weight, else both together
        score = shares[kind] if alone else parked
        where = _SHARE_LABELS[kind] if alone else "[CLS] and [SEP]"
        text = f"parked: {round(100 * score)} % of its weight on {where}, no habit here"
    elif top >= SHARE_THRESHOLD:
        kind, score = best, top
        text = {
            "previous": f"mostly attends to the previous token ({pct} of its weight)",
            "next": f"mostly attends to the next token ({pct} of its weight)",
            "self": f"mostly attends to itself ({pct} of its weight)",
            "punct": f"mostly attends to punctuation ({pct} of its weight)",
            "same_word": f"looks at the same word elsewhere ({pct})",
        }[best]
    elif normalised >= BROAD_THRESHOLD:
        kind, score = "broad", normalised
        text = f"spreads its attention broadly (entropy {mean_entropy:.1f} of {max_entropy:.1f} nats)"
    else:
        kind, score = "mixed", top
        text = f"no single pattern: top share {pct} to {_SHARE_LABELS[best]}"
    return HeadPattern(
        kind=kind,
        text=text,
        score=float(score),
        shares=tuple((name, float(shares[name])) for name in _SHARE_KINDS),
        entropy=float(mean_entropy),
        max_entropy=float(max_entropy),
    )


def describe_head(
    weights: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None = None
) -> HeadPattern:
    """Name the pattern of one head's (T, T) map: previous / next / self / cls / sep / punct / same_word / broad / mixed.

    Steps:
        1) shares     ``head_stats_of``'s measured shares: mean over query rows i of the weight on
                      i-1 (rows i >= 1), i+1 (rows i <= T-2), i, the first position ([CLS]), the
                      last ([SEP]), punctuation tokens; and other positions of the same token or word
        2) entropy    mean row entropy H = -Σ_j w_ij log w_ij, compared with log(T)
        3) decide     parked ("cls" / "sep") if [CLS] or [SEP] holds the largest share >= 0.4, or both
                      together >= 0.5 and more than any other share; else the largest share if
                      >= 0.4; else "broad" if H / log(T) >= 0.8; else "mixed"
    """
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"describe_head expects one head's (T, T) map, got shape {weights.shape}")
    _check_pattern_input(weights, tokens, word_ids, "weights")
    return _describe_heads(weights[None], tokens, word_ids)[0]


def describe_heads(
    attentions_layer: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None = None
) -> list[HeadPattern]:
    """``describe_head`` for every head of one layer: (H, T, T) -> H patterns."""
    weights = np.asarray(attentions_layer)
    if weights.ndim != 3:
        raise ValueError(f"describe_heads expects one layer's (H, T, T) maps, got shape {weights.shape}")
    _check_pattern_input(weights, tokens, word_ids, "attentions_layer")
    return _describe_heads(weights, tokens, word_ids)


def _check_pattern_input(
    weights: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None, name: str
) -> None:
    """(..., T, T) maps with T = len(tokens) >= 1, and one word id per token if word ids are given."""
    t = check_maps(weights, tokens, name)
    if t == 0:
        raise ValueError("describe_heads needs at least one token")
    if word_ids is not None and len(word_ids) != t:
        raise ValueError(f"word_ids has {len(word_ids)} entries but weights have T={t}")


def _describe_heads(
    weights: np.ndarray, tokens: Sequence[str], word_ids: Sequence[int | None] | None
) -> list[HeadPattern]:
    """``describe_heads`` on checked (H, T, T) maps."""
    shares, mean_entropy = _pattern_stats(weights, tokens, word_ids)  # {kind: (H,)}, (H,)
    return [
        _describe({kind: float(share[h]) for kind, share in shares.items()}, float(mean_entropy[h]), weights.shape[-1])
        for h in range(weights.shape[0])
    ]


# ---------------------------------------------------------------------------------------
# How much a layer's heads differ
# ---------------------------------------------------------------------------------------


def layer_variety(attentions: np.ndarray, tokens: Sequence[str]) -> np.ndarray:
    """How different each layer's heads are from each other on this text: (L, H, T, T) -> (L,), each in [0, 1].

    Steps:
        1) keep       the non-special query rows; zero the [CLS] / [SEP] columns (no renormalising),
                      so two heads parked on [CLS] look alike however they spread their remainder
        2) distance   per pair of heads, the mean over rows of ½ Σ_j |a_ij - b_ij| (total variation)
        3) average    over the H (H - 1) / 2 pairs; 0 for a single head
    """
    weights = np.asarray(attentions)
    if weights.ndim != 4:
        raise ValueError(f"layer_variety expects (L, H, T, T) maps, got shape {weights.shape}")
    t = check_maps(weights, tokens, "attentions")
    if t == 0:
        raise ValueError("layer_variety needs at least one token")
    n_layers, n_heads = weights.shape[:2]
    if n_heads < 2:
        return read_only(np.zeros(n_layers))
    special = special_mask(tokens)  # (T,)
    rows = np.flatnonzero(~special) if (~special).any() else np.arange(t)  # (n,)
    out = np.empty(n_layers)
    with torch.inference_mode():
        for lay in range(n_layers):  # a layer at a time: memory stays flat at 512 tokens
            kept = torch.tensor(weights[lay][:, rows, :], dtype=torch.float32)  # 1) (H, n, T)
            kept[..., torch.from_numpy(special)] = 0.0
            flat = kept.reshape(n_heads, -1)  # (H, n * T)
            dist = torch.cdist(flat[None], flat[None], p=1)[0] / (2 * len(rows))  # 2) (H, H)
            pairs = torch.triu_indices(n_heads, n_heads, offset=1)  # (2, H (H - 1) / 2)
            out[lay] = float(dist[pairs[0], pairs[1]].mean())  # 3)
    return read_only(out)


# ---------------------------------------------------------------------------------------
# Joining the heads
# ---------------------------------------------------------------------------------------


def head_concat(trace: Trace, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """Each head's output A_h V_h (H, T, d_head) and the heads laid side by side (T, D) = trace.contexts[layer]."""
    return _head_concat(trace, check_index("layer", layer, trace.n_layers))


def _head_concat(trace: Trace, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """``head_concat`` of a checked layer."""
    with torch.inference_mode():  # torch, like the encoder: no second BLAS thread pool competing for cores
        weights = torch.tensor(trace.attentions[layer])  # (H, T, T)
        values = torch.tensor(trace.values[layer])  # (H, T, d_head)
        per_head = weights @ values  # (H, T, T) @ (H, T, d_head) -> (H, T, d_head)
        concat = merge_heads(per_head)  # (H, T, d_head) -> (T, D)
        return read_only(per_head.numpy()), read_only(concat.numpy())


def project_output(encoder: Encoder, trace: Trace, layer: int) -> np.ndarray:
    """The attention block's output before the residual: contexts W_oᵀ + b_o, (T, D)."""
    layer = check_index("layer", layer, trace.n_layers)
    _check_width(encoder, trace)
    return _project_output(encoder, trace, layer)


def _check_width(encoder: Encoder, trace: Trace) -> None:
    """The trace's model width D must be the encoder's."""
    if encoder.config.d_model != trace.contexts.shape[-1]:
        raise ValueError(
            f"trace width D={trace.contexts.shape[-1]} does not match the encoder's D={encoder.config.d_model}"
        )


def _project_output(encoder: Encoder, trace: Trace, layer: int) -> np.ndarray:
    """``project_output`` of a checked layer."""
    w = encoder.layer_weights(layer)
    with torch.inference_mode():  # F.linear, exactly as the encoder applied W_o
        context = torch.tensor(trace.contexts[layer])  # (T, D)
        projected = F.linear(context, w.w_o, w.b_o)  # (T, D) @ (D, D)^T + (D,) -> (T, D)
    return read_only(projected.numpy())


# ---------------------------------------------------------------------------------------
# One layer's heads, as the "why many heads" view shows them
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """The clearest head of one pattern kind on this text, over every layer."""

    kind: str  # one of PATTERN_KINDS except "broad", "mixed" and the parked kinds
    score: float  # its share of attention
    layer: int  # 0-based
    head: int  # 0-based


@dataclass(frozen=True, eq=False)
class LayerSurvey:
    """What one layer's heads do on a text, a few heads to show side by side, and how the heads are joined."""

    layer: int
    patterns: tuple[HeadPattern, ...]  # (H,) one per head of this layer
    clearest: tuple[Example, ...]  # per habit (parked, broad, mixed excluded), the clearest head in any layer
    variety: np.ndarray  # (L,) how much each layer's heads differ (``layer_variety``)
    shown: tuple[int, ...]  # heads to draw: the chosen one, then heads whose kinds differ from it
    maps: np.ndarray  # (len(shown), T, T) their weights ([CLS]/[SEP] columns hidden if asked)
    per_head: np.ndarray  # (H, T, d_head) each head's output A_h V_h
    joined: np.ndarray  # (T, D) the heads side by side
    projected: np.ndarray  # (T, D) joined W_oᵀ + b_o, the block's output before the residual

    @property
    def n_heads(self) -> int:
        """Number of heads H."""
        return self.per_head.shape[0]

    @property
    def d_head(self) -> int:
        """Width of one head's output."""
        return self.per_head.shape[-1]

    @property
    def n_parked(self) -> int:
        """How many of this layer's heads are parked on [CLS] / [SEP]."""
        return sum(p.parked for p in self.patterns)

    @property
    def most_varied(self) -> int:
        """The 0-based layer whose heads differ most on this text (the earliest of equals)."""
        return int(np.argmax(self.variety))


def survey_layer(
    encoder: Encoder, trace: Trace, layer: int, first_head: int, *, hide_specials: bool = False, n_shown: int = 3
) -> LayerSurvey:
    """Describe every head of ``layer``, find each pattern's clearest head in any layer, pick heads to show, join them.

    Steps:
        1) describe   every head of every layer (``describe_heads``)
        2) clearest   per habit (not parked, "broad" or "mixed") the head with the largest share;
                      ties: the earliest layer and head; and every layer's variety (``layer_variety``)
        3) shown      ``first_head``, then the highest-scoring heads of other kinds, heads that are
                      not parked first, up to ``n_shown``
        4) join       per-head outputs, side by side, through W_o (``head_concat``, ``project_output``)
    """
    layer = check_index("layer", layer, trace.n_layers)
    first_head = check_index("first_head", first_head, trace.n_heads)
    if not is_int(n_shown) or not 1 <= n_shown <= trace.n_heads:
        raise ValueError(f"n_shown must be in 1..{trace.n_heads}, got {n_shown!r}")
    _check_width(encoder, trace)
    # 1) describe, a layer at a time (one layer's maps at once keeps memory flat at 512 tokens)
    every = [_describe_heads(trace.attentions[lay], trace.tokens, trace.word_ids) for lay in range(trace.n_layers)]
    # 2) clearest
    best: dict[str, Example] = {}
    for lay, patterns in enumerate(every):
        for h, p in enumerate(patterns):
            if p.kind not in ("broad", "mixed", *PARKED_KINDS) and p.score > (best[p.kind].score if p.kind in best else 0.0):
                best[p.kind] = Example(kind=p.kind, score=p.score, layer=lay, head=h)
    clearest = tuple(sorted(best.values(), key=lambda e: -e.score))
    variety = layer_variety(trace.attentions, trace.tokens)  # (L,)
    # 3) shown
    shown = _distinct_heads(every[layer], first_head, n_shown)
    maps = trace.attentions[layer, list(shown)]  # (n_shown, T, T)
    if hide_specials:
        maps = hide_special_columns(maps, trace.tokens)
    # 4) join
    per_head, joined = _head_concat(trace, layer)
    return LayerSurvey(
        layer=layer, patterns=tuple(every[layer]), clearest=clearest, variety=variety, shown=shown, maps=read_only(maps),
        per_head=per_head, joined=joined, projected=_project_output(encoder, trace, layer),
    )


def _distinct_heads(patterns: Sequence[HeadPattern], first: int, n: int) -> tuple[int, ...]:
    """The chosen head plus heads whose pattern kinds differ from it (not parked first, then highest score), up to n."""
    picked, kinds = [first], {patterns[first].kind}
    for h, p in sorted(enumerate(patterns), key=lambda hp: (hp[1].parked, -hp[1].score)):
        if len(picked) == n:
            break
        if p.kind not in kinds:
            picked.append(h)
            kinds.add(p.kind)
    return tuple(picked)

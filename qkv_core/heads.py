"""Summaries of attention maps for display: overview blocks, one query's row, the map view's numbers, a query in two sentences.

Letters: L encoder layers, H heads, T tokens, b blocks per side of a shrunk map (b <= max_bins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qkv_core import steps
from qkv_core.checks import check_index
from qkv_core.encoder import Trace, special_mask
from qkv_core.matrix import bin_starts, block_average, window
from qkv_core.numerics import read_only


def overview_blocks(attentions: np.ndarray, max_bins: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Shrink every head's (T, T) map to at most max_bins x max_bins blocks.

    attentions (L, H, T, T) -> (blocks (L, H, b, b), starts (b,)). A block holds the
    share of attention that the block's queries (on average) give to the block's keys,
    so each block row still sums to 1.
    """
    attentions = np.asarray(attentions)
    if attentions.ndim != 4 or attentions.shape[-1] != attentions.shape[-2]:
        raise ValueError(f"attentions must be (L, H, T, T), got shape {attentions.shape}")
    t = attentions.shape[-1]
    means, starts, _ = block_average(attentions, max_bins)  # (L, H, b, b)
    widths = np.diff(np.append(bin_starts(t, max_bins), t))  # (b,) keys per block
    return means * widths, starts  # mean over queries of the summed weight over the block's keys


def top_keys(row: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest weights in a row, largest first (ties: earlier position first)."""
    row = np.asarray(row)
    order = np.argsort(-row, kind="stable")
    return order[: max(0, k)]


def default_query(tokens: list[str]) -> int:
    """A sensible token to start with: the first "it" (the classic example), else the first word piece."""
    for i, tok in enumerate(tokens):
        if tok == "it":
            return i
    return 1 if len(tokens) > 2 else 0


# ---------------------------------------------------------------------------------------
# The map view's numbers in one call; one query compared across two sentences
# ---------------------------------------------------------------------------------------


PARKING_SHARE = 0.5  # a head "parks" on this text when over half its weight lands on [CLS]/[SEP]


@dataclass(frozen=True, eq=False)
class MapSummary:
    """What the map view draws for one head and query (arrays read-only)."""

    layer: int
    head: int
    token: int
    blocks: np.ndarray  # (L, H, b, b) every head's map shrunk to blocks (rows sum to 1)
    binned: bool  # True when the blocks average several tokens (T > max_bins)
    weights: np.ndarray  # (T, T) the head's weights as shown ([CLS]/[SEP] columns hidden if asked)
    start: int  # the detail map's window: tokens [start, stop)
    stop: int
    before: int  # tokens of the window before the query
    after: int  # tokens of the window after the query
    special_share: float  # this head's real share on [CLS]/[SEP], averaged over non-special rows
    row_special_share: float  # the query row's real share on [CLS]/[SEP]
    n_parking: int  # heads (of all layers) with special_share > PARKING_SHARE on this text
    n_heads_total: int  # L * H
    top: int  # the query row's largest shown weight goes to this key
    top_weight: float


def map_summary(
    trace: Trace, layer: int, head: int, token: int, hide_specials: bool, window_size: int, max_bins: int = 16
) -> MapSummary:
    """Everything the map view shows about one head and one query, computed once.

    Steps:
        1) overview    every head shrunk to at most max_bins x max_bins blocks
        2) shown map   the head's (T, T) weights, specials hidden and rows renormalised if asked
        3) window      at most window_size tokens around the query (fewer on one side at the text's edges)
        4) parking     real share on [CLS]/[SEP]: this head, its query row, and how many heads park
        5) top key     the query row's largest shown weight
    """
    layer = check_index("layer", layer, trace.n_layers)
    head = check_index("head", head, trace.n_heads)
    token = check_index("token", token, trace.T)
    t = trace.T
    # 1) overview
    blocks, _ = overview_blocks(trace.attentions, max_bins=max_bins)  # (L, H, b, b)
    # 2) shown map
    real = trace.attentions[layer, head]  # (T, T)
    shown = steps.hide_special_columns(real, trace.tokens) if hide_specials else np.array(real)  # (T, T)
    # 3) window
    start, stop = window(t, token, window_size)
    # 4) parking
    shares = steps.special_share(trace.attentions, trace.tokens)  # (L, H)
    special = special_mask(trace.tokens)  # (T,)
    row_share = float(real[token, special].sum(dtype=np.float64))
    # 5) top key
    top = int(shown[token].argmax())
    return MapSummary(
        layer=layer, head=head, token=token, blocks=read_only(blocks), binned=t > max_bins,
        weights=read_only(shown), start=start, stop=stop, before=token - start, after=stop - 1 - token,
        special_share=float(shares[layer, head]), row_special_share=row_share,
        n_parking=int((shares > PARKING_SHARE).sum()), n_heads_total=int(shares.size),
        top=top, top_weight=float(shown[token, top]),
    )


@dataclass(frozen=True)
class KeyWeight:
    """One key of a query's row: its position, token and weight."""

    index: int
    token: str
    weight: float


@dataclass(frozen=True)
class QueryComparison:
    """One head's row for the same query word in two sentences (A: the visitor's, B: the contrast)."""

    layer: int
    head: int
    word: str  # the query token, e.g. "it"
    tokens: tuple[int, int]  # its position in A and in B
    top: tuple[tuple[KeyWeight, ...], tuple[KeyWeight, ...]]  # each row's k largest weights, largest first
    word_top: tuple[KeyWeight, KeyWeight]  # each row's largest weight on a word (not [CLS]/[SEP], not the query)
    cross: tuple[float, float]  # B's weight on A's top word, A's weight on B's top word (0 if absent)
    special: tuple[float, float]  # each row's share on [CLS]/[SEP]

    @property
    def same_word(self) -> bool:
        """Whether both rows give their largest word weight to the same word."""
        return self.word_top[0].token == self.word_top[1].token


def most_attended(trace: Trace, layer: int, head: int, token: int, hide_specials: bool = False) -> KeyWeight:
    """The key that query ``token`` gives its largest weight in one head (as the map shows it: [CLS]/[SEP] hidden if asked)."""
    check_index("layer", layer, trace.n_layers)
    check_index("head", head, trace.n_heads)
    check_index("token", token, trace.T)
    w = trace.attentions[layer, head]  # (T, T)
    row = (steps.hide_special_columns(w, trace.tokens) if hide_specials else w)[token]  # (T,)
    j = int(top_keys(row, 1)[0])
    return KeyWeight(j, trace.tokens[j], float(row[j]))


def matching_token(tokens_a: list[str], token: int, tokens_b: list[str]) -> int | None:
    """Position in tokens_b of the same piece as tokens_a[token]: the same occurrence (n-th), else the first."""
    piece = tokens_a[token]
    nth = tokens_a[:token].count(piece)
    found = [i for i, tok in enumerate(tokens_b) if tok == piece]
    if not found:
        return None
    return found[min(nth, len(found) - 1)]


def _word_top(row: np.ndarray, tokens: list[str], query: int) -> KeyWeight:
    """The largest weight of a row on a real word: not [CLS]/[SEP], not the query itself (falls back to them)."""
    skip = special_mask(tokens).copy()  # (T,)
    skip[query] = True
    if skip.all():
        skip[:] = False
    j = int(np.where(skip, -np.inf, row).argmax())
    return KeyWeight(j, tokens[j], float(row[j]))


def compare_query(trace_a: Trace, trace_b: Trace, layer: int, head: int, token: int, k: int = 3) -> QueryComparison | None:
    """Row ``token`` of one head in sentence A beside the row of the same word in sentence B.

    Returns None when B does not contain A's query piece. Real weights ([CLS]/[SEP] not hidden).
    """
    if (trace_a.n_layers, trace_a.n_heads) != (trace_b.n_layers, trace_b.n_heads):
        raise ValueError("compare_query needs two traces of the same model")
    layer = check_index("layer", layer, trace_a.n_layers)
    head = check_index("head", head, trace_a.n_heads)
    token = check_index("token", token, trace_a.T)
    token_b = matching_token(trace_a.tokens, token, trace_b.tokens)
    if token_b is None:
        return None
    rows = (trace_a.attentions[layer, head, token], trace_b.attentions[layer, head, token_b])  # (T_a,), (T_b,)
    traces = (trace_a, trace_b)
    queries = (token, token_b)
    top = tuple(tuple(KeyWeight(int(j), tr.tokens[j], float(r[j])) for j in top_keys(r, k))
                for r, tr in zip(rows, traces))
    word_top = tuple(_word_top(r, tr.tokens, q) for r, tr, q in zip(rows, traces, queries))

    def weight_on(row: np.ndarray, tokens: list[str], word: str) -> float:
        return float(sum(row[i] for i, tok in enumerate(tokens) if tok == word))

    cross = (weight_on(rows[1], trace_b.tokens, word_top[0].token), weight_on(rows[0], trace_a.tokens, word_top[1].token))
    special = tuple(float(r[special_mask(tr.tokens)].sum(dtype=np.float64)) for r, tr in zip(rows, traces))
    return QueryComparison(layer=layer, head=head, word=trace_a.tokens[token], tokens=(token, token_b), top=top,
                           word_top=word_top, cross=cross, special=special)

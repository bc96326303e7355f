"""Summaries of attention maps for display: overview blocks and one query's row.

Letters: L encoder layers, H heads, T tokens, b blocks per side of a shrunk map (b <= max_bins).
"""

from __future__ import annotations

import numpy as np

from qkv_core.matrix import bin_starts, block_average


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

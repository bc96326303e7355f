"""Display helpers for big matrices: block averages and windows, so no chart gets too many cells.

Letters: R rows and C columns of a matrix, r and c its blocks (r, c <= max_bins), n items of a range,
... any leading dimensions.
"""

from __future__ import annotations

import numpy as np


def bin_starts(n: int, max_bins: int) -> np.ndarray:
    """Start index of each of min(n, max_bins) near-equal contiguous bins covering range(n)."""
    if n < 0 or max_bins < 1:
        raise ValueError(f"need n >= 0 and max_bins >= 1, got n={n}, max_bins={max_bins}")
    n_bins = min(n, max_bins)
    return (np.arange(n_bins) * n) // max(n_bins, 1)


def block_average(x: np.ndarray, max_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average the last two axes of ``x`` (..., R, C) over contiguous blocks.

    Returns (small (..., r, c), row_starts (r,), col_starts (c,)) with r <= max_bins and
    c <= max_bins; a block's value is the mean of the cells it covers, so rows of a
    row-stochastic matrix still sum to 1 after dividing by the block width.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes, got shape {x.shape}")
    n_rows, n_cols = x.shape[-2:]
    rows, cols = bin_starts(n_rows, max_bins), bin_starts(n_cols, max_bins)
    if len(rows) == n_rows and len(cols) == n_cols:
        return x, rows, cols
    return average_blocks(x, rows, cols), rows, cols


def average_blocks(x: np.ndarray, row_starts: np.ndarray, col_starts: np.ndarray) -> np.ndarray:
    """Mean of each block of the last two axes of ``x`` (..., R, C); blocks start at the given indices."""
    n_rows, n_cols = x.shape[-2:]
    row_sizes = np.diff(np.append(row_starts, n_rows))  # (r,)
    col_sizes = np.diff(np.append(col_starts, n_cols))  # (c,)
    summed = np.add.reduceat(np.add.reduceat(x, row_starts, axis=-2), col_starts, axis=-1)  # (..., r, c)
    return summed / np.outer(row_sizes, col_sizes)


def window(n: int, center: int, size: int) -> tuple[int, int]:
    """[start, stop) of a window of at most ``size`` items of range(n), centred on ``center``."""
    if n <= size:
        return 0, n
    center = min(max(center, 0), n - 1)
    start = min(max(center - size // 2, 0), n - size)
    return start, start + size

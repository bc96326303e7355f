"""Gaussian smoothing as a weighted average, and its content-aware cousin.

Smoothing a series v of length T replaces every value by a weighted average
of its neighbours:

    out_i = sum_j w_ij v_j,      sum_j w_ij = 1 for every row i.

* Gaussian: w_ij ∝ exp(−(i−j)² / 2σ²) — the weights depend only on *where*
  j is relative to i.
* Content-aware (bilateral / Nadaraya–Watson):
  w_ij ∝ exp(−(i−j)² / 2σₜ²) · exp(−(v_i−v_j)² / 2σᵥ²) — the weights also
  depend on *what* v_j is compared with v_i.

Taking logs, log w_ij = score_ij − log Z_i with
score_ij = position term + content term, and the row normalisation
exp(score_ij) / Z_i is a softmax over j.  Replace the hand-made scores by
learned query·key dot products and this is attention.

Both kernels are cut off at a radius r = int(truncate·σ + 0.5) (the rule of
scipy.ndimage.gaussian_filter1d); near the ends of the series the cut bump is
renormalised so every row still sums to 1.

Letters: T series length, r kernel radius, B block count of a downsampled
matrix, s block size (time steps per block), k blocks within reach of a row
on either side (ceil(r / s)), c rows per chunk.

Public functions check their arguments once; the private ``_``-named helpers behind
them, which call one another, trust what they are given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from qkv_core.checks import is_int, is_real
from qkv_core.matrix import average_blocks, window
from qkv_core.numerics import read_only

__all__ = [
    "kernel_radius",
    "gaussian_weights",
    "weight_row",
    "smooth",
    "content_aware_weights",
    "content_aware_row",
    "content_aware_smooth",
    "downsample_matrix",
    "downsampled_gaussian_weights",
    "downsampled_content_aware_weights",
    "Focus",
    "ContentAwareFocus",
    "focus",
    "content_aware_focus",
    "SigmaDoubling",
    "sigma_doubling",
]


# ---------------------------------------------------------------- validation


def _check_positive(name: str, x: object, allow_inf: bool = False) -> float:
    """Return x as a float, or raise if it is not a number > 0 (inf only if allowed)."""
    if not is_real(x):
        raise ValueError(f"{name} must be a real number > 0, got {x!r}")
    x = float(x)
    if allow_inf:
        if math.isnan(x) or x <= 0:
            raise ValueError(f"{name} must be a number > 0 (np.inf allowed), got {x}")
    elif not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {x}")
    return x


def _check_length(n: object) -> int:
    """Return n as an int, or raise if it is not an integer >= 1."""
    if not is_int(n) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return int(n)


def _check_index(i: object, n: int) -> int:
    """Return i as an int, or raise if it is not a row index in [0, n)."""
    if not is_int(i) or not 0 <= i < n:
        raise ValueError(f"row index i must be an integer in [0, {n}), got {i!r}")
    return int(i)


def _check_values(values: object) -> np.ndarray:
    """Return values as a finite, non-empty, 1-D float64 array, or raise."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"values must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("values must not be empty")
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"values must be finite; {int(bad.sum())} are NaN or inf "
            f"(first at index {first}: {arr[first]})"
        )
    return arr


def _check_max_size(max_size: object) -> int:
    """Return max_size as an int, or raise if it is not an integer >= 1."""
    if not is_int(max_size) or max_size < 1:
        raise ValueError(f"max_size must be an integer >= 1, got {max_size!r}")
    return int(max_size)


def _check_widths(sigma: object, truncate: object, name: str = "sigma") -> tuple[float, float]:
    """(σ, truncate) as floats, or raise unless both are finite and > 0 and their radius is finite."""
    sigma = _check_positive(name, sigma)
    truncate = _check_positive("truncate", truncate)
    if not math.isfinite(truncate * sigma + 0.5):
        raise ValueError(f"truncate * sigma is too large to be a radius: {truncate} * {sigma}")
    return sigma, truncate


# ------------------------------------------------------------------- kernels


def kernel_radius(sigma: float, truncate: float = 4.0) -> int:
    """Kernel radius r = int(truncate * sigma + 0.5), as in scipy.ndimage.gaussian_filter1d."""
    return _kernel_radius(*_check_widths(sigma, truncate))


def _kernel_radius(sigma: float, truncate: float) -> int:
    """``kernel_radius`` of checked widths."""
    return int(truncate * sigma + 0.5)


def _effective_radius(n: int, sigma: float, truncate: float) -> int:
    """Radius clipped to n - 1: offsets farther than that never land inside the series."""
    return min(_kernel_radius(sigma, truncate), n - 1)


def _position_kernel(sigma: float, radius: int) -> np.ndarray:
    """Unnormalised bump exp(−d²/2σ²) for d = −radius..radius, shape (2r+1,)."""
    d = np.arange(-radius, radius + 1)
    sigma2 = sigma * sigma
    if sigma2 == 0.0:  # σ so small that σ² underflows: only d = 0 survives
        return (d == 0).astype(np.float64)
    # Same expression as scipy's _gaussian_kernel1d, so the interior matches bit for bit.
    return np.exp(-0.5 / sigma2 * d**2)


def _edge_normalisers(n: int, kernel: np.ndarray, radius: int, rows: np.ndarray) -> np.ndarray:
    """Sum of the kernel over the offsets that stay inside [0, n) for each row in rows."""
    cum = np.concatenate(([0.0], np.cumsum(kernel)))  # cum[m] = kernel[:m].sum()
    lo = np.maximum(-radius, -rows) + radius  # first in-bounds tap
    hi = np.minimum(radius, n - 1 - rows) + radius  # last in-bounds tap
    return cum[hi + 1] - cum[lo]


# ------------------------------------------------------------------ Gaussian


def gaussian_weights(n: int, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian weight matrix W (T, T): W_ij ∝ exp(−(i−j)²/2σ²) for |i−j| ≤ r, rows sum to 1."""
    return _gaussian_weights(_check_length(n), *_check_widths(sigma, truncate))


def _gaussian_weights(n: int, sigma: float, truncate: float) -> np.ndarray:
    """``gaussian_weights`` on checked arguments."""
    radius = _effective_radius(n, sigma, truncate)
    kernel = _position_kernel(sigma, radius)  # (2r+1,)
    offset = np.arange(n)[None, :] - np.arange(n)[:, None]  # (T, T): j − i
    inside = np.abs(offset) <= radius
    w = np.where(inside, kernel[np.clip(offset, -radius, radius) + radius], 0.0)  # (T, T)
    return w / w.sum(axis=1, keepdims=True)


def weight_row(n: int, i: int, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Row i of gaussian_weights(n, sigma, truncate), shape (T,), without forming the matrix."""
    n = _check_length(n)
    return _weight_row(n, _check_index(i, n), *_check_widths(sigma, truncate))


def _weight_row(n: int, i: int, sigma: float, truncate: float) -> np.ndarray:
    """``weight_row`` on checked arguments."""
    radius = _effective_radius(n, sigma, truncate)
    kernel = _position_kernel(sigma, radius)
    lo, hi = max(0, i - radius), min(n, i + radius + 1)
    row = np.zeros(n)
    row[lo:hi] = kernel[lo - i + radius : hi - i + radius]
    return row / row.sum()


def smooth(values: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian-smoothed values, equal to gaussian_weights(T, σ, truncate) @ values, in O(T·r).

    One correlation with the normalised kernel (zero padding outside the
    series) gives the right answer wherever the whole bump fits, where the
    normaliser is exactly 1.  Only the first and last r outputs see a cut
    bump; they are divided by the part of the kernel that stayed inside.
    """
    return _smooth(_check_values(values), *_check_widths(sigma, truncate))


def _smooth(v: np.ndarray, sigma: float, truncate: float) -> np.ndarray:
    """``smooth`` of checked (T,) float64 values."""
    n = v.size
    radius = _effective_radius(n, sigma, truncate)
    if radius == 0:
        return v.copy()
    kernel = _position_kernel(sigma, radius)
    kernel = kernel / kernel.sum()  # (2r+1,), sums to 1
    out = ndimage.correlate1d(v, kernel, mode="constant", cval=0.0)  # (T,)
    edge = np.unique(np.concatenate((np.arange(min(radius, n)), np.arange(max(n - radius, 0), n))))
    out[edge] /= _edge_normalisers(n, kernel, radius, edge)
    return out


# ------------------------------------------------------------- content-aware


def _content_factor(dv: np.ndarray, sigma_v: float) -> np.ndarray:
    """exp(−dv²/2σᵥ²), the content part of the weight; all ones when σᵥ = inf."""
    if math.isinf(sigma_v):
        return np.ones_like(dv)
    with np.errstate(over="ignore"):  # huge |dv|/σᵥ → inf → weight 0, which is right
        return np.exp(-0.5 * (dv / sigma_v) ** 2)


def _content_aware_band(
    v: np.ndarray, rows: slice, cols: slice, kernel: np.ndarray, radius: int, sigma_v: float
) -> np.ndarray:
    """Unnormalised content-aware weights for a rectangle of rows × cols, shape (rows, cols)."""
    i = np.arange(rows.start, rows.stop)[:, None]  # (R, 1)
    j = np.arange(cols.start, cols.stop)[None, :]  # (1, C)
    offset = j - i  # (R, C)
    inside = np.abs(offset) <= radius
    position = np.where(inside, kernel[np.clip(offset, -radius, radius) + radius], 0.0)
    dv = v[rows, None] - v[None, cols]  # (R, C)
    return position * _content_factor(dv, sigma_v)


def _check_content_aware(
    values: object, sigma_t: object, sigma_v: object, truncate: object
) -> tuple[np.ndarray, float, float, float]:
    """The content-aware arguments checked: (v (T,) float64, σₜ, σᵥ, truncate)."""
    v = _check_values(values)
    sigma_t, truncate = _check_widths(sigma_t, truncate, "sigma_t")
    return v, sigma_t, _check_positive("sigma_v", sigma_v, allow_inf=True), truncate


def _content_aware_kernel(n: int, sigma_t: float, truncate: float) -> tuple[np.ndarray, int]:
    """The position kernel (2r+1,) of a content-aware weight and its radius r."""
    radius = _effective_radius(n, sigma_t, truncate)
    return _position_kernel(sigma_t, radius), radius


def content_aware_weights(
    values: np.ndarray, sigma_t: float, sigma_v: float, truncate: float = 4.0
) -> np.ndarray:
    """Content-aware weight matrix (T, T); forms all T² entries, so for small T only.

    w_ij ∝ exp(−(i−j)²/2σₜ²) · exp(−(v_i−v_j)²/2σᵥ²) for |i−j| ≤ r, rows sum to 1.
    In log form the weight is a score, score_ij = −(i−j)²/2σₜ² (position)
    − (v_i−v_j)²/2σᵥ² (content), and normalising exp(score) over each row is
    a softmax: swap the hand-made score for a query·key product and this is
    attention.  σᵥ = inf removes the content term and gives gaussian_weights.
    """
    return _content_aware_weights(*_check_content_aware(values, sigma_t, sigma_v, truncate))


def _content_aware_weights(v: np.ndarray, sigma_t: float, sigma_v: float, truncate: float) -> np.ndarray:
    """``content_aware_weights`` on checked arguments."""
    n = v.size
    kernel, radius = _content_aware_kernel(n, sigma_t, truncate)
    w = _content_aware_band(v, slice(0, n), slice(0, n), kernel, radius, sigma_v)  # (T, T)
    return w / w.sum(axis=1, keepdims=True)  # diagonal weight is 1, so no row is all zero


def content_aware_row(
    values: np.ndarray, i: int, sigma_t: float, sigma_v: float, truncate: float = 4.0
) -> np.ndarray:
    """Row i of content_aware_weights, shape (T,), computed over the band only.

    The row is softmax_j(position score + content score): see content_aware_weights.
    """
    v, sigma_t, sigma_v, truncate = _check_content_aware(values, sigma_t, sigma_v, truncate)
    return _content_aware_row(v, _check_index(i, v.size), sigma_t, sigma_v, truncate)


def _content_aware_row(v: np.ndarray, i: int, sigma_t: float, sigma_v: float, truncate: float) -> np.ndarray:
    """``content_aware_row`` on checked arguments."""
    n = v.size
    kernel, radius = _content_aware_kernel(n, sigma_t, truncate)
    lo, hi = max(0, i - radius), min(n, i + radius + 1)
    row = np.zeros(n)
    row[lo:hi] = _content_aware_band(v, slice(i, i + 1), slice(lo, hi), kernel, radius, sigma_v)[0]
    return row / row.sum()


def content_aware_smooth(
    values: np.ndarray, sigma_t: float, sigma_v: float, truncate: float = 4.0
) -> np.ndarray:
    """Content-aware smoothed values, equal to content_aware_weights(...) @ values, in O(T·r).

    out_i = Σ_j exp(score_ij) v_j / Σ_j exp(score_ij) with
    score_ij = −(i−j)²/2σₜ² − (v_i−v_j)²/2σᵥ²: a softmax-weighted average, the
    step before attention.  Loops over the r offsets (not the T points); the
    weight of the pair (i, i+d) is shared by (i+d, i), so each d > 0 is
    computed once and added to both rows.
    """
    return _content_aware_smooth(*_check_content_aware(values, sigma_t, sigma_v, truncate))


def _content_aware_smooth(v: np.ndarray, sigma_t: float, sigma_v: float, truncate: float) -> np.ndarray:
    """``content_aware_smooth`` on checked arguments."""
    kernel, radius = _content_aware_kernel(v.size, sigma_t, truncate)
    # d = 0: the diagonal has position and content factor 1.
    numerator = v.copy()  # (T,)
    denominator = np.ones_like(v)  # (T,)
    for d in range(1, radius + 1):
        left, right = v[:-d], v[d:]  # (T−d,): pairs (i, i+d)
        w = kernel[radius + d] * _content_factor(left - right, sigma_v)  # (T−d,)
        numerator[:-d] += w * right
        denominator[:-d] += w
        numerator[d:] += w * left
        denominator[d:] += w
    return numerator / denominator


# ---------------------------------------------------------------- downsample


_CHUNK_CELLS = 1 << 20  # downsampling works on chunks of at most this many (row, offset) pairs


def _block_starts(n: int, max_size: int) -> tuple[np.ndarray, int]:
    """Starts of equal blocks of s = ceil(n / max_size) steps (the last may be shorter), and s."""
    size = -(-n // max_size)
    return np.arange(0, n, size), size


def _block_lengths(starts: np.ndarray, n: int) -> np.ndarray:
    """Length of each block given its start, shape (B,)."""
    return np.diff(np.append(starts, n))


def downsample_matrix(
    w: np.ndarray, max_size: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block-average a 2-D matrix to at most max_size × max_size cells.

    Blocks hold s = ceil(n / max_size) consecutive rows (columns); the last
    block may be shorter.  Returns (small (B_rows, B_cols), row_starts,
    col_starts), the starts being the original index of each block's first
    row / column.  A matrix already small enough comes back unchanged.
    """
    max_size = _check_max_size(max_size)
    w = np.asarray(w)
    if w.ndim != 2 or w.size == 0:
        raise ValueError(f"w must be a non-empty 2-D matrix, got shape {w.shape}")
    return _downsample_matrix(w, max_size)


def _downsample_matrix(w: np.ndarray, max_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``downsample_matrix`` of a checked non-empty 2-D matrix."""
    n_rows, n_cols = w.shape
    row_starts, _ = _block_starts(n_rows, max_size)
    col_starts, _ = _block_starts(n_cols, max_size)
    if n_rows <= max_size and n_cols <= max_size:
        return w, row_starts, col_starts
    return average_blocks(w, row_starts, col_starts), row_starts, col_starts  # (Br, Bc)


def downsampled_gaussian_weights(
    n: int, sigma: float, truncate: float = 4.0, max_size: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """downsample_matrix(gaussian_weights(n, ...)) without forming the T × T matrix.

    Row i's mass inside a column block [a, b) is a difference of the
    cumulative kernel.  Only the k = ceil(r / s) blocks on either side of a
    row's own block can hold any of it, so the cost is O(T·(2k + 1)), taken
    a chunk of rows at a time.
    """
    n = _check_length(n)
    return _downsampled_gaussian_weights(n, *_check_widths(sigma, truncate), _check_max_size(max_size))


def _downsampled_gaussian_weights(
    n: int, sigma: float, truncate: float, max_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``downsampled_gaussian_weights`` on checked arguments."""
    if n <= max_size:
        return _downsample_matrix(_gaussian_weights(n, sigma, truncate), max_size)
    radius = _effective_radius(n, sigma, truncate)
    kernel = _position_kernel(sigma, radius)
    cum = np.concatenate(([0.0], np.cumsum(kernel)))  # cum[m] = kernel[:m].sum(), (2r+2,)
    starts, size = _block_starts(n, max_size)  # (B,)
    n_blocks = starts.size
    edges = np.append(starts, n)  # (B+1,)
    reach = min(-(-radius // size), n_blocks)  # k
    chunk = max(1, _CHUNK_CELLS // (2 * reach + 2))
    small = np.zeros((n_blocks, n_blocks))
    for lo in range(0, n, chunk):
        i = np.arange(lo, min(lo + chunk, n))[:, None]  # (c, 1)
        own = i // size  # (c, 1): each row's block
        cols = own + np.arange(-reach, reach + 1)  # (c, 2k+1): column blocks within reach
        # Their edges, clipped to [0, B]: a block off either end gets two equal edges, so no mass.
        edge = edges[np.clip(np.concatenate((cols, cols[:, -1:] + 1), axis=1), 0, n_blocks)]  # (c, 2k+2)
        # Mass of row i at columns j < e: taps d = j − i ≤ e − 1 − i.
        below = cum[np.clip(edge - i + radius, 0, 2 * radius + 1)]  # (c, 2k+2)
        mass = np.diff(below, axis=1) / _edge_normalisers(n, kernel, radius, i[:, 0])[:, None]  # (c, 2k+1)
        small += _block_sums(own, cols, mass, starts, n)[0]
    return small, starts, starts.copy()


def _block_sums(
    own: np.ndarray, cols: np.ndarray, mass: np.ndarray, starts: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add each row's mass into its (row block, column block) cell and average: (B, B), starts, starts.

    own (R, 1) row blocks, cols (R, C) column blocks (clipped here; off-range ones carry no mass).
    """
    n_blocks = starts.size
    flat = own * n_blocks + np.clip(cols, 0, n_blocks - 1)  # (R, C) index into the flattened (B, B)
    sums = np.bincount(flat.ravel(), weights=mass.ravel(), minlength=n_blocks * n_blocks)
    lengths = _block_lengths(starts, n)
    return sums.reshape(n_blocks, n_blocks) / np.outer(lengths, lengths), starts, starts.copy()


def downsampled_content_aware_weights(
    values: np.ndarray, sigma_t: float, sigma_v: float, truncate: float = 4.0, max_size: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """downsample_matrix(content_aware_weights(...)) without forming the T × T matrix.

    Each row's weights over its 2r + 1 offsets are formed, normalised and
    added into their blocks, a chunk of rows at a time: time O(T·r), memory
    O(min(T·r, 2^20)).
    """
    v, sigma_t, sigma_v, truncate = _check_content_aware(values, sigma_t, sigma_v, truncate)
    return _downsampled_content_aware_weights(v, sigma_t, sigma_v, truncate, _check_max_size(max_size))


def _downsampled_content_aware_weights(
    v: np.ndarray, sigma_t: float, sigma_v: float, truncate: float, max_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``downsampled_content_aware_weights`` on checked arguments.

    Steps, a chunk of whole row blocks at a time (blocks of s rows, offsets d = j − i in −r..r):
        1) weights    w[i, d] = kernel[d] · exp(−(v_i − v_{i+d})²/2σᵥ²), 0 past an end; rows sum to 1 (c, 2r+1)
        2) rows       each row block's rows summed, column by column: its row p adds its weights at
                      columns p + d, within the (2k + 1)·s columns of blocks b − k .. b + k   (c/s, (2k+1)·s)
        3) columns    those columns summed by column block, k = ceil(r/s) blocks either side      (c/s, 2k+1)
        4) average    added into W's band, divided by the blocks' sizes                             (B, B)
    """
    n = v.size
    if n <= max_size:
        return _downsample_matrix(_content_aware_weights(v, sigma_t, sigma_v, truncate), max_size)
    kernel, radius = _content_aware_kernel(n, sigma_t, truncate)
    starts, size = _block_starts(n, max_size)  # (B,)
    n_blocks, width = starts.size, 2 * radius + 1
    reach = -(-radius // size)  # k: column blocks on either side of a row's own block that can hold its mass
    span = (2 * reach + 1) * size  # columns from block b − k to block b + k
    padded = np.concatenate((np.full(radius, np.nan), v, np.full(radius, np.nan)))  # (T + 2r,)
    neighbours = np.lib.stride_tricks.sliding_window_view(padded, width)  # (T, 2r+1): v[i + d], NaN past an end
    band = np.zeros((n_blocks, n_blocks + 2 * reach))  # W's blocks, column block c at c + k
    diagonal = (np.arange(n_blocks) * (n_blocks + 2 * reach + 1))[:, None] + np.arange(2 * reach + 1)  # (B, 2k+1)
    chunk = size * max(1, _CHUNK_CELLS // (size * width))  # rows: whole blocks
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        rows = -(-(hi - lo) // size) * size  # rows of the chunk's blocks, the last one padded with zeros
        # 1) weights
        w = np.zeros((rows, width))
        real = w[: hi - lo]  # (c, 2r+1), a view: computed in place (each temporary of this size costs page faults)
        np.subtract(v[lo:hi, None], neighbours[lo:hi], out=real)  # v_i − v_{i+d}, NaN past an end
        with np.errstate(over="ignore"):  # huge |dv|/σᵥ → inf → weight 0, which is right
            real /= sigma_v  # σᵥ = inf: 0, a content factor of 1
            np.square(real, out=real)
            real *= -0.5
            np.exp(real, out=real)
        real *= kernel
        np.nan_to_num(real, copy=False, nan=0.0)  # past an end: no weight
        real /= real.sum(axis=1, keepdims=True)  # the diagonal weight is 1, so no row is all zero
        # 2) rows, summed per block onto columns (b − k)·s + p
        blocks = w.reshape(rows // size, size, width)  # (c/s, s, 2r+1)
        mass = np.zeros((rows // size, span))  # (c/s, (2k+1)·s)
        first = reach * size - radius  # column of offset −r for a block's first row
        for step in range(size):
            mass[:, first + step:first + step + width] += blocks[:, step]
        # 3) columns, summed per column block
        by_block = mass.reshape(rows // size, 2 * reach + 1, size).sum(axis=2)  # (c/s, 2k+1)
        # 4) into the band: row block b, column blocks b − k .. b + k
        band.ravel()[diagonal[lo // size:lo // size + rows // size]] += by_block
    lengths = _block_lengths(starts, n)
    return band[:, reach:reach + n_blocks] / np.outer(lengths, lengths), starts, starts.copy()


# --------------------------------------------------------- one focus step, as the page shows it


@dataclass(frozen=True, eq=False)
class Focus:
    """Gaussian smoothing of one series around one focus step t: what the /smoothing page draws.

    Arrays are float64 and read-only, except ``values`` (the caller's series, checked).
    """

    values: np.ndarray  # (T,) the series
    sigma: float
    truncate: float
    t: int  # the focus step
    radius: int  # r = int(truncate·σ + 0.5), clipped to T − 1
    spread: float  # std of the values (1.0 for a flat series): the unit of σᵥ
    smoothed: np.ndarray  # (T,) W · values
    row: np.ndarray  # (T,) row t of W: the weights behind smoothed[t]
    reach: int  # steps with a weight > 0 in row t
    clipped: int  # rows of W whose bump reaches past an end (the first and last r, at most T): rescaled to sum to 1
    window: tuple[int, int]  # [start, stop) of the steps around t worth drawing: the bump and a margin
    matrix: np.ndarray  # (B, B) W averaged over blocks of steps, B <= max_cells
    starts: np.ndarray  # (B,) first step of each block
    max_cells: int


@dataclass(frozen=True, eq=False)
class ContentAwareFocus:
    """Content-aware smoothing of a ``Focus``'s series with the same σ, cut-off and focus step."""

    sigma_v: float  # value tolerance σᵥ = tolerance × the series' spread
    smoothed: np.ndarray  # (T,)
    row: np.ndarray  # (T,) row t of the content-aware W
    matrix: np.ndarray  # (B, B) the content-aware W averaged over the Focus's blocks
    gap: float  # largest |content-aware − Gaussian| over the series
    weight_max: float  # the largest weight in either row t: one scale for both bar charts


def focus(values: np.ndarray, sigma: float, truncate: float, t: int, max_cells: int = 200) -> Focus:
    """Smooth ``values`` and look at step ``t``: the smoothed line, row t of W, a window around it, and W itself.

    Steps:
        1) radius     r = min(int(truncate·σ + 0.5), T − 1)
        2) smooth     W · values, in O(T·r)                                 (T,)
        3) row t      the weights behind smoothed[t]                        (T,)
        4) window     the 2·(r + max(5, r // 2)) + 1 steps centred on t
        5) W          block-averaged to at most max_cells × max_cells       (B, B)
        6) clipped    rows whose bump an end of the series cuts: min(T, 2r)
    """
    v = _check_values(values)
    sigma, truncate = _check_widths(sigma, truncate)
    n = v.size
    t = _check_index(t, n)
    max_cells = _check_max_size(max_cells)
    radius = _effective_radius(n, sigma, truncate)  # 1)
    row = _weight_row(n, t, sigma, truncate)  # 3)
    matrix, starts, _ = _downsampled_gaussian_weights(n, sigma, truncate, max_cells)  # 5)
    return Focus(
        values=v, sigma=sigma, truncate=truncate, t=t, radius=radius,
        spread=float(np.std(v)) or 1.0,
        smoothed=read_only(_smooth(v, sigma, truncate)),  # 2)
        row=read_only(row),
        reach=int(np.count_nonzero(row)),
        clipped=min(n, 2 * radius),  # 6) rows i < r or i > T − 1 − r
        window=window(n, t, 2 * (radius + max(5, radius // 2)) + 1),  # 4)
        matrix=read_only(matrix), starts=read_only(starts), max_cells=max_cells,
    )


def content_aware_focus(base: Focus, tolerance: float) -> ContentAwareFocus:
    """The content-aware version of ``base`` with σᵥ = tolerance × base.spread, and how far it moves from it.

    Steps:
        1) σᵥ         tolerance × the series' spread
        2) smooth     content-aware W · values                             (T,)
        3) row t      its weights behind step t                            (T,)
        4) W          block-averaged on the same blocks as ``base.matrix``  (B, B)
        5) compare    largest gap to the Gaussian line; largest weight of the two rows
    """
    tolerance = _check_positive("tolerance", tolerance)
    v, sigma, truncate = base.values, base.sigma, base.truncate
    sigma_v = tolerance * base.spread  # 1)
    smoothed = _content_aware_smooth(v, sigma, sigma_v, truncate)  # 2)
    row = _content_aware_row(v, base.t, sigma, sigma_v, truncate)  # 3)
    matrix, _, _ = _downsampled_content_aware_weights(v, sigma, sigma_v, truncate, base.max_cells)  # 4)
    return ContentAwareFocus(
        sigma_v=sigma_v,
        smoothed=read_only(smoothed),
        row=read_only(row),
        matrix=read_only(matrix),
        gap=float(np.abs(smoothed - base.smoothed).max()),  # 5)
        weight_max=float(max(base.row.max(), row.max())),
    )


# --------------------------------------------------------- a question for the room: what does doubling σ do?


@dataclass(frozen=True)
class SigmaDoubling:
    """The smoothed value at step t with σ and with 2σ, and which way it moved relative to the raw value."""

    t: int
    sigma: float
    raw: float  # values[t]
    before: float  # smoothed[t] with σ
    after: float  # smoothed[t] with 2σ
    own_before: float  # step t's weight on its own value with σ
    own_after: float  # the same with 2σ
    reach_after: int  # how far (in steps) the 2σ bump reaches from t
    direction: str  # "toward" the raw value, "away" from it, or "same" (moved less than 1e-9 · the spread)


def sigma_doubling(values: np.ndarray, sigma: float, truncate: float, t: int) -> SigmaDoubling:
    """Does the smoothed value at step t move toward the raw value or away from it when σ doubles?

    Steps:
        1) rows       row t of W with σ and with 2σ (same cut-off)            (T,), (T,)
        2) smooth     before = row_σ · values, after = row_2σ · values
        3) compare    |after − raw| against |before − raw|
    """
    v = _check_values(values)
    sigma, truncate = _check_widths(sigma, truncate)
    t = _check_index(t, v.size)
    row_before = _weight_row(v.size, t, sigma, truncate)  # 1) (T,)
    row_after = _weight_row(v.size, t, 2 * sigma, truncate)  # (T,)
    before, after = float(row_before @ v), float(row_after @ v)  # 2) (T,) @ (T,)
    raw = float(v[t])
    change = abs(after - raw) - abs(before - raw)  # 3)
    tiny = 1e-9 * (float(np.std(v)) or 1.0)
    direction = "same" if abs(change) <= tiny else "toward" if change < 0 else "away"
    return SigmaDoubling(t=t, sigma=sigma, raw=raw, before=before, after=after, own_before=float(row_before[t]),
                         own_after=float(row_after[t]), reach_after=_effective_radius(v.size, 2 * sigma, truncate),
                         direction=direction)

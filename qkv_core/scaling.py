"""Why attention divides its scores by √d: random dot products, then the real model's scores.

Letter legend used in shape comments:

    L        encoder layers
    H        attention heads
    T        tokens (word pieces, [CLS] and [SEP] included)
    d_head   width of one head's query / key vectors
    d        width of the random vectors in the experiment
    N        queries in the experiment, each meeting K = n_keys keys
    P        (query, key) pairs, P = N * K

Softmax entropies are in nats (``qkv_core.numerics``); masked pairs score ``MASKED_SCORE``,
finite, and are left out of every spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from qkv_core.checks import is_int
from qkv_core.encoder import Trace
from qkv_core.numerics import MASKED_SCORE, causal_mask, entropy, read_only, softmax, softmax_entropy_and_top

__all__ = ["MAX_SPREAD_DIM", "ScoreSpread", "SpreadStats", "dot_product_spread", "model_score_spread"]

MAX_SPREAD_DIM = 4096


@dataclass(frozen=True, eq=False)
class SpreadStats:
    """How random dot products spread in dimension d, and what that does to a softmax."""

    d: int
    scores: np.ndarray  # (P,) raw q·k
    scaled_scores: np.ndarray  # (P,) q·k / √d
    std_raw: float  # ≈ √d
    std_scaled: float  # std of q·k / √d, ≈ 1
    entropy_raw: float  # mean softmax entropy over n_keys raw scores (nats)
    entropy_scaled: float  # the same for the scaled scores
    max_entropy: float  # log(n_keys), a uniform softmax
    top_weight_raw: float  # mean largest softmax weight, raw scores
    top_weight_scaled: float  # the same for the scaled scores


def _mean_entropy_and_top(scores: np.ndarray) -> tuple[float, float]:
    """Mean softmax entropy (nats) and mean largest weight over the rows of (N, K) scores."""
    weights = softmax(scores)  # (N, K)
    return float(entropy(weights).mean()), float(weights.max(axis=-1).mean())


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
        if not is_int(value):
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
    entropy_raw, top_raw = _mean_entropy_and_top(raw)
    entropy_scaled, top_scaled = _mean_entropy_and_top(scaled)
    scores = raw.reshape(-1)  # (N, n_keys) -> (P,)
    scaled_scores = scaled.reshape(-1)  # (N, n_keys) -> (P,)
    return SpreadStats(
        d=int(d),
        scores=read_only(scores),
        scaled_scores=read_only(scaled_scores),
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
    hidden = causal_mask(t).numpy() if trace.causal else np.zeros((t, t), dtype=bool)  # (T, T)
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
                # 5) softmax: ``shifted`` is spent here, ``work`` receives the weights
                row_entropy, top = softmax_entropy_and_top(shifted, work)  # (H, T), (H, T)
                stats[row, layer], stats[row + 2, layer] = float(row_entropy.mean()), float(top.mean())
    if trace.causal:
        max_entropy = float(np.log(np.arange(1, t + 1)).mean())
    else:
        max_entropy = math.log(t)
    std_raw, entropy_raw, entropy_scaled, top_raw, top_scaled = (row.copy() for row in stats)
    std_scaled = std_raw * trace.scale  # (L,)
    return ScoreSpread(
        scale=float(trace.scale),
        causal=bool(trace.causal),
        std_raw=read_only(std_raw),
        std_scaled=read_only(std_scaled),
        entropy_raw=read_only(entropy_raw),
        entropy_scaled=read_only(entropy_scaled),
        top_weight_raw=read_only(top_raw),
        top_weight_scaled=read_only(top_scaled),
        max_entropy=max_entropy,
    )

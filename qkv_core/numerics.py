"""The numerical conventions every ``qkv_core`` module shares: one softmax, one entropy, one mask.

Letter legend used in shape comments:

    n        entries along the last axis (keys of one query, or items of one distribution)
    T_q, T_k query and key positions of a causal mask
    ...      any leading dimensions, e.g. (H, T) or (L, H, T)

* **Softmax** over the last axis, shifted by the row maximum first, so no exponent is
  positive, nothing overflows, the best entry gets exactly exp(0) and exact ties stay exact.
* **Entropy** in nats, H = -Σ p log p over the last axis with 0 log 0 = 0.
* **Masking**: a hidden (query, key) pair gets the finite score ``MASKED_SCORE``, never -inf.
  Its softmax weight is exactly 0 next to any real score, and a row whose keys are all hidden
  becomes uniform instead of NaN. A causal mask hides key j from query i when j > i.

These functions trust their callers: the public entry points that take user input check it.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "MASKED_SCORE",
    "causal_mask",
    "cosine",
    "entropy",
    "mask_value",
    "read_only",
    "softmax",
    "softmax_entropy_and_top",
]

MASKED_SCORE = -1e9  # far below any real score; exp(MASKED_SCORE - a real score) is exactly 0 in float32 and float64


def mask_value(dtype: torch.dtype) -> float:
    """``MASKED_SCORE`` in a tensor of ``dtype``: -1e9, or the dtype's most negative finite value if smaller (float16)."""
    return max(MASKED_SCORE, torch.finfo(dtype).min)


def causal_mask(t_q: int, t_k: int | None = None) -> torch.Tensor:
    """(T_q, T_k) bool, True where key j lies after query i (j > i) and is hidden; square if T_k is not given."""
    return torch.ones(t_q, t_q if t_k is None else t_k, dtype=torch.bool).triu(1)


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(scores / temperature) over the last axis: (..., n) -> (..., n), each row sums to 1.

    The row maximum is subtracted before dividing by the temperature, so every exponent is
    <= 0 and the sum is >= 1; a huge gap at a tiny temperature underflows to a weight of 0.
    """
    shifted = (scores - scores.max(axis=-1, keepdims=True)) / temperature  # (..., n), each row's max is 0
    with np.errstate(over="ignore", under="ignore"):  # gap / T -> -inf -> weight 0
        e = np.exp(shifted)  # (..., n)
    return e / e.sum(axis=-1, keepdims=True)  # (..., n)


def entropy(weights: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats over the last axis, 0 log 0 = 0: (..., n) -> (...), summed in float64."""
    logs = np.log(np.where(weights > 0, weights, 1))  # (..., n), log 1 = 0 where the weight is 0
    return -(weights * logs).sum(axis=-1, dtype=np.float64)  # (...,)


def softmax_entropy_and_top(scores: torch.Tensor, work: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Entropy (nats) and largest weight of every row of softmax(scores): (..., n) -> (...), (...).

    The same entropy as ``entropy(softmax(scores))``, for large score tensors: with
    d = s - max(s), p = softmax(s) and Z = Σ exp(d), the top weight is exp(0) / Z = 1 / Z and
    -Σ p log p = -Σ p (d - log Z) = log Z - Σ p d, with no log of each weight. ``work`` (same
    shape) receives the softmax and ``scores`` is shifted in place: reused buffers, no allocation.
    """
    torch.softmax(scores, dim=-1, out=work)  # (..., n) p; masked entries give exactly 0
    scores -= scores.amax(dim=-1, keepdim=True)  # (..., n) d, every row's max is 0
    top = work.amax(dim=-1)  # (...,) = 1 / Z
    return -top.log() - torch.linalg.vecdot(work, scores), top  # (...,), (...,)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity along the last axis, in float64; 0 where either vector is zero: (..., n) -> (...)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dots = (a * b).sum(axis=-1)  # (...,)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)  # (...,)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def read_only(array: np.ndarray) -> np.ndarray:
    """Mark an array read-only and return it: results are frozen, arrays included."""
    array.flags.writeable = False
    return array

"""Scaled dot-product attention, written out step by step so every stage can be shown.

Letter legend used in shape comments throughout ``qkv_core``:

    B        batch (several texts at once; optional leading dimension)
    T        tokens (T_q query positions, T_k key positions when they differ)
    H        attention heads
    D        model width (hidden size), D = H * d_head
    d_head   width of one head's query / key / value vectors
    ...      any leading dimensions (e.g. (H,) or (B, H))

Attention in one line::

    Attention(Q, K, V) = softmax(scale * Q K^T + mask) V,   scale = 1 / sqrt(d_head)

This module is pure torch. ``torch.nn.functional.scaled_dot_product_attention`` is a
fused kernel that hides the weights; it is used only as the reference in tests. Masked
scores follow ``qkv_core.numerics``: finite, so no NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from qkv_core.checks import is_int
from qkv_core.numerics import causal_mask, mask_value

__all__ = [
    "AttentionResult",
    "merge_heads",
    "scaled_dot_product_attention",
    "split_heads",
]


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Cut the model width into heads: (..., T, D) -> (..., H, T, d_head); inverse of ``merge_heads``."""
    if not is_int(n_heads) or n_heads < 1:
        raise ValueError(f"n_heads must be a positive int, got {n_heads!r}")
    if x.dim() < 2:
        raise ValueError(f"split_heads expects (..., T, D), got shape {tuple(x.shape)}")
    d_model, n_heads = x.shape[-1], int(n_heads)
    if d_model % n_heads != 0:
        raise ValueError(
            f"model width D={d_model} is not divisible by n_heads={n_heads} "
            f"(input shape {tuple(x.shape)})"
        )
    d_head = d_model // n_heads
    x = x.unflatten(-1, (n_heads, d_head))  # (..., T, H, d_head)
    return x.transpose(-3, -2)  # (..., H, T, d_head)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """Lay the heads side by side again: (..., H, T, d_head) -> (..., T, D); inverse of ``split_heads``."""
    if x.dim() < 3:
        raise ValueError(f"merge_heads expects (..., H, T, d_head), got shape {tuple(x.shape)}")
    x = x.transpose(-3, -2)  # (..., T, H, d_head)
    return x.flatten(-2)  # (..., T, D)


@dataclass(frozen=True, eq=False)
class AttentionResult:
    """The named stages of one attention computation (``eq=False``: compare tensors explicitly)."""

    scores: torch.Tensor  # (..., T_q, T_k) raw Q K^T
    scaled: torch.Tensor  # (..., T_q, T_k) after the scale and the mask
    weights: torch.Tensor  # (..., T_q, T_k) softmax over keys; each row sums to 1
    output: torch.Tensor  # (..., T_q, d_v) weights @ V


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    causal: bool = False,
    key_mask: torch.Tensor | None = None,
) -> AttentionResult:
    """Attention with every stage kept: softmax(scale * Q K^T + mask) V.

    Shapes: ``q`` (..., T_q, d), ``k`` (..., T_k, d), ``v`` (..., T_k, d_v); leading
    dimensions broadcast, e.g. (H, T, d) for one text or (B, H, T, d) for a batch.

    Steps:
        1) score      S  = Q K^T                          (..., T_q, T_k)
        2) scale      S' = scale * S, scale = 1/sqrt(d) unless given
        3) mask       S'[i, j] = MASKED_SCORE where key j is hidden from query i
                      (causal: j > i; key_mask: key j is padding)
        4) softmax    A[i, :] = softmax(S'[i, :])         rows sum to 1
        5) mix values O = A V                             (..., T_q, d_v)

    ``key_mask`` is a bool tensor broadcastable to (..., T_k), True = a real token;
    for a batch (B, H, T, d) pass shape (B, 1, T_k). Masking uses the finite
    ``qkv_core.numerics.MASKED_SCORE``, so a row whose keys are all masked becomes uniform, never NaN.
    """
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(
            f"q, k, v must be at least 2-D (..., T, d); got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must share their last dimension d; got q {tuple(q.shape)}, k {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same number of keys T_k; got k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if not q.is_floating_point():
        raise ValueError(f"q, k, v must be floating point, got dtype {q.dtype}")
    if scale is not None and not math.isfinite(scale):
        raise ValueError(f"scale must be a finite number, got {scale!r}")
    if key_mask is not None:
        if key_mask.dtype != torch.bool:
            raise ValueError(f"key_mask must be a bool tensor (True = real token), got dtype {key_mask.dtype}")
        if key_mask.dim() == 0 or key_mask.shape[-1] != k.shape[-2]:
            raise ValueError(
                f"key_mask must have shape (..., T_k) with T_k={k.shape[-2]}; got {tuple(key_mask.shape)}"
            )
    return _attend(q, k, v, scale=scale, causal=causal, key_mask=key_mask)


def _attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None,
    causal: bool,
    key_mask: torch.Tensor | None,
    weights_out: torch.Tensor | None = None,
    head_scale: torch.Tensor | None = None,
) -> AttentionResult:
    """``scaled_dot_product_attention`` on checked inputs; the encoder calls it once per layer.

    ``weights_out``, if given, is a preallocated (..., T_q, T_k) tensor that receives the
    weights (one layer's slice of an (L, H, T, T) buffer: no copy to gather layers).
    ``head_scale``, if given, broadcasts to (..., H, 1, 1) and multiplies each head's weights
    after the softmax (a head mask: 0 switches the head off); the weights returned are the ones used.
    """
    t_q, t_k = q.shape[-2], k.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    # 1) score
    scores = q @ k.transpose(-1, -2)  # (..., T_q, d) @ (..., d, T_k) -> (..., T_q, T_k)
    # 2) scale
    scaled = scores * scale  # (..., T_q, T_k)
    # 3) mask
    blocked = causal_mask(t_q, t_k).to(q.device) if causal else None  # (T_q, T_k) True = key hidden from query
    if key_mask is not None:
        padding = ~key_mask.unsqueeze(-2)  # (..., 1, T_k)
        blocked = padding if blocked is None else blocked | padding
    if blocked is not None:
        full = torch.broadcast_tensors(scaled, blocked)[0].shape  # views only (broadcast_shapes imports sympy: ~35 MB)
        if full != scaled.shape:  # a mask with extra leading dims widens the result
            scaled = scaled.expand(full).clone()  # (..., T_q, T_k) widened
        scaled.masked_fill_(blocked, mask_value(scaled.dtype))  # (..., T_q, T_k), in place
    # 4) softmax
    if weights_out is None:
        weights = torch.softmax(scaled, dim=-1)  # (..., T_q, T_k)
    elif weights_out.shape != scaled.shape or weights_out.dtype != scaled.dtype:
        raise ValueError(
            f"weights_out must be a {scaled.dtype} tensor of shape {tuple(scaled.shape)}, "
            f"got {weights_out.dtype} {tuple(weights_out.shape)}"
        )
    else:
        weights = torch.softmax(scaled, dim=-1, out=weights_out)  # (..., T_q, T_k), written in place
    if head_scale is not None:
        weights.mul_(head_scale)  # (..., H, T_q, T_k) * (..., H, 1, 1): masked heads' rows sum to m_h
    # 5) mix values
    output = weights @ v  # (..., T_q, T_k) @ (..., T_k, d_v) -> (..., T_q, d_v)
    return AttentionResult(scores=scores, scaled=scaled, weights=weights, output=output)

"""/attention explain figures: value-weighted maps, batched head knockouts, leave-one-out, on the real model.

Measured the way the server runs them: one torch thread per forward pass (``qkv_ui/model.py``).
Every call computes afresh (no cache sits in ``qkv_core``); texts of exactly 32 / 128 tokens.
"""

from __future__ import annotations

from .attention import _text_of
from .common import median_ms

RUNS = 7


def run() -> dict[str, float]:
    """value_weighted_128_ms, head_importance_32_ms / _128_ms, token_importance_32_ms, knockout_32_ms."""
    import torch

    from qkv_core import explain
    from qkv_core.encoder import load_pretrained

    torch.set_num_threads(1)  # as the server does
    encoder = load_pretrained()
    text_32, text_128 = _text_of(encoder, 32), _text_of(encoder, 128)
    trace_128 = encoder.trace(text_128)
    return {
        "value_weighted_128_ms": median_ms(lambda: explain.value_weighted(encoder, trace_128), runs=RUNS),
        "head_importance_32_ms": median_ms(lambda: explain.head_importance(encoder, text_32), runs=RUNS),
        "head_importance_128_ms": median_ms(lambda: explain.head_importance(encoder, text_128), runs=5),
        "token_importance_32_ms": median_ms(lambda: explain.token_importance(encoder, text_32), runs=RUNS),
        "knockout_32_ms": median_ms(lambda: explain.knockout(encoder, text_32, {(0, 0), (3, 5)}), runs=RUNS),
    }

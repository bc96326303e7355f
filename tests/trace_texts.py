"""Texts the qkv_core tests trace with the real model (fixtures in ``tests/conftest.py``)."""

from __future__ import annotations

import numpy as np

from qkv_core.encoder import Trace

TOL = 1e-5
SENTENCE = "The animal didn't cross the street because it was too tired."  # T = 16
RIVER = "We sat on the bank of the river and watched the water."
LOAN = "I went to the bank to ask for a loan."
RIVER_TOO = "They walked along the bank of the stream at dawn."  # "bank" at position 5, as in RIVER and LOAN
VARIANTS = ["trained", "causal", "scale1", "causal-scale1"]  # keys of the ``traces`` fixture


def head_outputs(trace: Trace, layer: int, head: int) -> np.ndarray:
    """The trace's own head output A V for one head, (T, d_head)."""
    return trace.attentions[layer, head] @ trace.values[layer, head]

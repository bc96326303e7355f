"""qkv_core.projections: one head with its trained W_q, W_k against identity projections."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qkv_core.encoder import Trace
from qkv_core.projections import compare_projections


@pytest.mark.parametrize(("variant", "layer", "head"), [("trained", 0, 2), ("trained", 3, 1), ("causal", 5, 11)])
def test_identity_is_softmax_of_x_xt_and_trained_is_the_trace(
    traces: dict[str, Trace], variant: str, layer: int, head: int
) -> None:
    """Identity: softmax(X Xᵀ / √D) on the layer's input, computed here with torch; trained: the trace's weights."""
    trace = traces[variant]
    found = compare_projections(trace, layer, head)
    x = torch.tensor(trace.hidden_states[layer], dtype=torch.float64)  # (T, D)
    scores = x @ x.T / math.sqrt(x.shape[1])  # (T, T)
    if trace.causal:
        scores = scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), float("-inf"))
    np.testing.assert_allclose(found.identity, torch.softmax(scores, dim=-1).numpy(), atol=1e-9)
    np.testing.assert_array_equal(found.trained, trace.attentions[layer, head])
    np.testing.assert_allclose(found.identity.sum(-1), 1, atol=1e-9)
    assert not np.isnan(found.identity).any()
    assert found.self_weight == pytest.approx((np.diagonal(found.identity).mean(), np.diagonal(found.trained).mean()))
    assert found.max_entropy == pytest.approx(math.log(trace.T))


def test_without_learned_projections_each_token_mostly_attends_to_itself(traces: dict[str, Trace]) -> None:
    """On the real model, identity projections keep most weight on the diagonal; every trained head of layer 1 far less."""
    for head in range(traces["trained"].n_heads):
        found = compare_projections(traces["trained"], 0, head)
        identity, trained = found.self_weight
        assert identity > 0.5 > 0.25 > trained
        assert found.mean_entropy[0] < found.max_entropy


def test_the_identity_map_is_the_same_for_every_head(traces: dict[str, Trace]) -> None:
    """Without learned projections, every head of a layer would ask the same question."""
    a, b = (compare_projections(traces["trained"], 2, h) for h in (0, 7))
    np.testing.assert_array_equal(a.identity, b.identity)
    assert np.abs(a.trained - b.trained).max() > 0.1


@pytest.mark.parametrize(("layer", "head", "fragment"), [(6, 0, r"layer must be in 0\.\.5"), (0, 12, r"head must be")])
def test_compare_projections_rejects_bad_indices(traces: dict[str, Trace], layer: int, head: int, fragment: str) -> None:
    """A layer or head outside the trace is a ValueError naming it."""
    with pytest.raises(ValueError, match=fragment):
        compare_projections(traces["trained"], layer, head)

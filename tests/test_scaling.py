"""qkv_core.scaling: why scores are divided by √d, on random vectors and on the real model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qkv_core.encoder import Trace
from qkv_core.scaling import dot_product_spread, model_score_spread
from tests.trace_texts import VARIANTS


# ---------------------------------------------------------------------------------------
# 5) Why ÷√d
# ---------------------------------------------------------------------------------------

DIMS = [16, 64, 256, 1024]


@pytest.mark.parametrize("d", DIMS)
def test_dot_products_spread_like_sqrt_d(d: int) -> None:
    """std(q·k) ≈ √d for N(0, 1) entries; after ÷√d it is ≈ 1 whatever d is."""
    stats = dot_product_spread(d)
    assert stats.scores.shape == (4000,) and stats.d == d
    assert stats.std_raw == pytest.approx(math.sqrt(d), rel=0.1)
    assert stats.std_scaled == pytest.approx(1.0, rel=0.1)
    assert abs(stats.scores.mean()) < 0.1 * math.sqrt(d)
    assert stats.max_entropy == pytest.approx(math.log(16))
    assert 0 < stats.entropy_raw < stats.entropy_scaled < stats.max_entropy


def test_raw_softmax_collapses_as_d_grows_scaled_does_not() -> None:
    """Raw scores: entropy falls and the top weight rises with d; scaled scores: both stay put."""
    runs = [dot_product_spread(d) for d in DIMS]
    raw_entropy = [r.entropy_raw for r in runs]
    assert raw_entropy == sorted(raw_entropy, reverse=True) and len(set(raw_entropy)) == len(DIMS)
    assert [r.top_weight_raw for r in runs] == sorted(r.top_weight_raw for r in runs)
    assert runs[-1].top_weight_raw > 0.9  # d = 1024: one key takes nearly everything
    scaled = [r.entropy_scaled for r in runs]
    assert max(scaled) - min(scaled) < 0.15


def test_dot_product_spread_is_seeded() -> None:
    """Same seed, same draws; another seed, other draws."""
    np.testing.assert_array_equal(dot_product_spread(64, seed=3).scores, dot_product_spread(64, seed=3).scores)
    assert not np.array_equal(dot_product_spread(64, seed=3).scores, dot_product_spread(64, seed=4).scores)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        pytest.param({"d": 0}, r"d must be in 1\.\.4096, got 0", id="d-zero"),  # no empty vectors
        pytest.param({"d": 4097}, r"d must be in 1\.\.4096, got 4097", id="d-too-big"),  # keeps it fast
        pytest.param({"d": 2.5}, "d must be an int", id="d-float"),  # a width is a whole number
        pytest.param({"d": 8, "n_keys": 1}, "n_keys must be", id="one-key"),  # a softmax over one key says nothing
        pytest.param({"d": 8, "n_pairs": 100, "n_keys": 16}, "multiple of n_keys", id="ragged"),  # 100 / 16
    ],
)
def test_dot_product_spread_rejects_bad_input(kwargs: dict, fragment: str) -> None:
    """Out-of-range sizes are a ValueError naming them."""
    with pytest.raises(ValueError, match=fragment):
        dot_product_spread(**kwargs)


def _reference_spread(trace: Trace, factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-layer std, softmax entropy and top weight of factor * Q Kᵀ, in float64 with -inf masking."""
    q, k = torch.from_numpy(trace.queries.copy()).double(), torch.from_numpy(trace.keys.copy()).double()
    scores = q @ k.transpose(-1, -2) * factor  # (L, H, T, T)
    visible = torch.ones(trace.T, trace.T, dtype=torch.bool)  # (T, T) True = key visible
    if trace.causal:
        visible = visible.tril()
    std = np.array([scores[layer][:, visible].std(correction=0).item() for layer in range(trace.n_layers)])
    masked = scores.masked_fill(~visible, -torch.inf)
    weights, logs = torch.softmax(masked, dim=-1), torch.log_softmax(masked, dim=-1)
    entropy = -torch.where(weights > 0, weights * logs, 0.0).sum(-1).mean(dim=(1, 2))
    return std, entropy.numpy(), weights.amax(-1).mean(dim=(1, 2)).numpy()


@pytest.mark.parametrize("variant", VARIANTS)
def test_model_score_spread_matches_a_float64_reference(traces: dict[str, Trace], variant: str) -> None:
    """Spreads, entropies and top weights per layer equal a plain float64 recomputation."""
    trace = traces[variant]
    spread = model_score_spread(trace)
    std_raw, entropy_raw, top_raw = _reference_spread(trace, 1.0)
    std_scaled, entropy_scaled, top_scaled = _reference_spread(trace, trace.scale)
    assert spread.std_raw.shape == (trace.n_layers,)
    np.testing.assert_allclose(spread.std_raw, std_raw, rtol=1e-5)
    np.testing.assert_allclose(spread.std_scaled, std_scaled, rtol=1e-5)
    np.testing.assert_allclose(spread.entropy_raw, entropy_raw, atol=1e-5)
    np.testing.assert_allclose(spread.entropy_scaled, entropy_scaled, atol=1e-5)
    np.testing.assert_allclose(spread.top_weight_raw, top_raw, atol=1e-5)
    np.testing.assert_allclose(spread.top_weight_scaled, top_scaled, atol=1e-5)
    expected_max = np.log(np.arange(1, trace.T + 1)).mean() if trace.causal else math.log(trace.T)
    assert spread.max_entropy == pytest.approx(expected_max)
    assert spread.causal is trace.causal and spread.scale == trace.scale


def test_model_score_spread_tells_the_sqrt_d_story(traces: dict[str, Trace]) -> None:
    """As trained: without ÷√d every layer's softmax is far peakier; with scale 1.0 raw and scaled coincide."""
    spread = model_score_spread(traces["trained"])
    assert (spread.entropy_scaled > spread.entropy_raw + 0.5).all()
    assert (spread.top_weight_raw > spread.top_weight_scaled).all()
    np.testing.assert_allclose(spread.std_scaled, spread.std_raw / math.sqrt(32))
    no_scale = model_score_spread(traces["scale1"])
    np.testing.assert_allclose(no_scale.entropy_raw, no_scale.entropy_scaled)
    np.testing.assert_allclose(no_scale.std_raw, no_scale.std_scaled)

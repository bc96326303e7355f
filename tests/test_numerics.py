"""qkv_core.numerics: the one softmax, entropy and mask every module uses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qkv_core.numerics import (
    MASKED_SCORE,
    causal_mask,
    cosine,
    entropy,
    mask_value,
    softmax,
    softmax_entropy_and_top,
)

SOFTMAX_CASES = [
    # scores, temperature, expected weights
    pytest.param([0.0, 0.0], 1.0, [0.5, 0.5], id="tie"),  # equal scores share equally
    pytest.param([0.0, math.log(3)], 1.0, [0.25, 0.75], id="ratio-3"),  # e^s ratio 3 : 1
    pytest.param([0.0, 2 * math.log(3)], 2.0, [0.25, 0.75], id="temperature-halves"),  # T = 2 halves the gap
    pytest.param([1000.0, 0.0], 1.0, [1.0, 0.0], id="no-overflow"),  # exp(1000) would overflow unshifted
    pytest.param([MASKED_SCORE, 3.0], 1.0, [0.0, 1.0], id="masked-weighs-0"),  # the mask gives exactly 0
    pytest.param([MASKED_SCORE, MASKED_SCORE], 1.0, [0.5, 0.5], id="all-masked-uniform"),  # never NaN
]


@pytest.mark.parametrize(("scores", "temperature", "expected"), SOFTMAX_CASES)
def test_softmax_cases(scores: list[float], temperature: float, expected: list[float]) -> None:
    """Each row sums to 1 with the weights worked out by hand."""
    np.testing.assert_allclose(softmax(np.array(scores), temperature), expected, atol=1e-12)


def test_softmax_matches_torch_row_by_row() -> None:
    """Over the last axis of any shape, equal to torch.softmax."""
    scores = np.random.default_rng(0).normal(size=(3, 4, 7)) * 5
    np.testing.assert_allclose(softmax(scores), torch.softmax(torch.from_numpy(scores), -1).numpy(), atol=1e-15)


ENTROPY_CASES = [
    # weights, entropy in nats
    pytest.param([1.0, 0.0, 0.0], 0.0, id="one-hot"),  # 0 log 0 = 0
    pytest.param([0.5, 0.5], math.log(2), id="fair-coin"),  # one bit = log 2 nats
    pytest.param([0.25] * 4, math.log(4), id="uniform-4"),  # log n for a uniform row
]


@pytest.mark.parametrize(("weights", "nats"), ENTROPY_CASES)
def test_entropy_cases(weights: list[float], nats: float) -> None:
    """-Σ p log p in nats, for float64 and float32 rows."""
    assert entropy(np.array(weights)) == pytest.approx(nats, abs=1e-12)
    assert entropy(np.array(weights, dtype=np.float32)) == pytest.approx(nats, abs=1e-6)


def test_fast_softmax_entropy_equals_entropy_of_softmax() -> None:
    """The in-place path over scores gives the entropy and top weight of softmax(scores), masked entries included."""
    scores = np.random.default_rng(1).normal(size=(2, 5, 6)) * 4  # (H, T, T)
    scores[:, causal_mask(5, 6).numpy()] = MASKED_SCORE
    weights = softmax(scores)
    work = torch.empty(scores.shape, dtype=torch.float64)
    fast, top = softmax_entropy_and_top(torch.from_numpy(scores.copy()), work)
    np.testing.assert_allclose(fast.numpy(), entropy(weights), atol=1e-12)
    np.testing.assert_allclose(top.numpy(), weights.max(axis=-1), atol=1e-15)
    np.testing.assert_allclose(work.numpy(), weights, atol=1e-15)


def test_mask_value_is_finite_in_every_float_type() -> None:
    """-1e9 where it fits; float16's most negative finite number where it does not."""
    assert mask_value(torch.float32) == mask_value(torch.float64) == MASKED_SCORE
    assert mask_value(torch.float16) == torch.finfo(torch.float16).min
    assert all(math.isfinite(mask_value(dtype)) for dtype in (torch.float16, torch.bfloat16, torch.float32))


def test_causal_mask_hides_later_keys() -> None:
    """True above the diagonal: key j is hidden from query i when j > i."""
    np.testing.assert_array_equal(causal_mask(3).numpy(), [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    assert causal_mask(2, 4).shape == (2, 4)


def test_cosine_of_zero_vectors_is_zero() -> None:
    """1 for parallel, -1 for opposite, 0 (not NaN) where a vector is zero."""
    np.testing.assert_allclose(cosine(np.array([[2.0, 0], [1, 1], [0, 0]]), np.array([[1.0, 0], [-1, -1], [1, 0]])),
                               [1.0, -1.0, 0.0])

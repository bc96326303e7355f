"""qkv_core.attention against torch's fused kernel, plus the properties a viewer relies on."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from qkv_core.attention import AttentionResult, _attend, merge_heads, scaled_dot_product_attention, split_heads
from qkv_core.numerics import MASKED_SCORE

TOL = 1e-5


def _rand(*shape: int, seed: int) -> torch.Tensor:
    """Reproducible standard-normal float32 tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------
# split_heads / merge_heads
# ---------------------------------------------------------------------------------------

SPLIT_CASES = [
    pytest.param((7, 12), 3, id="single-sequence"),  # (T, D) -> (H, T, d_head)
    pytest.param((2, 5, 384), 12, id="batched-minilm-width"),  # (B, T, D) -> (B, H, T, d_head)
    pytest.param((1, 8), 8, id="one-token-d_head-1"),  # every head one number wide
    pytest.param((4, 6), 1, id="one-head"),  # one head is the whole width
]


@pytest.mark.parametrize(("shape", "n_heads"), SPLIT_CASES)
def test_split_merge_round_trip(shape: tuple[int, ...], n_heads: int) -> None:
    """merge_heads(split_heads(x)) gives x back, and head h holds columns h*d_head:(h+1)*d_head."""
    x = _rand(*shape, seed=0)
    heads = split_heads(x, n_heads)
    *lead, t, d = shape
    d_head = d // n_heads
    assert heads.shape == (*lead, n_heads, t, d_head)
    for h in range(n_heads):
        torch.testing.assert_close(heads[..., h, :, :], x[..., h * d_head : (h + 1) * d_head], rtol=0, atol=0)
    torch.testing.assert_close(merge_heads(heads), x, rtol=0, atol=0)


def test_split_heads_rejects_width_not_divisible() -> None:
    """A width that does not split evenly is a loud error naming both numbers."""
    with pytest.raises(ValueError, match=r"D=10 is not divisible by n_heads=3"):
        split_heads(torch.zeros(4, 10), 3)


# ---------------------------------------------------------------------------------------
# Against torch.nn.functional.scaled_dot_product_attention
# ---------------------------------------------------------------------------------------

SDPA_CASES = [
    # shape of q/k/v, scale, causal
    pytest.param((5, 8), None, False, id="plain-T5-d8"),  # (T, d), default 1/sqrt(d)
    pytest.param((12, 9, 32), None, False, id="heads-H12-T9"),  # (H, T, d_head) like one MiniLM layer
    pytest.param((12, 9, 32), 1.0, False, id="heads-no-sqrt-d"),  # the "forget to divide by sqrt(d)" what-if
    pytest.param((12, 9, 32), None, True, id="heads-causal"),  # decoder-style mask
    pytest.param((2, 4, 6, 16), 0.37, True, id="batched-causal-custom-scale"),  # (B, H, T, d)
    pytest.param((3, 1, 4), None, True, id="single-token"),  # T=1: weight 1 on itself
]


@pytest.mark.parametrize(("shape", "scale", "causal"), SDPA_CASES)
def test_matches_torch_sdpa(shape: tuple[int, ...], scale: float | None, causal: bool) -> None:
    """Output equals the fused kernel's and the weights reproduce it."""
    q, k, v = (_rand(*shape, seed=s) * 2 for s in (1, 2, 3))
    ours = scaled_dot_product_attention(q, k, v, scale=scale, causal=causal)
    ref = F.scaled_dot_product_attention(q, k, v, scale=scale, is_causal=causal)
    torch.testing.assert_close(ours.output, ref, rtol=0, atol=TOL)
    torch.testing.assert_close(ours.weights @ v, ref, rtol=0, atol=TOL)


def test_stages_are_named_and_consistent() -> None:
    """scores = QK^T, scaled = scores / sqrt(d), weights = softmax(scaled), output = weights V."""
    q, k, v = (_rand(4, 6, 8, seed=s) for s in (4, 5, 6))
    res = scaled_dot_product_attention(q, k, v)
    assert isinstance(res, AttentionResult)
    torch.testing.assert_close(res.scores, torch.einsum("htd,hsd->hts", q, k), rtol=0, atol=TOL)
    torch.testing.assert_close(res.scaled, res.scores / math.sqrt(8), rtol=0, atol=TOL)
    torch.testing.assert_close(res.weights, torch.softmax(res.scaled, -1), rtol=0, atol=TOL)
    with pytest.raises(AttributeError):
        res.weights = res.scores  # frozen


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_weight_rows_sum_to_one(causal: bool) -> None:
    """Every query spreads exactly one unit of attention over the keys."""
    q, k, v = (_rand(3, 11, 16, seed=s) * 4 for s in (7, 8, 9))
    w = scaled_dot_product_attention(q, k, v, causal=causal).weights
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 11), rtol=0, atol=TOL)
    if causal:
        assert torch.count_nonzero(w.triu(1)) == 0  # no query sees a later key


def test_key_mask_zeroes_masked_columns_and_matches_torch() -> None:
    """Padding keys get weight exactly 0, and the result equals torch with a bool mask."""
    q, k, v = (_rand(2, 4, 5, 8, seed=s) for s in (10, 11, 12))  # (B, H, T, d)
    key_mask = torch.tensor([[True, True, True, False, False], [True, True, True, True, True]])  # (B, T)
    res = scaled_dot_product_attention(q, k, v, key_mask=key_mask[:, None])  # (B, 1, T) over heads
    assert torch.all(res.weights[0, ..., 3:] == 0)
    assert torch.all(res.weights[1] > 0)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, None, :])
    torch.testing.assert_close(res.output, ref, rtol=0, atol=TOL)


def test_fully_masked_row_gives_no_nan() -> None:
    """A query whose every key is hidden gets finite (uniform) weights, never NaN."""
    q, k, v = (_rand(2, 4, 8, seed=s) for s in (13, 14, 15))  # (H, T, d)
    res = scaled_dot_product_attention(q, k, v, causal=True, key_mask=torch.zeros(4, dtype=torch.bool))
    for name in ("scaled", "weights", "output"):
        assert torch.isfinite(getattr(res, name)).all(), name
    torch.testing.assert_close(res.weights, torch.full((2, 4, 4), 0.25), rtol=0, atol=TOL)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16], ids=str)
def test_masked_scores_are_the_shared_finite_constant(dtype: torch.dtype) -> None:
    """Hidden pairs score MASKED_SCORE (float16: its most negative finite value), weigh exactly 0, and no NaN appears."""
    q, k, v = (_rand(2, 4, 8, seed=s).to(dtype) for s in (19, 20, 21))  # (H, T, d)
    res = scaled_dot_product_attention(q, k, v, causal=True)
    hidden = torch.ones(4, 4, dtype=torch.bool).triu(1)
    expected = max(MASKED_SCORE, torch.finfo(dtype).min)
    assert torch.all(res.scaled[:, hidden] == expected)
    assert torch.all(res.weights[:, hidden] == 0) and torch.isfinite(res.weights).all()


def test_weights_out_receives_weights_in_place() -> None:
    """The encoder's private path: a preallocated buffer slice is filled with the same weights it returns."""
    q, k, v = (_rand(3, 5, 8, seed=s) for s in (16, 17, 18))
    buffer = torch.zeros(2, 3, 5, 5)  # (L, H, T, T)
    res = _attend(q, k, v, scale=None, causal=False, key_mask=None, weights_out=buffer[1])
    torch.testing.assert_close(buffer[1], scaled_dot_product_attention(q, k, v).weights, rtol=0, atol=0)
    assert res.weights.data_ptr() == buffer[1].data_ptr()
    assert torch.all(buffer[0] == 0)


BAD_INPUTS = [
    # q shape, k shape, v shape, kwargs, message fragment
    pytest.param((4, 8), (4, 6), (4, 6), {}, "share their last dimension", id="q-k-width-mismatch"),
    pytest.param((4, 8), (5, 8), (4, 8), {}, "same number of keys", id="k-v-length-mismatch"),
    pytest.param((8,), (8,), (8,), {}, "at least 2-D", id="1-D-input"),
    pytest.param((4, 8), (4, 8), (4, 8), {"scale": float("nan")}, "finite", id="nan-scale"),
    pytest.param((4, 8), (4, 8), (4, 8), {"key_mask": torch.ones(4)}, "bool", id="float-mask"),
    pytest.param((4, 8), (4, 8), (4, 8), {"key_mask": torch.ones(3, dtype=torch.bool)}, "T_k=4", id="mask-length"),
]


@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape", "kwargs", "fragment"), BAD_INPUTS)
def test_bad_inputs_raise_specific_errors(q_shape, k_shape, v_shape, kwargs, fragment) -> None:
    """Inconsistent inputs fail with a message that says which part is wrong."""
    with pytest.raises(ValueError, match=fragment):
        scaled_dot_product_attention(torch.zeros(q_shape), torch.zeros(k_shape), torch.zeros(v_shape), **kwargs)


def test_a_weights_buffer_of_the_wrong_shape_is_refused() -> None:
    """The encoder's private path names the buffer when it does not fit the weights."""
    with pytest.raises(ValueError, match="weights_out"):
        _attend(torch.zeros(4, 8), torch.zeros(4, 8), torch.zeros(4, 8), scale=None, causal=False, key_mask=None,
                weights_out=torch.empty(4, 5))

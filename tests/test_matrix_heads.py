"""Display helpers: block averages, windows, and the attention overview blocks."""

import numpy as np
import pytest

from qkv_core.heads import default_query, overview_blocks, top_keys
from qkv_core.matrix import average_blocks, bin_starts, block_average, window


@pytest.mark.parametrize(
    "n, max_bins, expected",
    [
        (5, 10, [0, 1, 2, 3, 4]),  # fewer items than bins: one bin each
        (10, 5, [0, 2, 4, 6, 8]),  # even split
        (7, 3, [0, 2, 4]),  # uneven split: bins of 2, 2, 3
        (0, 4, []),  # nothing to bin
    ],
)
def test_bin_starts(n, max_bins, expected):
    assert bin_starts(n, max_bins).tolist() == expected


def test_block_average_is_the_mean_of_each_block():
    x = np.arange(7 * 7, dtype=float).reshape(7, 7)
    small, rows, cols = block_average(x, 3)
    assert small.shape == (3, 3)
    assert small[2, 2] == pytest.approx(x[4:, 4:].mean())
    assert small[0, 1] == pytest.approx(x[:2, 2:4].mean())
    assert np.array_equal(average_blocks(x, rows, cols), small)


def test_block_average_leaves_small_matrices_alone():
    x = np.random.default_rng(0).random((2, 4, 4))
    small, rows, cols = block_average(x, 8)
    assert np.array_equal(small, x) and rows.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "n, center, size, expected",
    [
        (100, 0, 10, (0, 10)),  # clamped at the start
        (100, 99, 10, (90, 100)),  # clamped at the end
        (100, 50, 10, (45, 55)),  # centred
        (5, 2, 10, (0, 5)),  # everything fits
        (100, 500, 10, (90, 100)),  # centre beyond the end
    ],
)
def test_window(n, center, size, expected):
    assert window(n, center, size) == expected


def test_overview_blocks_keep_rows_stochastic():
    rng = np.random.default_rng(1)
    att = rng.random((2, 3, 50, 50))
    att /= att.sum(-1, keepdims=True)
    blocks, starts = overview_blocks(att, max_bins=8)
    assert blocks.shape == (2, 3, 8, 8) and len(starts) == 8
    np.testing.assert_allclose(blocks.sum(-1), 1.0, atol=1e-12)


def test_overview_blocks_rejects_non_square_maps():
    with pytest.raises(ValueError, match="attentions must be"):
        overview_blocks(np.zeros((1, 1, 3, 4)))


def test_top_keys_and_default_query():
    assert top_keys(np.array([0.1, 0.5, 0.5, 0.2]), 2).tolist() == [1, 2]  # ties keep position order
    assert default_query(["[CLS]", "the", "dog", "saw", "it", "[SEP]"]) == 4
    assert default_query(["[CLS]", "hello", "[SEP]"]) == 1
    assert default_query(["[CLS]", "[SEP]"]) == 0

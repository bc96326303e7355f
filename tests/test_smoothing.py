"""Gaussian and content-aware smoothing: properties, references, limits and errors."""


import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from qkv_core.matrix import window
from qkv_core.smoothing import (
    content_aware_focus,
    content_aware_row,
    content_aware_smooth,
    content_aware_weights,
    downsample_matrix,
    downsampled_content_aware_weights,
    downsampled_gaussian_weights,
    focus,
    gaussian_weights,
    kernel_radius,
    smooth,
    weight_row,
)


def _values(n: int, seed: int = 0) -> np.ndarray:
    """A reproducible rough series to smooth."""
    return np.cumsum(np.random.default_rng(seed).standard_normal(n))


def _noisy_step(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) step from 0 to 1 at the middle."""
    clean = (np.arange(n) >= n // 2).astype(float)
    return clean, clean + noise * np.random.default_rng(seed).standard_normal(n)


# ------------------------------------------------------------------ Gaussian

SHAPES = [
    (1, 1.0, 4.0),  # a single point: the only weight is 1
    (2, 0.7, 4.0),  # two points, radius 3 reaches past both ends
    (10, 2.0, 4.0),  # radius 8 on 10 points: almost every row is cut
    (50, 3.0, 4.0),  # typical: cut rows at the ends, full bumps inside
    (50, 3.0, 1.0),  # short truncation: radius 3
    (50, 0.2, 4.0),  # radius int(1.3) = 1: a narrow bump
    (40, 1e6, 4.0),  # σ far beyond the series: every row is near-uniform
    (64, 5.0, 0.05),  # radius int(0.75) = 0: the identity
]


@pytest.mark.parametrize(("n", "sigma", "truncate"), SHAPES)
def test_gaussian_rows_sum_to_one(n: int, sigma: float, truncate: float) -> None:
    w = gaussian_weights(n, sigma, truncate)
    assert w.shape == (n, n)
    assert np.all(w >= 0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("n", "sigma", "truncate"), SHAPES)
def test_smooth_equals_matrix_product(n: int, sigma: float, truncate: float) -> None:
    v = _values(n)
    np.testing.assert_allclose(smooth(v, sigma, truncate), gaussian_weights(n, sigma, truncate) @ v, atol=1e-10)


@pytest.mark.parametrize(("n", "sigma", "truncate"), SHAPES)
def test_weight_row_equals_matrix_row(n: int, sigma: float, truncate: float) -> None:
    w = gaussian_weights(n, sigma, truncate)
    for i in {0, n // 2, n - 1}:
        np.testing.assert_allclose(weight_row(n, i, sigma, truncate), w[i], atol=1e-15)


def test_weights_depend_on_distance_only_away_from_the_ends() -> None:
    n, sigma = 60, 3.0
    r = kernel_radius(sigma)
    w = gaussian_weights(n, sigma)
    inner = w[r : n - r, r : n - r]  # rows whose bump fits: symmetric and Toeplitz
    np.testing.assert_allclose(inner, inner.T, atol=1e-15)
    np.testing.assert_allclose(w[r, : 2 * r + 1], w[n - r - 1, n - 2 * r - 1 :], atol=1e-15)


def test_ends_renormalise_the_cut_bump() -> None:
    # Row 0 keeps only the right half of the bump, so its weight on itself is about twice the centre's.
    w = gaussian_weights(40, 3.0)
    assert w[0, 0] == pytest.approx(2 * w[20, 20], rel=0.15)
    assert w[0, 0] > w[20, 20]


@pytest.mark.parametrize(
    ("sigma", "truncate"),
    [
        (1.0, 4.0),  # scipy's default truncation
        (2.5, 4.0),  # non-integer σ
        (7.0, 3.0),  # wider bump, shorter truncation
        (0.8, 2.0),  # radius 2
        (20.0, 4.0),  # radius 80
    ],
)
def test_smooth_matches_scipy_away_from_the_ends(sigma: float, truncate: float) -> None:
    v = _values(1000, seed=1)
    r = kernel_radius(sigma, truncate)
    ours = smooth(v, sigma, truncate)
    ref = gaussian_filter1d(v, sigma, truncate=truncate)
    np.testing.assert_allclose(ours[r:-r], ref[r:-r], rtol=0, atol=1e-12)
    # scipy reflects at the ends, we renormalise: the ends must differ for a trending series.
    assert abs(ours[0] - ref[0]) > 1e-6


@pytest.mark.parametrize(
    ("sigma", "truncate"),
    [
        (0.1, 4.0),  # radius int(0.9) = 0
        (1e-300, 4.0),  # σ² underflows to 0
        (1.0, 0.1),  # radius int(0.6) = 0
    ],
)
def test_tiny_sigma_gives_identity(sigma: float, truncate: float) -> None:
    v = _values(30)
    np.testing.assert_array_equal(gaussian_weights(30, sigma, truncate), np.eye(30))
    np.testing.assert_array_equal(smooth(v, sigma, truncate), v)


def test_kernel_radius_follows_scipy_rule() -> None:
    assert kernel_radius(1.0) == 4
    assert kernel_radius(2.5, 4.0) == 10
    assert kernel_radius(0.1) == 0
    assert kernel_radius(1.0, 0.6) == 1


def test_smooth_is_fast_enough_to_not_form_the_matrix() -> None:
    v = _values(100_000)
    out = smooth(v, 5.0)  # a 100,000² matrix would be 80 GB
    assert out.shape == (100_000,)
    assert np.isfinite(out).all()


# ------------------------------------------------------------- content-aware

CONTENT_CASES = [
    (1, 2.0, 0.5),  # a single point
    (7, 1.5, 0.3),  # every row cut by the ends
    (80, 3.0, 0.5),  # typical
    (80, 3.0, 1e-3),  # σᵥ tiny: weights collapse onto the diagonal
    (80, 0.1, 1.0),  # radius 0: the identity
    (80, 4.0, np.inf),  # σᵥ = inf: plain Gaussian
]


@pytest.mark.parametrize(("n", "sigma_t", "sigma_v"), CONTENT_CASES)
def test_content_aware_rows_sum_to_one(n: int, sigma_t: float, sigma_v: float) -> None:
    w = content_aware_weights(_values(n), sigma_t, sigma_v)
    assert np.isfinite(w).all() and np.all(w >= 0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("n", "sigma_t", "sigma_v"), CONTENT_CASES)
def test_banded_content_aware_equals_dense(n: int, sigma_t: float, sigma_v: float) -> None:
    v = _values(n)
    w = content_aware_weights(v, sigma_t, sigma_v)
    np.testing.assert_allclose(content_aware_smooth(v, sigma_t, sigma_v), w @ v, atol=1e-10)
    for i in {0, n // 2, n - 1}:
        np.testing.assert_allclose(content_aware_row(v, i, sigma_t, sigma_v), w[i], atol=1e-14)


@pytest.mark.parametrize(("sigma", "truncate"), [(1.0, 4.0), (3.0, 2.0), (12.0, 4.0)])
def test_infinite_sigma_v_is_gaussian(sigma: float, truncate: float) -> None:
    v = _values(60)
    np.testing.assert_allclose(
        content_aware_weights(v, sigma, np.inf, truncate), gaussian_weights(60, sigma, truncate), atol=1e-15
    )
    np.testing.assert_allclose(content_aware_smooth(v, sigma, np.inf, truncate), smooth(v, sigma, truncate), atol=1e-12)


def test_huge_sigma_v_approaches_gaussian() -> None:
    v = _values(60)
    np.testing.assert_allclose(content_aware_weights(v, 2.0, 1e9), gaussian_weights(60, 2.0), atol=1e-12)


def test_tiny_sigma_v_gives_identity() -> None:
    v = np.arange(20.0)  # neighbours differ by 1 ≫ σᵥ
    np.testing.assert_allclose(content_aware_weights(v, 3.0, 1e-3), np.eye(20), atol=1e-12)


def test_content_aware_keeps_a_step_edge_sharp() -> None:
    clean, noisy = _noisy_step(200, noise=0.1)
    near_edge = slice(90, 110)
    gauss_err = np.abs(smooth(noisy, 4.0) - clean)[near_edge].max()
    aware_err = np.abs(content_aware_smooth(noisy, 4.0, 0.3) - clean)[near_edge].max()
    assert gauss_err > 0.35  # the Gaussian blurs the jump across ±σ
    assert aware_err < 0.15  # the content term refuses to average across it
    # Away from the edge both still remove noise.
    flat = slice(20, 80)
    assert np.abs(content_aware_smooth(noisy, 4.0, 0.3) - clean)[flat].std() < 0.5 * np.abs(noisy - clean)[flat].std()


def test_content_aware_row_ignores_the_other_side_of_an_edge() -> None:
    clean, noisy = _noisy_step(100, noise=0.05)
    row = content_aware_row(noisy, 49, 5.0, 0.2)  # last point before the jump at 50
    assert row[50:].sum() < 1e-3
    assert weight_row(100, 49, 5.0)[50:].sum() > 0.4


def test_content_aware_long_series_is_banded() -> None:
    v = _values(50_000)
    out = content_aware_smooth(v, 3.0, 1.0)  # dense would be 20 GB
    assert out.shape == v.shape and np.isfinite(out).all()


def test_extreme_values_give_no_nan() -> None:
    v = np.array([0.0, 1e300, -1e300, 5.0, 1e300])
    for sigma_v in (1e-3, 1.0, np.inf):
        out = content_aware_smooth(v, 2.0, sigma_v)
        assert np.isfinite(content_aware_weights(v, 2.0, sigma_v)).all()
        assert not np.isnan(out).any()


# ---------------------------------------------------------------- downsample


def test_downsample_known_small_matrix() -> None:
    w = np.arange(25.0).reshape(5, 5)
    small, rows, cols = downsample_matrix(w, max_size=2)  # blocks of 3: [0, 3) and [3, 5)
    np.testing.assert_array_equal(rows, [0, 3])
    np.testing.assert_array_equal(cols, [0, 3])
    expected = np.array(
        [
            [w[:3, :3].mean(), w[:3, 3:].mean()],
            [w[3:, :3].mean(), w[3:, 3:].mean()],
        ]
    )
    np.testing.assert_allclose(small, expected)


def test_downsample_small_matrix_is_unchanged() -> None:
    w = gaussian_weights(30, 2.0)
    small, rows, cols = downsample_matrix(w, max_size=200)
    assert small is w
    np.testing.assert_array_equal(rows, np.arange(30))
    np.testing.assert_array_equal(cols, np.arange(30))


@pytest.mark.parametrize(
    ("n", "max_size", "blocks"),
    [
        (201, 200, 101),  # blocks of 2, the last holds 1 step
        (400, 200, 200),  # blocks of 2 exactly
        (1000, 7, 7),  # blocks of 143, the last holds 142
        (20_000, 200, 200),  # blocks of 100
    ],
)
def test_downsample_shapes(n: int, max_size: int, blocks: int) -> None:
    small, rows, cols = downsampled_gaussian_weights(n, 3.0, max_size=max_size)
    assert small.shape == (blocks, blocks) and blocks <= max_size
    assert rows[0] == 0 and rows[-1] < n and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, cols)
    # Each block row holds its rows' average mass over the columns.
    lengths = np.diff(np.append(cols, n))
    np.testing.assert_allclose(small @ lengths, 1.0, atol=1e-12)


@pytest.mark.parametrize(
    ("n", "sigma", "max_size"),
    [
        (53, 2.0, 7),  # blocks of 8, radius 8 spans two blocks
        (53, 0.1, 7),  # identity matrix
        (97, 30.0, 10),  # radius 120 beyond the series
        (300, 1.5, 200),  # blocks of 2
        (40, 3.0, 40),  # small enough: unchanged
        (2001, 3.0, 200),  # blocks of 11, the last one only 10 long
        (450, 40.0, 200),  # radius 120 spans 40 blocks of 3 on either side
        (23, 0.7, 4),  # four blocks of 6 and a short fifth; radius 3 reaches one block over
    ],
)
def test_downsampled_weights_equal_downsampled_dense(n: int, sigma: float, max_size: int) -> None:
    v = _values(n, seed=3)
    dense_g = downsample_matrix(gaussian_weights(n, sigma), max_size)
    fast_g = downsampled_gaussian_weights(n, sigma, max_size=max_size)
    for sigma_v in (0.7, np.inf):
        dense_c = downsample_matrix(content_aware_weights(v, sigma, sigma_v), max_size)
        fast_c = downsampled_content_aware_weights(v, sigma, sigma_v, max_size=max_size)
        np.testing.assert_allclose(fast_c[0], dense_c[0], atol=1e-14)
        np.testing.assert_array_equal(fast_c[1], dense_c[1])
    np.testing.assert_allclose(fast_g[0], dense_g[0], atol=1e-14)
    np.testing.assert_array_equal(fast_g[1], dense_g[1])
    np.testing.assert_array_equal(fast_g[2], dense_g[2])


def test_downsampled_weights_are_the_same_in_small_chunks(monkeypatch) -> None:
    v = _values(500, seed=5)
    whole_c = downsampled_content_aware_weights(v, 6.0, 0.5, max_size=50)[0]
    whole_g = downsampled_gaussian_weights(500, 6.0, max_size=50)[0]
    monkeypatch.setattr("qkv_core.smoothing._CHUNK_CELLS", 100)  # a few rows per chunk
    np.testing.assert_allclose(downsampled_content_aware_weights(v, 6.0, 0.5, max_size=50)[0], whole_c, atol=1e-15)
    np.testing.assert_allclose(downsampled_gaussian_weights(500, 6.0, max_size=50)[0], whole_g, atol=1e-15)


def test_downsampled_weights_never_form_the_full_matrix() -> None:
    """Banded work only: peak memory stays far below the 3.2 GB a 20,000 × 20,000 matrix would take."""
    import tracemalloc

    v = _values(20_000)
    tracemalloc.start()
    try:
        downsampled_gaussian_weights(20_000, 5.0)
        downsampled_content_aware_weights(v, 5.0, 1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20


def test_downsampled_long_series_stays_small() -> None:
    v = _values(20_000)
    small, rows, _ = downsampled_content_aware_weights(v, 5.0, 1.0)
    assert small.shape == (200, 200)
    np.testing.assert_allclose(small @ np.diff(np.append(rows, 20_000)), 1.0, atol=1e-12)


# -------------------------------------------------------------------- errors

BAD_GAUSSIAN_ARGS = [
    (dict(sigma=0.0), "sigma"),  # zero width
    (dict(sigma=-1.0), "sigma"),  # negative width
    (dict(sigma=np.nan), "sigma"),  # NaN
    (dict(sigma=np.inf), "sigma"),  # infinite width is not a Gaussian
    (dict(sigma="2"), "sigma"),  # a string is not a number
    (dict(truncate=0.0), "truncate"),  # no kernel at all
    (dict(truncate=-4.0), "truncate"),  # negative
    (dict(truncate=np.inf), "truncate"),  # unbounded radius
    (dict(sigma=1e200, truncate=1e200), "too large"),  # radius overflows
]


@pytest.mark.parametrize(("kwargs", "word"), BAD_GAUSSIAN_ARGS)
def test_gaussian_argument_errors(kwargs: dict, word: str) -> None:
    args = dict(sigma=2.0, truncate=4.0) | kwargs
    v = _values(10)
    for call in (
        lambda: gaussian_weights(10, **args),
        lambda: smooth(v, **args),
        lambda: weight_row(10, 0, **args),
        lambda: downsampled_gaussian_weights(10, **args),
        lambda: content_aware_smooth(v, args["sigma"], 1.0, args["truncate"]),
    ):
        with pytest.raises(ValueError, match=word):
            call()


@pytest.mark.parametrize(
    ("n", "word"),
    [
        (0, "n must be an integer >= 1"),  # empty
        (-3, "n must be an integer >= 1"),  # negative
        (2.5, "n must be an integer"),  # not whole
        (True, "n must be an integer"),  # bool is not a length
    ],
)
def test_bad_length(n: object, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        gaussian_weights(n, 1.0)
    with pytest.raises(ValueError, match=word):
        downsampled_gaussian_weights(n, 1.0)


@pytest.mark.parametrize(
    ("values", "word"),
    [
        ([], "empty"),  # nothing to smooth
        ([1.0, np.nan, 2.0], "finite"),  # NaN
        ([1.0, np.inf], "finite"),  # inf
        (np.ones((3, 3)), "1-D"),  # a matrix
        (5.0, "1-D"),  # a scalar
        (["a", "b"], "real numbers"),  # text
        ([1 + 2j, 3j], "real numbers"),  # complex
    ],
)
def test_bad_values(values: object, word: str) -> None:
    for call in (
        lambda: smooth(values, 1.0),
        lambda: content_aware_smooth(values, 1.0, 1.0),
        lambda: content_aware_weights(values, 1.0, 1.0),
        lambda: content_aware_row(values, 0, 1.0, 1.0),
        lambda: downsampled_content_aware_weights(values, 1.0, 1.0),
    ):
        with pytest.raises(ValueError, match=word):
            call()


@pytest.mark.parametrize(
    ("sigma_t", "sigma_v", "word"),
    [
        (0.0, 1.0, "sigma_t"),  # zero time width
        (np.inf, 1.0, "sigma_t"),  # infinite time width is refused (only σᵥ may be inf)
        (1.0, 0.0, "sigma_v"),  # zero value width
        (1.0, -np.inf, "sigma_v"),  # negative infinity
        (1.0, np.nan, "sigma_v"),  # NaN
    ],
)
def test_bad_content_widths(sigma_t: float, sigma_v: float, word: str) -> None:
    v = _values(10)
    with pytest.raises(ValueError, match=word):
        content_aware_smooth(v, sigma_t, sigma_v)
    with pytest.raises(ValueError, match=word):
        content_aware_weights(v, sigma_t, sigma_v)


@pytest.mark.parametrize(
    "i",
    [
        -1,  # negative indices are refused, not wrapped
        10,  # one past the end
        1.0,  # a float index
    ],
)
def test_bad_row_index(i: object) -> None:
    with pytest.raises(ValueError, match=r"row index i must be an integer in \[0, 10\)"):
        weight_row(10, i, 1.0)
    with pytest.raises(ValueError, match="row index"):
        content_aware_row(_values(10), i, 1.0, 1.0)


@pytest.mark.parametrize(
    ("w", "max_size", "word"),
    [
        (np.ones(5), 2, "2-D"),  # a vector
        (np.ones((0, 0)), 2, "non-empty"),  # empty matrix
        (np.ones((5, 5)), 0, "max_size"),  # no cells
        (np.ones((5, 5)), 2.5, "max_size"),  # not whole
    ],
)
def test_bad_downsample_args(w: np.ndarray, max_size: object, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        downsample_matrix(w, max_size)


# ---------------------------------------------------------------- focus: the page's one call per kind

FOCUS_CASES = [
    # n, sigma, truncate, t, max_cells
    pytest.param(200, 4.0, 3.0, 78, 200, id="page-default"),  # the page as it opens: W fits, no blocks
    pytest.param(2_000, 12.5, 4.0, 0, 200, id="blocks-first-step"),  # 10-step blocks, focus at the very start
    pytest.param(1_999, 50.0, 6.0, 1_998, 200, id="wide-last-step"),  # radius 300, uneven last block
    pytest.param(30, 40.0, 6.0, 15, 200, id="radius-clipped"),  # r clipped to T - 1
]


@pytest.mark.parametrize(("n", "sigma", "truncate", "t", "max_cells"), FOCUS_CASES)
def test_focus_is_the_separate_calls(n: int, sigma: float, truncate: float, t: int, max_cells: int) -> None:
    """Every field equals what the public functions give one by one, bit for bit."""
    v = _values(n, seed=n)
    f = focus(v, sigma, truncate, t, max_cells)
    r = min(kernel_radius(sigma, truncate), n - 1)
    assert f.radius == r and f.spread == float(np.std(v))
    np.testing.assert_array_equal(f.smoothed, smooth(v, sigma, truncate))
    np.testing.assert_array_equal(f.row, weight_row(n, t, sigma, truncate))
    assert f.reach == np.count_nonzero(f.row)
    assert f.window == window(n, t, 2 * (r + max(5, r // 2)) + 1)
    small, starts, _ = downsampled_gaussian_weights(n, sigma, truncate, max_cells)
    np.testing.assert_array_equal(f.matrix, small)
    np.testing.assert_array_equal(f.starts, starts)
    for tolerance in (0.05, 0.3, 3.0):
        a = content_aware_focus(f, tolerance)
        sigma_v = tolerance * f.spread
        assert a.sigma_v == sigma_v
        np.testing.assert_array_equal(a.smoothed, content_aware_smooth(v, sigma, sigma_v, truncate))
        np.testing.assert_array_equal(a.row, content_aware_row(v, t, sigma, sigma_v, truncate))
        small, _, _ = downsampled_content_aware_weights(v, sigma, sigma_v, truncate, max_cells)
        np.testing.assert_array_equal(a.matrix, small)
        assert a.gap == np.abs(a.smoothed - f.smoothed).max()
        assert a.weight_max == max(f.row.max(), a.row.max())


@pytest.mark.parametrize(("n", "sigma", "truncate", "clipped"), [
    (200, 4.0, 3.0, 24),      # r = 12: the first and last 12 rows
    (200, 50.0, 3.0, 200),    # r = 150 > T / 2: every row reaches past an end
    (200, 0.5, 0.5, 0),       # r = 0: each point keeps only itself, nothing to clip
    (30, 40.0, 6.0, 30),      # r clipped to T - 1
    (101, 25.0, 2.0, 100),    # r = 50: all but the middle row
])
def test_focus_counts_the_rows_an_end_cuts(n: int, sigma: float, truncate: float, clipped: int) -> None:
    """A row is clipped when its bump has fewer than 2r + 1 taps in W (an end of the series cut it)."""
    f = focus(_values(n), sigma, truncate, 0)
    taps = np.count_nonzero(gaussian_weights(n, sigma, truncate), axis=1)  # (T,)
    assert f.clipped == clipped == np.count_nonzero(taps < 2 * f.radius + 1)


def test_focus_of_a_flat_series_measures_tolerance_in_units_of_one() -> None:
    """A constant series has spread 0: σᵥ is then the tolerance itself, and both lines equal the series."""
    f = focus(np.full(50, 3.0), 2.0, 4.0, 10)
    assert f.spread == 1.0
    a = content_aware_focus(f, 0.5)
    assert a.sigma_v == 0.5 and a.gap == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ((_values(10), 0.0, 4.0, 0), "sigma"),  # no width
        ((_values(10), 1.0, 4.0, 10), "row index"),  # past the end
        ((_values(10), 1.0, 4.0, 0, 0), "max_size"),  # no cells
        (([1.0, np.nan], 1.0, 4.0, 0), "finite"),  # NaN in the series
    ],
)
def test_focus_rejects_bad_arguments(args: tuple, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        focus(*args)


def test_content_aware_focus_rejects_a_bad_tolerance() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        content_aware_focus(focus(_values(10), 1.0, 4.0, 0), 0.0)



# ---------------------------------------------------------------- σ doubles: the /smoothing question


def test_sigma_doubling_matches_scipy_when_no_bump_is_cut():
    """Far from the ends, the truncated bump is scipy's: both smoothed values agree with gaussian_filter1d."""
    from qkv_core.smoothing import sigma_doubling

    v = np.random.default_rng(3).standard_normal(400)
    d = sigma_doubling(v, 5.0, 3.0, 200)
    assert d.before == pytest.approx(gaussian_filter1d(v, 5.0, truncate=3.0, mode="constant")[200], abs=1e-12)
    assert d.after == pytest.approx(gaussian_filter1d(v, 10.0, truncate=3.0, mode="constant")[200], abs=1e-12)
    assert d.raw == v[200] and d.own_after < d.own_before and d.reach_after == 30
    expected = "toward" if abs(d.after - d.raw) < abs(d.before - d.raw) else "away"
    assert d.direction == expected


@pytest.mark.parametrize("values, expected", [
    (np.r_[np.zeros(50), 10.0, np.zeros(50)], "away"),  # a spike: a wider average dilutes it further
    (np.full(101, 3.0), "same"),  # flat: nothing moves
    (np.r_[np.ones(47), np.zeros(3), 1.0, np.zeros(3), np.ones(47)], "toward"),  # near ones low, far ones like it
])
def test_sigma_doubling_direction_cases(values, expected):
    from qkv_core.smoothing import sigma_doubling

    t = len(values) // 2
    assert sigma_doubling(values, 2.0, 4.0, t).direction == expected


@pytest.mark.parametrize("args, message", [
    ((np.zeros(10), 0.0, 3.0, 5), "sigma"),
    ((np.zeros(10), 2.0, 3.0, 10), "must be"),
    ((np.array([1.0, np.nan]), 2.0, 3.0, 0), "finite"),
])
def test_sigma_doubling_refuses_bad_input(args, message):
    from qkv_core.smoothing import sigma_doubling

    with pytest.raises(ValueError, match=message):
        sigma_doubling(*args)

"""/smoothing figures: a page rerun after a σ change, and ``smooth`` at n = 100,000 against scipy."""

from __future__ import annotations

import statistics
import time

import numpy as np

from .common import median_ms

RUNS = 9
N_PAGE = 2_000
N_SMOOTH = 100_000
SIGMA = 10.0


def rerun_ms(runs: int = RUNS) -> float:
    """smoothing_rerun_ms: median AppTest rerun after a σ change on /smoothing at n = N_PAGE.

    Every run moves σ to a new value, so nothing σ-dependent comes from a cache.
    """
    from qkv_ui.pages import SMOOTHING
    from tests.apptest_util import assert_clean, open_page

    at = open_page(SMOOTHING.script, {"n": str(N_PAGE)})
    at.slider(key="sigma").set_value(5.0).run()  # warm-up: imports, templates
    times = []
    for k in range(runs):
        sigma = 6.0 + 0.5 * k  # a new σ every run
        start = time.perf_counter()
        at.slider(key="sigma").set_value(sigma).run()
        times.append((time.perf_counter() - start) * 1000)
        assert_clean(at)
    return statistics.median(times)


def smooth_figures() -> dict[str, float]:
    """smooth_100k_ms and its ratio to scipy.ndimage.gaussian_filter1d, interleaved in one run."""
    from scipy.ndimage import gaussian_filter1d

    from qkv_core.smoothing import smooth

    values = np.random.default_rng(0).standard_normal(N_SMOOTH)
    ours, theirs = [], []
    for _ in range(RUNS):  # interleave to share the machine's noise fairly
        ours.append(median_ms(lambda: smooth(values, SIGMA), runs=3))
        theirs.append(median_ms(lambda: gaussian_filter1d(values, SIGMA), runs=3))
    return {
        "smooth_100k_ms": statistics.median(ours),
        "smooth_100k_scipy_ms": statistics.median(theirs),
        "smooth_vs_scipy_ratio": statistics.median(ours) / statistics.median(theirs),
    }


def run() -> dict[str, float]:
    """All /smoothing figures (medians of RUNS runs)."""
    return {"smoothing_rerun_ms": rerun_ms(), **smooth_figures()}

"""Soak: 1,000 reruns of the real /attention page with changing texts in one process; RSS must level off.

``python -m benchmarks soak``. AppTest runs the app (frame + page, the real scripts) in this
process, with Streamlit's caches shared as in a server; the RSS measured is this process's.
(A real server would need a websocket client per rerun; AppTest exercises the same page code,
caches and session state.) Each rerun types a new text, so every trace is computed afresh; the
view and head change as a visitor would move them. The warm-up types more texts than any of the app's
bounded caches holds (traces, overview tiles: 256 entries each), so they are full and evicting before
the first sample: growth after it is memory the caches do not account for, not the caches filling.

The schedule repeats every 24 reruns (8 text lengths x 3 views), so the caches hold the same mix
of trace sizes at every multiple of 24. RSS is read, after a garbage collection, every 24 reruns
from the end of the warm-up (WARMUP reruns) to the end (RERUNS more). It wanders by a few percent
from sample to sample (allocator pages come and go), so soak_rss_growth_pct compares the median of
the first EDGE samples with the median of the last EDGE. Goal: <= 5 %.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time

from qkv_ui.charts.raster import TILE_CACHE_ENTRIES
from qkv_ui.model import TRACE_MAX_ENTRIES

from .common import rss_mb

SAMPLE_EVERY = 24
# Enough new texts to fill the largest bounded cache, rounded up to whole schedules (see below): 264.
WARMUP = -(-(max(TRACE_MAX_ENTRIES, TILE_CACHE_ENTRIES) + 1) // SAMPLE_EVERY) * SAMPLE_EVERY
RERUNS = 1_008  # 42 full schedules: "1,000 reruns", ending at the same point of the schedule as the warm-up
EDGE = 8  # samples at each end whose medians are compared
LENGTHS = (3, 6, 10, 16, 24, 36, 50, 70)  # words per text: a word to a paragraph
VIEWS = ("map", "steps", "heads")
WORDS = ("the model reads every word and asks which other words matter for its meaning so it mixes their "
         "values with weights that queries and keys decide in each head of each layer").split()


def _text(i: int) -> str:
    """The i-th text: unique (it carries i), its length set by the schedule."""
    n = LENGTHS[i % len(LENGTHS)]
    body = " ".join(WORDS[(i + k * 7) % len(WORDS)] for k in range(n))
    return f"{body} {i}"


def _rerun(at, i: int) -> None:
    view = VIEWS[(i // len(LENGTHS)) % len(VIEWS)]
    if at.button_group(key="view").value != view:
        at.button_group(key="view").set_value(view)
    at.text_area(key="text").set_value(_text(i))
    at.slider(key="head").set_value(1 + i % 12)
    at.run()
    if at.exception:
        raise RuntimeError(f"rerun {i}: {at.exception[0].value}")


def _rss() -> float:
    gc.collect()
    return rss_mb(os.getpid())


def run(reruns: int = RERUNS, warmup: int = WARMUP) -> dict[str, float]:
    """soak_rss_growth_pct and the RSS it compares, over ``reruns`` reruns after ``warmup``."""
    from qkv_ui.pages import ATTENTION
    from tests.apptest_util import open_page

    at = open_page(ATTENTION.script)
    for i in range(warmup):
        _rerun(at, i)
    samples, busy, cpu = [_rss()], 0.0, 0.0
    for i in range(warmup, warmup + reruns):
        started, cpu_started = time.perf_counter(), time.process_time()
        _rerun(at, i)
        busy += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        if (i + 1 - warmup) % SAMPLE_EVERY == 0:
            samples.append(_rss())
    print("  RSS every", SAMPLE_EVERY, "reruns (MB):", " ".join(f"{s:.0f}" for s in samples))
    start_mb, end_mb = statistics.median(samples[:EDGE]), statistics.median(samples[-EDGE:])
    return {
        "soak_reruns": reruns,
        "soak_rerun_ms": 1000 * busy / reruns,
        "soak_rerun_cpu_ms": 1000 * cpu / reruns,  # CPU time: what a rerun costs, however busy the machine
        "soak_rss_mb_start": start_mb,
        "soak_rss_mb_end": end_mb,
        "soak_rss_mb_max": max(samples),
        "soak_rss_growth_pct": 100 * (end_mb - start_mb) / start_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=RERUNS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    args = parser.parse_args()
    print(json.dumps(run(args.reruns, args.warmup), indent=2))


if __name__ == "__main__":
    main()

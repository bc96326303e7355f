"""Soak: 1,000 reruns of the real /attention page with changing texts in one process; RSS must level off.

``python -m benchmarks soak``. AppTest runs the app (frame + page, the real scripts) in this
process, with Streamlit's caches shared as in a server; the RSS measured is this process's.
(A real server would need a websocket client per rerun; AppTest exercises the same page code,
caches and session state.) Each rerun types a new text, so every trace is computed afresh and
the bounded caches keep evicting; the view and head change as a visitor would move them.

The schedule repeats every 24 reruns (8 text lengths x 3 views), so the caches hold the same mix
of trace sizes at every multiple of 24. RSS is read, after a garbage collection, at the end of the
warm-up (WARMUP reruns, a multiple of 24) and at the end (RERUNS more, also a multiple of 24):
soak_rss_growth_pct compares those two. Goal: <= 5 %.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time

from .common import rss_mb

WARMUP = 120
RERUNS = 1_008  # 42 full schedules: "1,000 reruns", ending at the same point of the schedule as the warm-up
SAMPLE_EVERY = 48
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
    start_mb, started = _rss(), time.perf_counter()
    samples = [start_mb]
    for i in range(warmup, warmup + reruns):
        _rerun(at, i)
        if (i + 1 - warmup) % SAMPLE_EVERY == 0:
            samples.append(_rss())
    end_mb = _rss()
    elapsed = time.perf_counter() - started
    print("  RSS every", SAMPLE_EVERY, "reruns (MB):", " ".join(f"{s:.0f}" for s in samples))
    return {
        "soak_reruns": reruns,
        "soak_rerun_ms": 1000 * elapsed / reruns,
        "soak_rss_mb_start": start_mb,
        "soak_rss_mb_end": end_mb,
        "soak_rss_mb_max": max(samples + [end_mb]),
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

"""/lookup figures: how long a rerun takes after the two controls people move most.

Both are AppTest reruns of the whole app (frame + page) with the model already loaded,
so they measure the page's own work: a temperature change should reuse every cached
embedding (goal <= 30 ms); a new query embeds that one query (goal <= 60 ms).
"""

from __future__ import annotations

import itertools

from qkv_ui.pages import LOOKUP
from tests.apptest_util import open_page

from .common import median_ms

RUNS = 9
TEMPERATURES = (0.01, 0.1, 1.0, 100.0)  # each rerun moves to the next stop, so every run changes T
QUERIES = ("funny kittens", "how to make dinner fast", "space and stars", "learn the guitar", "homemade bread")


def run() -> dict[str, float]:
    """lookup_rerun_temp_ms and lookup_rerun_query_ms: median AppTest rerun times in milliseconds."""
    at = open_page(LOOKUP.script)  # loads the model and embeds the preset's keys once
    assert not at.exception, [e.value for e in at.exception]

    temps = itertools.cycle(TEMPERATURES)
    slider = lambda: at.select_slider(key="temp")  # noqa: E731 - the element is found afresh after each run
    temp_ms = median_ms(lambda: slider().set_value(next(temps)).run(), runs=RUNS, warmup=2)

    # every query is new to the cache (a counter suffix), so each run embeds one query afresh
    fresh = (f"{q} {i}" for i, q in enumerate(itertools.cycle(QUERIES)))
    query_ms = median_ms(lambda: at.text_input(key="q").input(next(fresh)).run(), runs=RUNS, warmup=2)
    assert not at.exception, [e.value for e in at.exception]
    return {"lookup_rerun_temp_ms": temp_ms, "lookup_rerun_query_ms": query_ms}

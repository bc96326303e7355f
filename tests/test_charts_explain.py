"""The explain view's chart builders: the knockout grid marks exactly the heads that are off, bars keep their data."""

from __future__ import annotations

import numpy as np
import pytest

from qkv_ui import charts


def test_head_grid_greys_exactly_the_heads_that_are_off_and_names_them_1_based():
    importance = np.arange(8, dtype=float).reshape(2, 4) / 100  # (L=2, H=4)
    spec = charts.head_grid(importance, {(1, 2)})
    grid = spec["datasets"]["grid"].to_pylist()
    off = [(g["layer"], g["head"]) for g in grid if g["off"]]
    assert off == [(2, 3)]  # 0-based (1, 2) is layer 2, head 3
    assert [g["label"] for g in grid if g["off"]] == ["layer 2, head 3: off"]
    assert [g["value"] for g in grid] == pytest.approx(importance.ravel().tolist())
    cells = spec["datasets"]["cells"].to_pylist()
    assert len(cells) == 8 and cells[6]["value"] == pytest.approx(0.06)
    selection = [p for p in spec["params"] if p.get("select")]  # altair lifts it to the top
    assert [p["select"]["fields"] for p in selection] == [["row", "col"]]  # a click names one head


def test_head_grid_refuses_a_non_grid():
    with pytest.raises(ValueError, match="must be \\(L, H\\)"):
        charts.head_grid(np.zeros(4), set())


def test_explanation_bars_scale_each_row_to_its_largest_and_keep_the_order():
    spec = charts.explanation_bars([np.array([1.0, 3.0]), np.array([0.2, 0.1])], ["yardstick", "other"], ["a", "b"])
    rows = spec["datasets"]["bars"].to_pylist()
    assert [(r["rank"], r["label"], round(r["value"], 3)) for r in rows] == [
        (0, "a", 0.333), (0, "b", 1.0), (1, "a", 1.0), (1, "b", 0.5)]
    names = next(p["value"] for p in spec["params"] if p["name"] == "bar_names")
    assert names == ["yardstick", "other"]


def test_token_bars_of_a_long_text_keep_the_largest():
    values = np.arange(100, dtype=float)
    spec = charts.token_bars(values, [f"t{i}" for i in range(100)], "1 − cosine", max_bars=5)
    assert [r["pos"] for r in spec["datasets"]["bars"].to_pylist()] == [99, 98, 97, 96, 95]

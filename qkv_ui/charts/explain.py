"""Pictures of the /attention explain view: the head knockout grid, per-token bars, explanations side by side.

The grid reuses the heatmap (``matrix.heatmap_chart``) under a layer that marks switched-off heads and
takes the clicks; the bars are plain token-order bar charts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import altair as alt
import numpy as np
import pyarrow as pa

from .matrix import heatmap_chart, heatmap_params, matrix_table
from .palette import BAR_OUTLINE, GREY, SEQUENTIAL
from .template import compiled, filled, names, numbers

MAX_BARS_WIDTH = 660  # px of the explanation rows' plot: with the axis, inside a 1280 px page
GRID_CELL = 32  # px per head in the knockout grid: room for "0.002"


_GRID_DESCRIPTION = ("Head importance: how much switching off one head alone changes the sentence embedding "
                     "(layers down, heads across)")


@compiled(maxsize=8)
def _head_grid_template(n_layers: int, n_heads: int, name: str) -> alt.TopLevelMixin:
    """Layer × head heatmap (dataset ``cells``) under a click layer (dataset ``grid``: row, col, layer, head, off,
    value) that greys out switched-off heads; clicking a cell selects its (row, col) as selection ``name``."""
    base = heatmap_chart((n_layers, n_heads), "cells", row_title="layer", col_title="head",
                         value_title="1 − cosine", show_numbers=True, number_format=".3f", scheme=SEQUENTIAL,
                         cell=GRID_CELL, label_angle=0, description=_GRID_DESCRIPTION)
    # One mark per head over the heatmap: see-through where the head is on, grey where it is off. It sits on
    # top, so it takes the clicks (a mark drawn over the cells would otherwise swallow them), and draws the axes.
    over = alt.Chart(alt.NamedData("grid")).mark_rect(fill=GREY, stroke=BAR_OUTLINE, cursor="pointer").encode(
        x=alt.X("col:O", title="head"), y=alt.Y("row:O", title="layer"),  # the heatmap's axes
        opacity=alt.condition("datum.off", alt.value(1.0), alt.value(0.0)),
        description=alt.Description("label:N"),  # what a screen reader says: "layer 6, head 12: on"
        tooltip=[alt.Tooltip("layer:O"), alt.Tooltip("head:O"), alt.Tooltip("state:N", title="now"),
                 alt.Tooltip("value:Q", title="1 − cosine alone", format=".4f")],
    ).add_params(alt.selection_point(name=name, fields=["row", "col"], on="click", clear=False))
    size = {k: base.to_dict(validate=False)[k] for k in ("width", "height")}  # at the top: a projector caps it
    return alt.layer(base, over).properties(**size, description=_GRID_DESCRIPTION)  # the chart's label on the page


def head_grid(importance: np.ndarray, off: Collection[tuple[int, int]], name: str = "toggle") -> dict:
    """Every head's importance (L, H) as a clickable grid; heads in ``off`` (0-based (layer, head)) drawn grey."""
    imp = np.asarray(importance, dtype=float)
    if imp.ndim != 2:
        raise ValueError(f"importance must be (L, H), got shape {imp.shape}")
    n_layers, n_heads = imp.shape
    rows = [str(i + 1) for i in range(n_layers)]
    cols = [str(j + 1) for j in range(n_heads)]
    row, col = np.divmod(np.arange(imp.size), n_heads)  # (L * H,) each, layer-major like imp.ravel()
    is_off = np.array([(int(r), int(c)) in off for r, c in zip(row, col)], dtype=bool)
    label = [f"layer {r + 1}, head {c + 1}: {'off' if o else 'on'}" for r, c, o in zip(row, col, is_off)]
    grid = pa.table({"row": row, "col": col, "layer": row + 1, "head": col + 1, "off": is_off, "label": label,
                     "state": names(is_off.astype(np.int32), ["on", "off"]), "value": numbers(imp.ravel())})
    return filled(_head_grid_template(n_layers, n_heads, name), heatmap_params("cells", imp, rows, cols),
                  cells=matrix_table(imp, rows, cols), grid=grid)


@compiled(maxsize=8)
def _token_bars_template(value_title: str, by_value: bool) -> alt.TopLevelMixin:
    """Bars per token (dataset ``bars``: pos, label, value), in text order or largest first."""
    sort = alt.EncodingSortField("value", order="descending") if by_value else alt.EncodingSortField("pos")
    return alt.Chart(alt.NamedData("bars")).mark_bar(stroke=BAR_OUTLINE, strokeWidth=1).encode(
        x=alt.X("label:N", sort=sort, title="token", axis=alt.Axis(labelAngle=-60, labelLimit=120)),
        y=alt.Y("value:Q", title=value_title),
        color=alt.Color("value:Q", scale=alt.Scale(scheme=SEQUENTIAL, zero=True), legend=None),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("label:N", title="token"),
                 alt.Tooltip("value:Q", title=value_title, format=".4f")],
    ).properties(width="container", height=200, description=f"{value_title} per token")


def token_bars(values: np.ndarray, labels: Sequence[str], value_title: str, max_bars: int = 48,
               positions: Sequence[int] | None = None) -> dict:
    """One bar per token (in text order; for long texts the ``max_bars`` largest, largest first)."""
    v = np.asarray(values, dtype=float)
    if len(labels) != v.size:
        raise ValueError(f"{len(labels)} labels do not fit {v.size} values")
    pos = np.arange(v.size) if positions is None else np.asarray(positions)
    by_value = v.size > max_bars
    idx = np.argsort(-v, kind="stable")[:max_bars] if by_value else np.arange(v.size)
    bars = pa.table({"pos": pos[idx], "label": [f"{pos[i]}: {labels[i]}" for i in idx], "value": numbers(v[idx])})
    return filled(_token_bars_template(value_title, by_value), bars=bars)


@compiled(maxsize=16)
def _explanation_bars_template(n_rows: int, width: int, thin_labels: bool) -> alt.TopLevelMixin:
    """Small multiples: one bar row per explanation (dataset ``bars``: rank, name, pos, label, value)."""
    return alt.Chart(alt.NamedData("bars")).mark_bar(stroke=BAR_OUTLINE, strokeWidth=0.5).encode(
        x=alt.X("pos:O", title=None, axis=alt.Axis(labelExpr="bar_labels[datum.value]", labelAngle=-60,
                                                    labelLimit=100, labelOverlap=thin_labels)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(tickCount=2, format=".0%")),
        color=alt.Color("value:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]), legend=None),
        tooltip=[alt.Tooltip("name:N", title="explanation"), alt.Tooltip("label:N", title="token"),
                 alt.Tooltip("value:Q", title="share of its largest", format=".2f")],
    ).properties(width=width, height=60).facet(
        row=alt.Row("rank:O", title=None, header=alt.Header(labelExpr="bar_names[datum.value]", labelAngle=0,
                                                            labelAnchor="start", labelOrient="top",
                                                            labelFontWeight="bold", labelPadding=2)),
        spacing=18,  # room above each row's title: it reads as the row below's, not the row above's
    ).add_params(alt.param(name="bar_labels", value=[]), alt.param(name="bar_names", value=[])).properties(
        description=f"Token importance by {n_rows} definitions, one row each, every row scaled to its largest")


def explanation_bars(scores: Sequence[np.ndarray], row_names: Sequence[str], labels: Sequence[str]) -> dict:
    """One row of bars per explanation (in the order given), each row scaled so its largest bar is 1."""
    rows = [np.clip(np.asarray(s, dtype=float), 0.0, None) for s in scores]
    if len(rows) != len(row_names) or any(r.size != len(labels) for r in rows):
        raise ValueError(f"{len(rows)} score rows, {len(row_names)} names and {len(labels)} labels do not fit")
    scaled = [r / r.max() if r.size and r.max() > 0 else r for r in rows]
    n = len(labels)
    bars = pa.table({"rank": np.repeat(np.arange(len(rows)), n), "name": np.repeat(list(row_names), n),
                     "pos": np.tile(np.arange(n), len(rows)), "label": list(labels) * len(rows),
                     "value": numbers(np.concatenate(scaled) if scaled else np.zeros(0))})
    width = int(min(MAX_BARS_WIDTH, max(320, 26 * n)))  # a facet cannot take the container's width
    return filled(_explanation_bars_template(len(rows), width, 14 * n > width), {"bar_labels": [str(s) for s in labels],
                                                          "bar_names": [str(s) for s in row_names]}, bars=bars)

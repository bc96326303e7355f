"""Altair chart builders: the presentation layer shared by every page.

One idea, one place: the "weights x values" matrix picture is built here once
(matrix -> tidy DataFrame -> ``mark_rect`` heatmap + optional ``mark_text``
numbers) and reused on every page. Nothing here computes model maths; it only
draws arrays that ``qkv_core`` returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

# Perceptually uniform and colour-blind safe, legible on light and dark themes.
SEQUENTIAL = "viridis"
DIVERGING = "redblue"
MAX_NUMBER_CELLS = 400  # print numbers inside cells only up to this many cells
AXIS_ROOM = 150  # pixels for axis labels and legend around a heatmap


def _label_expr(labels: Sequence[str]) -> str:
    """Vega expression mapping an integer axis value to its label (labels may repeat)."""
    return f"{json.dumps([str(s) for s in labels])}[datum.value]"


def matrix_frame(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str]) -> pd.DataFrame:
    """Tidy (long) frame of a 2-D matrix: one row per cell with indices, labels and value."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {m.shape}")
    n_rows, n_cols = m.shape
    if len(row_labels) != n_rows or len(col_labels) != n_cols:
        raise ValueError(f"labels {len(row_labels)}x{len(col_labels)} do not fit matrix {m.shape}")
    rows, cols = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    return pd.DataFrame(
        {
            "row": rows.ravel(),
            "col": cols.ravel(),
            "row_label": np.asarray([str(s) for s in row_labels], dtype=object)[rows.ravel()],
            "col_label": np.asarray([str(s) for s in col_labels], dtype=object)[cols.ravel()],
            "value": m.ravel(),
        }
    )


def heatmap(
    matrix: np.ndarray,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    row_title: str = "row",
    col_title: str = "column",
    value_title: str = "weight",
    show_numbers: bool | None = None,
    number_format: str = ".2f",
    scheme: str = SEQUENTIAL,
    domain: tuple[float, float] | None = None,
    cell: int = 28,
    max_size: int = 640,
    select_rows: str | None = None,
    description: str | None = None,
) -> alt.Chart:
    """The matrix picture: a labelled heatmap with optional numbers in the cells."""
    m = np.asarray(matrix, dtype=float)
    n_rows, n_cols = m.shape
    row_labels = list(row_labels) if row_labels is not None else [str(i) for i in range(n_rows)]
    col_labels = list(col_labels) if col_labels is not None else [str(j) for j in range(n_cols)]
    data = matrix_frame(m, row_labels, col_labels)
    if show_numbers is None:
        show_numbers = n_rows * n_cols <= MAX_NUMBER_CELLS and cell >= 30
    # Streamlit sizes Vega-Lite charts to fit: width/height include axes and legend, so add room
    # for them (AXIS_ROOM) on top of the cells. Titles stay short: a title wider than the chart
    # squeezes the plot.
    width = min(max_size, cell * n_cols) + AXIS_ROOM
    height = min(max_size, cell * n_rows) + AXIS_ROOM
    label_limit = 110

    color_scale = alt.Scale(scheme=scheme, domain=list(domain) if domain else alt.Undefined)
    if scheme == DIVERGING and domain is None:
        bound = float(np.nanmax(np.abs(m))) if m.size else 1.0
        color_scale = alt.Scale(scheme=scheme, domain=[-bound, bound], reverse=True)

    x_axis = alt.Axis(
        labelExpr=_label_expr(col_labels), labelAngle=-60, labelLimit=label_limit,
        labelOverlap=n_cols > 40, orient="top",
    )
    y_axis = alt.Axis(labelExpr=_label_expr(row_labels), labelLimit=label_limit, labelOverlap=n_rows > 40)
    base = alt.Chart(data).encode(
        x=alt.X("col:O", title=col_title, axis=x_axis),
        y=alt.Y("row:O", title=row_title, axis=y_axis),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("value:Q", title=value_title, scale=color_scale),
        tooltip=[
            alt.Tooltip("row_label:N", title=row_title),
            alt.Tooltip("col_label:N", title=col_title),
            alt.Tooltip("value:Q", title=value_title, format=".4f"),
        ],
    )
    if select_rows is not None:  # clicking a cell selects its whole row (by row index)
        rect = rect.add_params(alt.selection_point(name=select_rows, fields=["row"], on="click", clear=False))
    chart = rect
    if show_numbers:
        mid = float(np.nanmean(m)) if m.size else 0.0
        text = base.mark_text(fontSize=11).encode(
            text=alt.Text("value:Q", format=number_format),
            color=alt.condition(f"datum.value > {mid}", alt.value("black"), alt.value("white")),
        )
        if scheme == DIVERGING:
            text = base.mark_text(fontSize=11, color="black").encode(text=alt.Text("value:Q", format=number_format))
        chart = alt.layer(rect, text)
    return chart.properties(
        width=width, height=height, title=title or alt.Undefined, description=description or title or "heatmap"
    )


def product_diagram(
    weights: np.ndarray, values: np.ndarray, output: np.ndarray, labels: Sequence[str]
) -> alt.HConcatChart:
    """Three heatmaps side by side: weights W, values v and output W·v."""
    n = len(labels)
    w_chart = heatmap(
        weights, labels, labels, title="weights W (rows sum to 1)", row_title="output step",
        col_title="input step", cell=34, description="Weight matrix: row i says how much each input counts for output i",
    )
    col = ["value"]
    v_chart = heatmap(
        np.asarray(values).reshape(n, 1), labels, col, title="values v", row_title="input step",
        col_title="", value_title="value", scheme="blues", cell=34, description="The input values",
    )
    o_chart = heatmap(
        np.asarray(output).reshape(n, 1), labels, col, title="output = W · v", row_title="output step",
        col_title="", value_title="value", scheme="blues", cell=34,
        description="Each output is the weighted average of the values, using one row of W",
    )
    return alt.hconcat(w_chart, v_chart, o_chart).resolve_scale(color="independent")


# --------------------------------------------------------------------------------------
# /attention
# --------------------------------------------------------------------------------------


def attention_overview(blocks: np.ndarray, selected: tuple[int, int], name: str = "pick") -> alt.FacetChart:
    """Every layer x head as a small map (rows: layers, columns: heads); click one to select it.

    blocks (L, H, b, b) as returned by ``qkv_core.heads.overview_blocks``; ``selected``
    is the 0-based (layer, head) drawn at full opacity.
    """
    n_layers, n_heads, b, _ = blocks.shape
    layer, head, q, k = np.meshgrid(*(np.arange(s) for s in blocks.shape), indexing="ij")
    data = pd.DataFrame({
        "layer": layer.ravel() + 1, "head": head.ravel() + 1, "q": q.ravel(), "k": k.ravel(),
        "share": blocks.ravel(),
    })
    data["selected"] = (data["layer"] == selected[0] + 1) & (data["head"] == selected[1] + 1)
    pick = alt.selection_point(name=name, fields=["layer", "head"], on="click", clear=False)
    size = 44
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("k:O", axis=None),
            y=alt.Y("q:O", axis=None),
            color=alt.Color("share:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1], type="sqrt"),
                            title="share of attention"),
            opacity=alt.condition("datum.selected", alt.value(1.0), alt.value(0.6)),
            tooltip=[alt.Tooltip("layer:O"), alt.Tooltip("head:O"), alt.Tooltip("share:Q", format=".2f")],
        )
        .add_params(pick)
        .properties(width=size, height=size)
        .facet(
            row=alt.Row("layer:O", title="layer", header=alt.Header(labelAngle=0)),
            column=alt.Column("head:O", title="head"),
            spacing=4,
        )
        .properties(
            title="All heads: click one to inspect it",
            description="Small attention maps for every layer (rows) and head (columns); queries run down, keys across",
        )
    )


def attention_row(weights: np.ndarray, labels: list[str], query_label: str, max_bars: int = 40) -> alt.Chart:
    """One query's attention over the keys as bars: in sentence order when short, else the top keys."""
    weights = np.asarray(weights, dtype=float)
    t = len(weights)
    if t <= max_bars:
        idx = np.arange(t)
        order = "position"
    else:
        idx = np.argsort(-weights, kind="stable")[:max_bars]
        order = "weight"
    data = pd.DataFrame({"pos": idx, "token": [labels[i] for i in idx], "weight": weights[idx]})
    data["label"] = [f"{p}: {tok}" for p, tok in zip(data["pos"], data["token"])]
    sort = alt.EncodingSortField("pos") if order == "position" else alt.EncodingSortField("weight", order="descending")
    title = f"“{query_label}” looks at… (weights sum to 1)"
    if order == "weight":
        title = f"“{query_label}” looks at… its top {max_bars} of {t} keys"
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("label:N", sort=sort, title="key token", axis=alt.Axis(labelAngle=-60, labelLimit=120)),
            y=alt.Y("weight:Q", title="attention weight", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("weight:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]), legend=None),
            tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("token:N"),
                     alt.Tooltip("weight:Q", format=".4f")],
        )
        .properties(width="container", height=220, description=f"Attention weights of query token {query_label}")
    )

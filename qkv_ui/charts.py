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
    selection: alt.Parameter | None = None,
    description: str | None = None,
) -> alt.Chart:
    """The matrix picture: a labelled heatmap with optional numbers in the cells."""
    m = np.asarray(matrix, dtype=float)
    n_rows, n_cols = m.shape
    row_labels = list(row_labels) if row_labels is not None else [str(i) for i in range(n_rows)]
    col_labels = list(col_labels) if col_labels is not None else [str(j) for j in range(n_cols)]
    data = matrix_frame(m, row_labels, col_labels)
    if show_numbers is None:
        show_numbers = n_rows * n_cols <= MAX_NUMBER_CELLS
    width = min(max_size, max(cell * n_cols, 60))
    height = min(max_size, max(cell * n_rows, 24))
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
    base = alt.Chart(data, title=title or alt.Undefined).encode(
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
    if selection is not None:
        rect = rect.add_params(selection).encode(
            opacity=alt.condition(selection, alt.value(1.0), alt.value(0.55))
        )
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
    return chart.properties(width=width, height=height, description=description or title or "heatmap")


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

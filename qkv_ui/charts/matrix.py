"""Matrix pictures: the heatmap, alone or as a panel of the weights × values diagrams, and vectors as strips.

One idea, one place: the "weights × values" matrix picture is built by ``heatmap_chart`` once
(matrix -> Arrow cells -> ``mark_rect`` heatmap + optional ``mark_text`` numbers) and used by
every page: standalone (``heatmap``), as a panel (``product_diagram``, ``blend_diagram``) and
under the markings of ``weight_matrix``. A heatmap's labels and number threshold are params and
its cells a dataset, so its layout depends only on its shape and options.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

import altair as alt
import numpy as np
import pyarrow as pa

from qkv_ui.phone import on_phone

from .bars import MAX_LOOKUP_ROWS, top_rows
from .palette import (DIVERGING, FOCUS_COLOR, LIGHT_HIGH_SCHEMES, NUMBER_FLIP_AT, NUMBER_ON_DARK, NUMBER_ON_LIGHT,
                      SEQUENTIAL, VALUES_SCHEME, VECTOR_SCHEME)
from .raster import OVERVIEW_MIN_PIXELS, png_data_url, viridis_quick
from .template import compiled, filled, names, numbers

MAX_NUMBER_CELLS = 400  # print numbers inside cells only up to this many cells
AXIS_ROOM = 150  # pixels for axis labels and legend around a heatmap
LABEL_LIMIT = 110  # pixels of an axis label before it is cut


def matrix_table(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str]) -> pa.Table:
    """Tidy (long) table of a 2-D matrix: one row per cell with row, col, row_label, col_label, value."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {m.shape}")
    n_rows, n_cols = m.shape
    if len(row_labels) != n_rows or len(col_labels) != n_cols:
        raise ValueError(f"labels {len(row_labels)}x{len(col_labels)} do not fit matrix {m.shape}")
    rows, cols = np.divmod(np.arange(m.size), n_cols)  # (n_rows * n_cols,) each, row-major like m.ravel()
    return pa.table({"row": rows, "col": cols, "row_label": names(rows, [str(s) for s in row_labels]),
                     "col_label": names(cols, [str(s) for s in col_labels]), "value": numbers(m.ravel())})


def heatmap_sizes(shape: tuple[int, int], cell: float = 28, row_cell: float | None = None, max_size: int = 640,
                  panel: bool = False) -> dict[str, float | bool]:
    """Everything in a ``heatmap_chart`` layout that depends on its shape: the chart's size, the legend's
    length and whether each axis thins its labels. Standalone, width and height include AXIS_ROOM."""
    n_rows, n_cols = shape
    width = min(max_size, cell * n_cols) + AXIS_ROOM
    height = min(max_size, (row_cell or cell) * n_rows) + AXIS_ROOM
    return dict(
        width=width, height=height,
        chart_width=cell * n_cols if panel else width, chart_height=(row_cell or cell) * n_rows if panel else height,
        gradient=max(80, min(200, height - AXIS_ROOM - 20)),  # a legend taller than the cells gets clipped
        # Labels a cell cannot hold without touching its neighbours' (under ~13 px) are thinned out by Vega.
        x_overlap=n_cols > 40 or width - AXIS_ROOM < 13 * n_cols,
        y_overlap=n_rows > 40 or height - AXIS_ROOM < 13 * n_rows,
    )


def heatmap_chart(
    shape: tuple[int, int], name: str = "cells", *, title: str = "", row_title: str = "row",
    col_title: str = "column", value_title: str = "weight", show_numbers: bool = False, number_format: str = ".2f",
    scheme: str = SEQUENTIAL, domain: tuple[float, float] | None = None, cell: float = 28,
    row_cell: float | None = None, max_size: int = 640, select_rows: str | None = None,
    description: str | None = None, legend: bool = True, row_axis: bool = True, col_axis: bool = True,
    label_angle: float = -60, panel: bool = False, highlight: bool = False,
) -> alt.Chart | alt.LayerChart:
    """The matrix picture's layout: cells from dataset ``name`` (a ``matrix_table``), labels from params.

    Params ``<name>_rows`` and ``<name>_cols`` hold the axis labels, ``<name>_range`` (with numbers) the
    colour scale's [low, high], along which the numbers switch between black and white where the scheme's
    colour is as far from both (``palette.NUMBER_FLIP_AT``): ``heatmap_params`` fills them.
    Standalone, Streamlit sizes a chart to fit, so width and height include AXIS_ROOM for axes
    and legend; a ``panel`` of a concat is not fitted, so its size is its cells alone.
    With ``highlight``, dataset ``<name>_hl`` (row) names the row to outline, its label in bold (no rows: none).
    Data, not a param: moving the highlight updates the chart in place instead of rebuilding it.
    """
    # Titles stay short: a title wider than the chart squeezes the plot.
    sizes = heatmap_sizes(shape, cell, row_cell, max_size, panel)
    gradient = sizes["gradient"]
    rows, cols, span, hl = f"{name}_rows", f"{name}_cols", f"{name}_range", f"{name}_hl"

    color_scale = alt.Scale(scheme=scheme, domain=list(domain) if domain else alt.Undefined)
    if scheme == DIVERGING and domain is None:  # centred on 0 by Vega, whatever data is filled in
        color_scale = alt.Scale(scheme=scheme, domainMid=0, reverse=True)

    x_axis = alt.Axis(labelExpr=f"{cols}[datum.value]", labelAngle=label_angle, labelLimit=LABEL_LIMIT,
                      labelOverlap=sizes["x_overlap"], orient="top") if col_axis else None
    bold = dict(labelFontWeight=alt.expr(f"indata('{hl}', 'row', datum.value) ? 'bold' : 'normal'")) if highlight else {}
    y_axis = alt.Axis(labelExpr=f"{rows}[datum.value]", labelLimit=LABEL_LIMIT,
                      labelOverlap=sizes["y_overlap"], **bold) if row_axis else None
    base = alt.Chart(alt.NamedData(name)).encode(
        x=alt.X("col:O", title=col_title, axis=x_axis),
        y=alt.Y("row:O", title=row_title, axis=y_axis),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("value:Q", title=value_title, scale=color_scale,
                        legend=alt.Legend(gradientLength=gradient) if legend else None),
        tooltip=[
            alt.Tooltip("row_label:N", title=row_title),
            alt.Tooltip("col_label:N", title=col_title),
            alt.Tooltip("value:Q", title=value_title, format=".4f"),
        ],
    )
    if select_rows is not None:  # clicking a cell selects its whole row (by row index)
        rect = rect.add_params(alt.selection_point(name=select_rows, fields=["row"], on="click", clear=False))
    chart = rect.add_params(alt.param(name=rows, value=[]), alt.param(name=cols, value=[]))
    if show_numbers and scheme == DIVERGING:
        chart = alt.layer(chart, base.mark_text(fontSize=11, color=NUMBER_ON_LIGHT).encode(
            text=alt.Text("value:Q", format=number_format)))
    elif show_numbers:
        # Light ends get dark numbers, dark ends light ones: viridis-like schemes are light at the top,
        # sequential single-hue schemes ("blues") dark at the top.
        high, low = ((NUMBER_ON_LIGHT, NUMBER_ON_DARK) if scheme in LIGHT_HIGH_SCHEMES
                     else (NUMBER_ON_DARK, NUMBER_ON_LIGHT))
        flip = f"{span}[0] + {NUMBER_FLIP_AT.get(scheme, 0.5):.4f} * ({span}[1] - {span}[0])"
        text = base.mark_text(fontSize=11).encode(
            text=alt.Text("value:Q", format=number_format),
            color=alt.condition(f"datum.value > {flip}", alt.value(high), alt.value(low)),
        )
        chart = alt.layer(chart, text).add_params(alt.param(name=span, value=[0.0, 1.0]))
    if highlight:  # an outline around the chosen row, drawn over the cells
        outline = alt.Chart(alt.NamedData(hl)).mark_rect(fill=None, stroke=FOCUS_COLOR, strokeWidth=2.5).encode(
            x=alt.value(0), x2=alt.value("width"), y=alt.Y("row:O"))
        chart = alt.layer(chart, outline)
    description = description or title or f"Heatmap of {value_title}: {row_title} down, {col_title} across"
    chart = chart.properties(description=description, width=sizes["chart_width"], height=sizes["chart_height"])
    return chart.properties(title=title) if title else chart  # altair refuses title=Undefined


def numbers_fit(shape: tuple[int, int], cell: float) -> bool:
    """Whether a heatmap of this shape prints its numbers in the cells by default."""
    return shape[0] * shape[1] <= MAX_NUMBER_CELLS and cell >= 30


def label_params(name: str, row_labels: Sequence[str], col_labels: Sequence[str]) -> dict[str, list[str]]:
    """The axis labels of a ``heatmap_chart`` named ``name``, as param values."""
    return {f"{name}_rows": [str(s) for s in row_labels], f"{name}_cols": [str(s) for s in col_labels]}


def heatmap_params(name: str, matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
                   domain: tuple[float, float] | None = None) -> dict[str, object]:
    """The param values of a ``heatmap_chart`` named ``name`` drawing ``matrix``: its labels and colour range."""
    # The numbers' colour follows the cell's: where it flips is a point of the colour scale's domain, which
    # without one is the data's range (Vega's default, min to max). Not the mean: on skewed data (a few large
    # head importances) it sat near the dark end, and black numbers landed on dark cells.
    if domain:
        span = [float(domain[0]), float(domain[1])]
    else:
        m = np.asarray(matrix, dtype=float)
        finite = m[np.isfinite(m)]
        span = [float(finite.min()), float(finite.max())] if finite.size else [0.0, 1.0]
    return {**label_params(name, row_labels, col_labels), f"{name}_range": span}


Panel = tuple[np.ndarray, Sequence[str], Sequence[str], tuple[float, float] | None]  # matrix, rows, cols, domain


def filled_panels(template: dict, panels: dict[str, Panel]) -> dict:
    """A template of ``heatmap_chart`` panels filled: dataset and params of each panel, by its name."""
    wanted = {p["name"] for p in template.get("params", [])}  # a panel without numbers has no range param
    params = {k: v for name, (m, rows, cols, domain) in panels.items()
              for k, v in heatmap_params(name, m, rows, cols, domain).items() if k in wanted}
    tables = {name: matrix_table(m, rows, cols) for name, (m, rows, cols, _) in panels.items()}
    return filled(template, params, **tables)


@compiled(maxsize=64, validate=False)
def _heatmap_layout(options: tuple[tuple[str, object], ...]) -> alt.TopLevelMixin:
    """The standalone heatmap for these options at a 1 x 1 shape: ``_heatmap_template`` writes in the sizes."""
    return heatmap_chart((1, 1), "cells", **dict(options))


@functools.lru_cache(maxsize=256)
def _heatmap_template(shape: tuple[int, int], options: tuple[tuple[str, object], ...]) -> dict:
    """The standalone heatmap for a shape and options, cells from dataset ``cells``.

    A new text length or window is a new shape, and building a layout with Altair took 20-130 ms on
    a 2-core machine: the layout is built once per options and only its ``heatmap_sizes`` change
    here (well under 1 ms). tests/test_charts.py checks the result equals ``heatmap_chart``'s.
    """
    kw = {k: v for k, v in options if k in ("cell", "row_cell", "max_size", "panel")}
    sizes = heatmap_sizes(shape, **kw)
    spec = copy.deepcopy(_heatmap_layout(options))
    spec["width"], spec["height"] = sizes["chart_width"], sizes["chart_height"]

    def resize(view: dict) -> None:
        encoding = view.get("encoding", {})
        for channel, overlap in (("x", sizes["x_overlap"]), ("y", sizes["y_overlap"])):
            axis = encoding.get(channel, {}).get("axis")
            if isinstance(axis, dict) and "labelOverlap" in axis:
                axis["labelOverlap"] = overlap
        legend = encoding.get("color", {}).get("legend")
        if isinstance(legend, dict) and "gradientLength" in legend:
            legend["gradientLength"] = sizes["gradient"]
        for inner in view.get("layer", []):
            resize(inner)

    resize(spec)
    return spec


def heatmap(
    matrix: np.ndarray, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None, *,
    title: str = "", description: str | None = None, highlight_row: int | None = None, **options: object,
) -> dict:
    """The matrix picture: a labelled heatmap with optional numbers in the cells, as a spec for ``st.vega_lite_chart``.

    ``options`` are ``heatmap_chart``'s (row_title, col_title, value_title, show_numbers, scheme,
    domain, cell, ...). Numbers are shown by default in up to MAX_NUMBER_CELLS cells of >= 30 px.
    Title and description are set per call: a text naming the head does not make a new layout.
    ``highlight_row`` outlines that row and bolds its label (dataset ``cells_hl``: moving it keeps the layout).
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {m.shape}")
    n_rows, n_cols = m.shape
    rows = [str(r) for r in row_labels] if row_labels is not None else [str(i) for i in range(n_rows)]
    cols = [str(c) for c in col_labels] if col_labels is not None else [str(j) for j in range(n_cols)]
    if options.get("show_numbers") is None:
        options["show_numbers"] = numbers_fit(m.shape, options.get("cell", 28))
    if options.get("domain") is not None:
        options["domain"] = tuple(options["domain"])
    if highlight_row is not None:
        options["highlight"] = True
    template = _heatmap_template(m.shape, tuple(sorted(options.items())))
    spec = filled_panels(template, {"cells": (m, rows, cols, options.get("domain"))})
    if highlight_row is not None:
        spec["datasets"]["cells_hl"] = pa.table({"row": pa.array([int(highlight_row)] if highlight_row >= 0 else [],
                                                                 pa.int64())})
    if title:
        spec["title"] = title
    if description or title:
        spec["description"] = description or title
    return spec


@compiled(maxsize=8)
def _product_template(n: int, cell: int) -> alt.TopLevelMixin:
    """weights W (n x n) | values v (n x 1) | output W·v (n x 1), datasets ``weights``, ``values``, ``output``."""
    common = dict(cell=cell, legend=False, panel=True)
    w_chart = heatmap_chart((n, n), "weights", title="weights W (rows sum to 1)", row_title="output step",
                            col_title="input step", show_numbers=numbers_fit((n, n), cell), label_angle=0, **common,
                            description="Weight matrix: row i says how much each input counts for output i")
    vector = dict(row_title="", col_title="", value_title="value", scheme=VECTOR_SCHEME, col_axis=False,
                  show_numbers=numbers_fit((n, 1), cell), **common)  # one column: its title names it
    v_chart = heatmap_chart((n, 1), "values", title="values v", description="The input values", **vector)
    o_chart = heatmap_chart((n, 1), "output", title="output = W · v", **vector,
                            description="Each output is the weighted average of the values, using one row of W")
    return alt.hconcat(w_chart, v_chart, o_chart, spacing=24).resolve_scale(color="independent")


def product_diagram(
    weights: np.ndarray, values: np.ndarray, output: np.ndarray, labels: Sequence[str], cell: int = 30
) -> dict:
    """Three heatmaps side by side: weights W, values v and output W·v (numbers in every cell)."""
    n = len(labels)
    return filled_panels(_product_template(n, cell), {
        "weights": (np.asarray(weights, dtype=float), labels, labels, None),
        "values": (np.asarray(values, dtype=float).reshape(n, 1), labels, ["value"], None),
        "output": (np.asarray(output, dtype=float).reshape(n, 1), labels, ["value"], None),
    })


@compiled(maxsize=8)
def _blend_template(n: int, dv: int, lo: float, hi: float) -> alt.TopLevelMixin:
    """weights (n x 1) | values (n x dv) | result (1 x dv) as three heatmap panels.

    Datasets ``w``, ``v``, ``out`` are ``matrix_table``s; values and result share the colour
    domain [lo, hi], so a result cell can be compared with the value cells by colour.
    """
    common = dict(col_title="", cell=32, panel=True)
    w_chart = heatmap_chart((n, 1), "w", domain=(0.0, 1.0), title="weights", row_title="key", value_title="weight",
                            description="Softmax weight of each key", show_numbers=numbers_fit((n, 1), 32), **common)
    values = dict(domain=(lo, hi), value_title="value", scheme=VALUES_SCHEME, **common)
    v_chart = heatmap_chart((n, dv), "v", title="values", row_title="key",
                            row_axis=False,  # the same rows as the weights beside it
                            description="The value stored under each key", show_numbers=numbers_fit((n, dv), 32),
                            **values)
    o_chart = heatmap_chart((1, dv), "out", title="= Σ weight·value", row_title="",
                            description="The soft answer: each column is the weighted sum of that value column",
                            show_numbers=numbers_fit((1, dv), 32), **values)
    return alt.hconcat(w_chart, v_chart, o_chart).resolve_scale(color="independent").properties(
        description="Weights of the keys, the values stored under them, and the result: each result column is "
                    "the weighted sum of that value column")


def blend_diagram(
    weights: np.ndarray, values: np.ndarray, output: np.ndarray, keys: Sequence[str],
    value_labels: Sequence[str], *, order: np.ndarray | None = None, max_rows: int = MAX_LOOKUP_ROWS,
) -> dict:
    """The soft answer as weights × values: weight column, value rows, result = Σ weight · value.

    Rows follow ``order`` (key indices, e.g. best score first, as /lookup's score chart ranks them;
    default: heaviest weight first), the first max_rows of it.
    """
    weights = np.asarray(weights, dtype=float)
    values = np.asarray(values, dtype=float).reshape(weights.size, -1)  # (n, dv)
    idx = top_rows(weights, max_rows) if order is None else np.asarray(order, dtype=int)[:max_rows]
    keys, cols = [str(keys[i]) for i in idx], [str(c) for c in value_labels]
    lo, hi = float(values.min()), float(values.max())
    hi = hi if hi > lo else lo + 1.0  # a constant store still needs a colour range
    return filled_panels(_blend_template(len(keys), len(cols), lo, hi), {
        "w": (weights[idx].reshape(-1, 1), keys, ["weight"], (0.0, 1.0)),
        "v": (values[idx], keys, cols, (lo, hi)),
        "out": (np.asarray(output, dtype=float).reshape(1, -1), ["result"], cols, (lo, hi)),
    })


def block_labels(starts: np.ndarray, n: int) -> tuple[str, ...]:
    """'a–b' for each block of steps a..b (just 'a' for a one-step block)."""
    starts = np.asarray(starts, dtype=np.int64)
    return _block_labels(starts.tobytes(), int(n))  # the same blocks on every σ move: written once


@functools.lru_cache(maxsize=32)
def _block_labels(starts: bytes, n: int) -> tuple[str, ...]:
    """``block_labels`` of int64 starts given as bytes."""
    first = np.frombuffer(starts, dtype=np.int64)  # (B,)
    ends = np.append(first[1:], n) - 1
    return tuple(str(a) if a == b else f"{a}–{b}" for a, b in zip(first.tolist(), ends.tolist()))


def _nice_step(at_least: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``at_least``: a step between axis labels."""
    step = 1
    while step < at_least:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return step


@compiled(maxsize=8)
def _weight_matrix_template(b: int, title: str, select_rows: str | None, size: int) -> alt.TopLevelMixin:
    """A B × B weight matrix as one image (dataset ``picture``: url) under B row bands (dataset ``rows``:
    row, label) that carry the axes, the hover and the clicks, the focus row marked (dataset ``outline``: row)
    and the colour legend (dataset ``scale``: weight, 0 and the largest weight).

    One image mark, not up to B × B rects: a σ move repaints one picture instead of re-encoding thousands
    of cells, and nothing in this layout depends on the numbers (data-only updates, no re-embed).
    """
    rows, cols = "cells_rows", "cells_cols"  # axis labels (params): block labels when n is large
    overlap = b > 40 or size < 13 * b
    # About one label per 20 px: a label for every row would be hundreds of text marks, re-laid out on every σ move.
    ticks = list(range(0, b, _nice_step(b * 20 / size))) if overlap else alt.Undefined
    y = alt.Y("row:O", title="output step i", axis=alt.Axis(labelExpr=f"{rows}[datum.value]", labelLimit=LABEL_LIMIT,
                                                            labelOverlap=overlap, values=ticks))
    x = alt.X("row:O", title="input step j", axis=alt.Axis(labelExpr=f"{cols}[datum.value]", labelAngle=-60,
                                                           labelLimit=LABEL_LIMIT, labelOverlap=overlap, orient="top",
                                                           values=ticks))
    whole = dict(x=alt.value(0), x2=alt.value("width"), y=alt.value(0), y2=alt.value("height"))
    picture = alt.Chart(alt.NamedData("picture")).mark_image(aspect=False, smooth=False).encode(url="url:N", **whole)
    axes = alt.Chart(alt.NamedData("rows")).mark_rect(opacity=0).encode(x=x, y=y)  # the grid both axes label
    legend = alt.Chart(alt.NamedData("scale")).mark_rect(opacity=0).encode(
        x=alt.value(0), x2=alt.value(0), y=alt.value(0), y2=alt.value(0),
        color=alt.Color("weight:Q", title="weight", scale=alt.Scale(scheme=SEQUENTIAL, nice=False),
                        legend=alt.Legend(gradientLength=max(80, min(150, size - 170)))))  # the plot is ~size - 130
    # The focus row: pointers on both sides, and an outline when rows are tall enough not to hide it.
    focus = alt.Chart(alt.NamedData("outline"))
    layers = [picture, axes, legend] + [
        focus.mark_point(shape=shape, filled=True, size=110, opacity=1, color=FOCUS_COLOR, xOffset=offset).encode(
            x=alt.value(edge), y=alt.Y("row:O"))
        for shape, edge, offset in (("triangle-left", "width", 9), ("triangle-right", 0, -9))
    ]
    if size / b >= 8:
        layers.append(focus.mark_rect(fill=None, stroke=FOCUS_COLOR, strokeWidth=2).encode(
            x=alt.value(0), x2=alt.value("width"), y=alt.Y("row:O")))
    # Full-width row bands on top, invisible: a hover names the row, a click on it is selection ``select_rows``.
    bands = alt.Chart(alt.NamedData("rows")).mark_rect(opacity=0).encode(
        x=alt.value(0), x2=alt.value("width"), y=alt.Y("row:O"), tooltip=[alt.Tooltip("label:N", title="output step i")])
    if select_rows is not None:
        bands = bands.add_params(alt.selection_point(name=select_rows, fields=["row"], on="click", clear=False))
    # Streamlit fits the whole chart, axes and legend included, into width × height: on a phone W takes the
    # screen's width less the page's 2 × 16 px margins (the picture ~217 px at 390, not 64 as with axes taken off).
    fit = [alt.param(name=side, expr=on_phone("windowSize()[0] - 32", size)["expr"]) for side in ("width", "height")]
    return alt.layer(*layers, bands).add_params(alt.param(name=rows, value=[]), alt.param(name=cols, value=[]),
                                                *fit).properties(
        width=size, height=size, title=title,
        description=f"{title}: row i holds the weights that average the series into output step i; "
                    "the focus step's row is marked")


def weight_matrix(
    small: np.ndarray, starts: np.ndarray, n: int, focus: int, *, title: str,
    select_rows: str | None = None, size: int = 320,
) -> dict:
    """W as the matrix picture (block-averaged when long), the focus step's row marked.

    ``small`` (B, B) and ``starts`` (B,) as returned by qkv_core.smoothing.downsampled_*_weights.
    Painted as one image, viridis from 0 to the largest weight (the legend's range). With
    ``select_rows``, a click on a row is reported as selection ``select_rows``, field ``row``.
    """
    labels = block_labels(starts, n)
    small = np.nan_to_num(np.asarray(small, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)  # (B, B), painted
    top = float(small.max()) if small.size and small.max() > 0 else 1.0
    zoom = -(-OVERVIEW_MIN_PIXELS // len(labels))  # each cell at least zoom x zoom pixels: crisp where smoothed
    pixels = viridis_quick(small / top)  # (B, B, 3)
    if zoom > 1:
        pixels = pixels.repeat(zoom, axis=0).repeat(zoom, axis=1)  # (B*zoom, B*zoom, 3)
    row = int(np.searchsorted(starts, focus, side="right") - 1)
    b = np.arange(len(labels))
    return filled(_weight_matrix_template(len(labels), title, select_rows, size),
                  label_params("cells", labels, labels),
                  picture=pa.table({"url": [png_data_url(pixels, level=1)]}),  # every σ move: fast over small
                  rows=pa.table({"row": b, "label": names(b, labels)}),
                  scale=pa.table({"weight": [0.0, top]}), outline=pa.table({"row": [row]}))


@compiled(maxsize=32)
def _vector_strip_template(n: int, title: str, cell: int) -> alt.TopLevelMixin:
    """One row of n cells (dataset ``v``: dim, value), diverging colours centred on 0."""
    return (
        alt.Chart(alt.NamedData("v"))
        .mark_rect()
        .encode(
            x=alt.X("dim:O", axis=None),
            color=alt.Color("value:Q", scale=alt.Scale(scheme=DIVERGING, domainMid=0, reverse=True), legend=None),
            tooltip=[alt.Tooltip("dim:Q", title="dimension"), alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=cell * n + 10, height=26, description=f"{title}: a vector of {n} numbers; hover for values")
    )


def vector_strip(vector: np.ndarray, title: str, cell: int = 10, max_width: int = 640) -> dict:
    """A vector as one row of coloured cells (blue negative, red positive); exact values on hover."""
    v = np.asarray(vector, dtype=float).ravel()
    cell = max(1, min(cell, max_width // max(len(v), 1)))
    return filled(_vector_strip_template(len(v), title, cell), v=pa.table({"dim": np.arange(len(v)), "value": v}))

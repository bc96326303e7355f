"""Altair chart builders: the presentation layer shared by every page.

One idea, one place: the "weights x values" matrix picture is built here once
(matrix -> tidy DataFrame -> ``mark_rect`` heatmap + optional ``mark_text``
numbers) and reused on every page. Nothing here computes model maths; it only
draws arrays that ``qkv_core`` returns.
"""

from __future__ import annotations

import base64
import functools
import json
import struct
import zlib
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

# Perceptually uniform and colour-blind safe, legible on light and dark themes.
SEQUENTIAL = "viridis"
DIVERGING = "redblue"
LIGHT_HIGH_SCHEMES = {"viridis", "cividis", "plasma", "inferno", "magma"}
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
    row_cell: int | None = None,
    max_size: int = 640,
    select_rows: str | None = None,
    description: str | None = None,
    legend: bool = True,
    row_axis: bool = True,
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
    height = min(max_size, (row_cell or cell) * n_rows) + AXIS_ROOM
    label_limit = 110
    gradient = max(80, min(200, height - AXIS_ROOM - 20))  # a legend taller than the cells gets clipped

    color_scale = alt.Scale(scheme=scheme, domain=list(domain) if domain else alt.Undefined)
    if scheme == DIVERGING and domain is None:  # centred on 0 by Vega, whatever data is filled in
        color_scale = alt.Scale(scheme=scheme, domainMid=0, reverse=True)

    # Labels a cell cannot hold without touching its neighbours' (under ~13 px) are thinned out by Vega.
    x_axis = alt.Axis(
        labelExpr=_label_expr(col_labels), labelAngle=-60, labelLimit=label_limit,
        labelOverlap=n_cols > 40 or width - AXIS_ROOM < 13 * n_cols, orient="top",
    )
    y_axis = alt.Axis(labelExpr=_label_expr(row_labels), labelLimit=label_limit,
                      labelOverlap=n_rows > 40 or height - AXIS_ROOM < 13 * n_rows) if row_axis else None
    base = alt.Chart(data).encode(
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
    chart = rect
    if show_numbers:
        mid = float(np.nanmean(m)) if m.size else 0.0
        # Light ends get black numbers, dark ends white: viridis-like schemes are light at the top,
        # sequential single-hue schemes ("blues") dark at the top.
        high, low = ("black", "white") if scheme in LIGHT_HIGH_SCHEMES else ("white", "black")
        text = base.mark_text(fontSize=11).encode(
            text=alt.Text("value:Q", format=number_format),
            color=alt.condition(f"datum.value > {mid}", alt.value(high), alt.value(low)),
        )
        if scheme == DIVERGING:
            text = base.mark_text(fontSize=11, color="black").encode(text=alt.Text("value:Q", format=number_format))
        chart = alt.layer(rect, text)
    description = description or title or f"Heatmap of {value_title}: {row_title} down, {col_title} across"
    chart = chart.properties(width=width, height=height, description=description)
    return chart.properties(title=title) if title else chart  # altair refuses title=Undefined


@functools.lru_cache(maxsize=64)
def _compiled_heatmap(shape: tuple[int, int], rows: tuple[str, ...], cols: tuple[str, ...],
                      domain: tuple[float, float] | None, options: tuple) -> dict:
    """The shared heatmap compiled once for a layout; its cells come from dataset ``cells``."""
    middle = np.full(shape, (domain[0] + domain[1]) / 2 if domain else 0.0)  # numbers flip colour mid-scale
    chart = heatmap(middle, rows, cols, domain=domain, **dict(options))
    # Not validated again: ``heatmap`` builds the same chart that tests validate; validation is ~60 % of the cost.
    return chart.properties(data=alt.NamedData("cells")).to_dict(validate=False)


def heatmap_spec(
    matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
    *, domain: tuple[float, float] | None = None, **options,
) -> dict:
    """``heatmap`` as a ready Vega-Lite spec for ``st.vega_lite_chart``: layout compiled once, data filled per call.

    Use it where a page redraws often: building and validating an Altair chart costs 5–30 ms,
    filling a compiled one well under 1 ms.
    """
    m = np.asarray(matrix, dtype=float)
    rows, cols = tuple(str(r) for r in row_labels), tuple(str(c) for c in col_labels)
    description = options.pop("description", None)  # set per call: a text naming the head must not miss the cache
    template = _compiled_heatmap(m.shape, rows, cols, tuple(domain) if domain else None, tuple(sorted(options.items())))
    spec = filled(template, cells=pa.Table.from_pandas(matrix_frame(m, rows, cols), preserve_index=False))
    return spec if description is None else {**spec, "description": description}


def product_diagram(
    weights: np.ndarray, values: np.ndarray, output: np.ndarray, labels: Sequence[str], cell: int = 30
) -> alt.HConcatChart:
    """Three heatmaps side by side: weights W, values v and output W·v (numbers in every cell)."""
    n = len(labels)
    col = ["value"]
    w_chart = heatmap(
        weights, labels, labels, title="weights W (rows sum to 1)", row_title="output step",
        col_title="input step", cell=cell, legend=False,
        description="Weight matrix: row i says how much each input counts for output i",
    ).properties(width=cell * n, height=cell * n)  # in a concat, panels are sized by their cells
    v_chart = heatmap(
        np.asarray(values).reshape(n, 1), labels, col, title="values v", row_title="",
        col_title="", value_title="value", scheme="blues", cell=cell, legend=False, description="The input values",
    ).properties(width=cell, height=cell * n)
    o_chart = heatmap(
        np.asarray(output).reshape(n, 1), labels, col, title="output = W · v", row_title="",
        col_title="", value_title="value", scheme="blues", cell=cell, legend=False,
        description="Each output is the weighted average of the values, using one row of W",
    ).properties(width=cell, height=cell * n)
    return alt.hconcat(w_chart, v_chart, o_chart, spacing=24).resolve_scale(color="independent")


# --------------------------------------------------------------------------------------
# /attention
# --------------------------------------------------------------------------------------


# Vega's own "viridis" stops (vega-scale), which Vega interpolates linearly in RGB: the overview paints
# its maps as images with these colours, under the legend Vega draws from the same scheme.
_VIRIDIS_STOPS = ("440154470e61481a6c482575472f7d443a834144873d4e8a39568c35608d31688e2d708e2a788e27818e23888e21"
                  "918d1f988b1fa08822a8842ab07f35b77943bf7154c56866cc5d7ad1518fd744a5db36bcdf27d2e21be9e51afde725")
_VIRIDIS_RGB = np.array([[int(_VIRIDIS_STOPS[i + j:i + j + 2], 16) for j in (0, 2, 4)]
                         for i in range(0, len(_VIRIDIS_STOPS), 6)], dtype=float)  # (31, 3)


def viridis(t: np.ndarray) -> np.ndarray:
    """Vega's "viridis" at t in [0, 1] (clipped): uint8 RGB of shape t.shape + (3,)."""
    pos = np.clip(np.asarray(t, dtype=float), 0.0, 1.0) * (len(_VIRIDIS_RGB) - 1)
    i = np.minimum(pos.astype(int), len(_VIRIDIS_RGB) - 2)
    f = (pos - i)[..., None]
    return np.rint(_VIRIDIS_RGB[i] * (1 - f) + _VIRIDIS_RGB[i + 1] * f).astype(np.uint8)


def png_data_url(rgb: np.ndarray) -> str:
    """An (h, w, 3) uint8 image as a ``data:`` URL holding a PNG (local: nothing is fetched)."""
    h, w, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + np.ascontiguousarray(rgb[r], dtype=np.uint8).tobytes() for r in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@functools.lru_cache(maxsize=8)
def _overview_template(n_layers: int, n_heads: int, b: int, name: str) -> dict:
    """Layout of the all-heads grid; datasets ``heads`` (layer, head, url, x, x2, y, y2), ``scale`` and ``frame``."""
    step = b + max(1, b // 6)  # one map plus a gap, in block units
    centres = lambda n: [i * step + b / 2 for i in range(n)]  # noqa: E731
    span = lambda n: [-0.5, n * step - (step - b) + 0.5]  # noqa: E731
    label = f"round((datum.value - {b / 2}) / {step}) + 1"
    x = alt.X("x:Q", scale=alt.Scale(domain=span(n_heads), nice=False, zero=False),
              axis=alt.Axis(values=centres(n_heads), labelExpr=label, title="head", orient="top",
                            grid=False, ticks=False, domain=False))
    y = alt.Y("y:Q", scale=alt.Scale(domain=span(n_layers), reverse=True, nice=False, zero=False),
              axis=alt.Axis(values=centres(n_layers), labelExpr=label, title="layer", grid=False, ticks=False,
                            domain=False))
    # Each head's map is one image (72 marks to draw, not 72 x 256 rects: a rerun repaints in a
    # tenth of the time), its pixels coloured by ``viridis(sqrt(share))``: the scale of the legend,
    # which an invisible, zero-size layer carries.
    maps = (
        alt.Chart(alt.NamedData("heads"))
        .mark_image(aspect=False, smooth=False)
        .encode(x=x, x2="x2:Q", y=y, y2="y2:Q", url="url:N", tooltip=[alt.Tooltip("layer:O"), alt.Tooltip("head:O")])
        .add_params(alt.selection_point(name=name, fields=["layer", "head"], on="click", clear=False))
    )
    scale = alt.Chart(alt.NamedData("scale")).mark_rect(opacity=0).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q",
        color=alt.Color("share:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1], type="sqrt"),
                        title="share of attention",  # a gradient taller than the maps clips its "0" label
                        legend=alt.Legend(gradientLength=max(60, n_layers * 44 - 90))),
    )
    frame = alt.Chart(alt.NamedData("frame")).mark_rect(fill=None, stroke="#ff4b4b", strokeWidth=3).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q")
    return alt.layer(maps, scale, frame).properties(  # as wide as the page allows: fits a projector too
        title="All heads: click one to inspect it", width="container", height=n_layers * 44 + 60,
        description="Small attention maps for every layer (rows) and head (columns); queries run down, keys across",
    ).to_dict()


OVERVIEW_MIN_PIXELS = 32  # each map's image is at least this many pixels wide: crisp in SVG viewers that smooth


def attention_overview(blocks: np.ndarray, selected: tuple[int, int], name: str = "pick") -> dict:
    """Every layer x head as a small map (rows: layers, columns: heads); click one to select it.

    blocks (L, H, b, b) as returned by ``qkv_core.heads.overview_blocks``; ``selected`` is the
    0-based (layer, head) framed in red. One image per head on a shared grid (no facets),
    compiled once per grid size; returns a spec for ``st.vega_lite_chart``.
    """
    n_layers, n_heads, b, _ = blocks.shape
    step = b + max(1, b // 6)
    zoom = -(-OVERVIEW_MIN_PIXELS // b)  # each block drawn as zoom x zoom pixels
    pixels = viridis(np.sqrt(np.clip(blocks, 0.0, 1.0))).repeat(zoom, axis=2).repeat(zoom, axis=3)  # (L, H, bz, bz, 3)
    layer, head = np.meshgrid(np.arange(n_layers), np.arange(n_heads), indexing="ij")
    layer, head = layer.ravel(), head.ravel()
    urls = [png_data_url(pixels[l, h]) for l, h in zip(layer, head)]
    heads = pa.table({"layer": layer + 1, "head": head + 1, "url": urls,
                      "x": head * step, "x2": head * step + b, "y": layer * step, "y2": layer * step + b})
    scale = pa.table({"share": [0.0, 1.0], "x": [0.0, 0.0], "x2": [0.0, 0.0], "y": [0.0, 0.0], "y2": [0.0, 0.0]})
    sl, sh = selected
    frame = pa.table({"x": [sh * step - 0.4], "x2": [sh * step + b + 0.4], "y": [sl * step - 0.4],
                      "y2": [sl * step + b + 0.4]})
    return filled(_overview_template(n_layers, n_heads, b, name), heads=heads, scale=scale, frame=frame)


@functools.lru_cache(maxsize=4)
def _attention_row_template(by_weight: bool) -> dict:
    """Bars of one query's weights (dataset ``bars``: pos, label, weight)."""
    sort = alt.EncodingSortField("weight", order="descending") if by_weight else alt.EncodingSortField("pos")
    return (
        alt.Chart(alt.NamedData("bars"))
        .mark_bar(stroke=BAR_OUTLINE, strokeWidth=1)
        .encode(
            x=alt.X("label:N", sort=sort, title="key token", axis=alt.Axis(labelAngle=-60, labelLimit=120)),
            y=alt.Y("weight:Q", title="attention weight"),
            color=alt.Color("weight:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]), legend=None),
            tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("label:N", title="token"),
                     alt.Tooltip("weight:Q", format=".4f")],
        )
        .properties(width="container", height=220, description="Attention weights of the query token over the keys")
        .to_dict()
    )


def attention_row(weights: np.ndarray, labels: list[str], max_bars: int = 40) -> dict:
    """One query's attention over the keys as bars: in sentence order when short, else the top keys."""
    weights = np.asarray(weights, dtype=float)
    t = len(weights)
    by_weight = t > max_bars
    idx = np.argsort(-weights, kind="stable")[:max_bars] if by_weight else np.arange(t)
    bars = pa.table({"pos": idx, "label": [f"{p}: {labels[p]}" for p in idx], "weight": weights[idx]})
    return filled(_attention_row_template(by_weight), bars=bars)


# --------------------------------------------------------------------------------------
# ---- /smoothing ----
# --------------------------------------------------------------------------------------
# The /smoothing page redraws on every slider move, and building + validating an Altair chart
# costs 10–30 ms. So its charts are compiled once per layout (altair validates them then) with
# *named* datasets, and each rerun only fills in fresh DataFrames: ``filled(template, name=df)``.
# Streamlit sends the datasets as Arrow (``st.vega_lite_chart``).

MAX_LINE_POINTS = 800  # a line chart draws at most this many points per line
# Okabe–Ito colours: told apart with every common colour-vision deficiency, on light and dark themes.
LINE_COLORS = {"raw": "#8c8c8c", "Gaussian": "#0072B2", "content-aware": "#D55E00"}
FOCUS_COLOR = "#E69F00"
# Bars coloured by viridis get this outline: viridis' dark end vanishes on a dark theme, its light end on a
# light one; mid grey stands out on both.
BAR_OUTLINE = "#8c8c8c"
ZERO_COLOR = "#440154"  # viridis at 0: the colour of a weight-0 cell in the W heatmap


def filled(template: dict, params: dict[str, object] | None = None, **datasets: pa.Table) -> dict:
    """A compiled spec with its named datasets and top-level param values set (the template is not changed).

    Datasets are Arrow tables: Streamlit sends them as they are, ~10× faster than DataFrames.
    """
    spec = {**template, "datasets": datasets}
    if params:
        spec["params"] = [{**p, "value": params[p["name"]]} if p["name"] in params else p
                          for p in template.get("params", [])]
    return spec


def _names(codes: np.ndarray, names: Sequence[str]) -> pa.DictionaryArray:
    """A string column stored as small integer codes into ``names`` (each name is sent once)."""
    return pa.DictionaryArray.from_arrays(np.asarray(codes, dtype=np.int32), pa.array(list(names), pa.string()))


def thin_steps(n: int, max_points: int = MAX_LINE_POINTS) -> np.ndarray:
    """Every s-th step of range(n), s = ceil(n / max_points), plus the last: at most max_points + 1."""
    steps = np.arange(0, n, max(1, -(-n // max_points)))
    return steps if steps[-1] == n - 1 else np.append(steps, n - 1)


@functools.lru_cache(maxsize=16)
def series_lines_template(names: tuple[str, ...], title: str, y_title: str = "value") -> dict:
    """Lines over the time step (dataset ``lines``: step, series, value), with the focus step marked
    by a rule and dots (dataset ``focus``: step, series, value at the focus step)."""
    color = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=list(names), range=[LINE_COLORS.get(k, "#009E73") for k in names]))
    x = alt.X("step:Q", title="time step", scale=alt.Scale(nice=False, zero=False))
    y = alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False))
    tooltip = [alt.Tooltip("step:Q"), alt.Tooltip("series:N"), alt.Tooltip("value:Q", format=".4g")]
    lines = alt.Chart(alt.NamedData("lines"))
    raw = lines.transform_filter("datum.series == 'raw'").mark_line(strokeWidth=1)
    smooth = lines.transform_filter("datum.series != 'raw'").mark_line(strokeWidth=2.5)
    focus = alt.Chart(alt.NamedData("focus"))
    rule = focus.mark_rule(color=FOCUS_COLOR, strokeWidth=2).encode(x="step:Q")
    dots = focus.mark_point(filled=True, size=70, opacity=1)
    layers = [layer.encode(x=x, y=y, color=color, tooltip=tooltip) for layer in (raw, smooth, dots)]
    return alt.layer(*layers[:2], rule, layers[2]).properties(
        width="container", height=360, title=title,
        description=f"{', '.join(names)} over time; the focus step is marked with a vertical rule",
    ).to_dict()


def series_lines(lines: dict[str, np.ndarray], focus: int, *, title: str, y_title: str = "value") -> dict:
    """Raw and smoothed series over time, the focus step marked; long series thinned for display."""
    names = tuple(lines)
    arrays = [np.asarray(v, dtype=float) for v in lines.values()]
    steps = thin_steps(arrays[0].size)
    data = pa.table({
        "step": np.tile(steps, len(names)),
        "series": _names(np.repeat(np.arange(len(names)), steps.size), names),
        "value": np.concatenate([a[steps] for a in arrays]),
    })
    at_focus = pa.table({"step": np.full(len(names), focus), "series": _names(np.arange(len(names)), names),
                         "value": np.array([a[focus] for a in arrays])})
    return filled(series_lines_template(names, title, y_title), lines=data, focus=at_focus)


@functools.lru_cache(maxsize=16)
def focus_weights_template(title: str, color: str) -> dict:
    """One step's weights as bars (right axis) under the series around it (left axis).

    Dataset ``window``: step, left, right (bar edges), value, weight; dataset ``focus``: step.
    Param ``wmax``: top of the weight axis, so two panels can share it.
    """
    wmax = alt.param(name="wmax", value=1.0)
    x = alt.X("step:Q", title="time step", scale=alt.Scale(nice=False, zero=False))
    tooltip = [alt.Tooltip("step:Q"), alt.Tooltip("value:Q", format=".4g"), alt.Tooltip("weight:Q", format=".4f")]
    base = alt.Chart(alt.NamedData("window"))
    bars = base.mark_rect(color=color, opacity=0.7).encode(
        x=alt.X("left:Q", title="time step"), x2="right:Q", y2=alt.datum(0), tooltip=tooltip,
        y=alt.Y("weight:Q", title="weight (bars)", axis=alt.Axis(orient="right"),
                scale=alt.Scale(domainMin=0, domainMax=alt.ExprRef("1.1 * wmax"))),
    )
    y = alt.Y("value:Q", title="value (line)", scale=alt.Scale(zero=False))
    line = base.mark_line(color=LINE_COLORS["raw"]).encode(x=x, y=y)
    points = base.mark_circle(color="#777777", size=28).encode(
        x=x, y=y, tooltip=tooltip, opacity=alt.condition("datum.weight > 0.001", alt.value(1.0), alt.value(0.25)))
    rule = alt.Chart(alt.NamedData("focus")).mark_rule(color=FOCUS_COLOR, strokeWidth=2).encode(x="step:Q")
    return alt.layer(bars, line, points, rule).add_params(wmax).resolve_scale(y="independent").properties(
        width="container", height=300, title=title,
        description="Bars: the weight each step gets in the average for the focus step; line: the series",
    ).to_dict()


def focus_weights(
    values: np.ndarray, weights: np.ndarray, focus: int, lo: int, hi: int, *, title: str,
    color: str = LINE_COLORS["Gaussian"], weight_max: float | None = None,
) -> dict:
    """The weights used for step ``focus`` drawn over the series, steps lo..hi-1."""
    steps = np.arange(lo, hi)
    weights = np.asarray(weights, dtype=float)[lo:hi]
    data = pa.table({"step": steps, "left": steps - 0.42, "right": steps + 0.42,
                     "value": np.asarray(values, dtype=float)[lo:hi], "weight": weights})
    top = float(weight_max if weight_max is not None else weights.max())
    return filled(focus_weights_template(title, color), {"wmax": top}, window=data, focus=pa.table({"step": [focus]}))


def block_labels(starts: np.ndarray, n: int) -> tuple[str, ...]:
    """'a–b' for each block of steps a..b (just 'a' for a one-step block)."""
    ends = np.append(starts[1:], n) - 1
    return tuple(str(a) if a == b else f"{a}–{b}" for a, b in zip(starts, ends))


@functools.lru_cache(maxsize=8)
def weight_matrix_template(labels: tuple[str, ...], title: str, select_rows: str | None, size: int) -> dict:
    """The shared ``heatmap`` of a B × B weight matrix (dataset ``cells``: row, col, row_label,
    col_label, value; dataset ``rows``: row = 0..B-1) with one row marked (dataset ``outline``: row)."""
    b = len(labels)
    picture = heatmap(
        np.zeros((b, b)), labels, labels, row_title="output step i", col_title="input step j",
        value_title="weight", cell=size / b, max_size=size, select_rows=select_rows, show_numbers=False,
        description="Weight matrix W: row i holds the weights that average the series into output step i",
    ).properties(data=alt.NamedData("cells"))
    # Cells of weight 0 are not sent (W is banded): a backdrop in the colour of 0 stands in for them,
    # with full-width row bands on it that take clicks too (as selection ``<select_rows>_bg``).
    backdrop = alt.Chart(alt.Data(values=[{}])).mark_rect(color=ZERO_COLOR).encode(
        x=alt.value(0), x2=alt.value("width"), y=alt.value(0), y2=alt.value("height"))
    bands = alt.Chart(alt.NamedData("rows")).mark_rect(color=ZERO_COLOR).encode(
        x=alt.value(0), x2=alt.value("width"), y=alt.Y("row:O"))
    if select_rows is not None:
        bands = bands.add_params(
            alt.selection_point(name=f"{select_rows}_bg", fields=["row"], on="click", clear=False))
    # The focus row: pointers on both sides, and an outline when rows are tall enough not to hide it.
    focus = alt.Chart(alt.NamedData("outline"))
    layers = [backdrop, bands, picture] + [
        focus.mark_point(shape=shape, filled=True, size=110, opacity=1, color=FOCUS_COLOR, xOffset=offset).encode(
            x=alt.value(edge), y=alt.Y("row:O"))
        for shape, edge, offset in (("triangle-left", "width", 9), ("triangle-right", 0, -9))
    ]
    if size / b >= 8:
        layers.append(focus.mark_rect(fill=None, stroke=FOCUS_COLOR, strokeWidth=2).encode(y=alt.Y("row:O")))
    return alt.layer(*layers).properties(
        title=title, description=f"{title}: row i holds the weights that average the series into output step i; "
                                 "the focus step's row is marked").to_dict()


def weight_matrix(
    small: np.ndarray, starts: np.ndarray, n: int, focus: int, *, title: str,
    select_rows: str | None = None, size: int = 320,
) -> dict:
    """W as the matrix picture (block-averaged when long), the focus step's row marked.

    ``small`` (B, B) and ``starts`` (B,) as returned by qkv_core.smoothing.downsampled_*_weights.
    With ``select_rows``, a click on a row is reported as selection ``select_rows`` (on a
    cell of weight > 0) or ``select_rows + "_bg"`` (elsewhere in the row), field ``row``.
    """
    labels = block_labels(starts, n)
    small = np.asarray(small, dtype=float)  # (B, B)
    flat = np.flatnonzero(small)
    if flat.size < small.size:  # keep one zero cell, so the colour scale still starts at 0
        flat = np.append(flat, np.flatnonzero(small == 0)[0])
    rows, cols = np.divmod(flat, small.shape[1])
    cells = pa.table({"row": rows, "col": cols, "row_label": _names(rows, labels), "col_label": _names(cols, labels),
                      "value": small.ravel()[flat]})
    row = int(np.searchsorted(starts, focus, side="right") - 1)
    return filled(weight_matrix_template(labels, title, select_rows, size), cells=cells,
                  rows=pa.table({"row": np.arange(len(labels))}), outline=pa.table({"row": [row]}))


# --------------------------------------------------------------------------------------
# ---- /lookup ----
# --------------------------------------------------------------------------------------
# Like /smoothing, /lookup redraws on every temperature change, so its charts are compiled once
# per layout (``*_template``, validated by altair then) with named datasets and only the data
# is filled in on each rerun (``filled``). Layouts depend on the store, never on the query or T.

MAX_LOOKUP_ROWS = 25  # keys drawn in the /lookup charts (the best-scoring ones)
# Okabe–Ito, one colour per value column (topic); extra columns reuse them in order.
PART_COLORS = ("#E69F00", "#D55E00", "#CC79A7", "#0072B2", "#009E73", "#56B4E9", "#F0E442", "#8c8c8c")
VALUES_SCHEME = "cividis"  # values and result: dark blue (low) to yellow (high), unlike the weights


def top_rows(scores: np.ndarray, max_rows: int = MAX_LOOKUP_ROWS) -> np.ndarray:
    """Indices of the max_rows highest scores, best first (ties keep store order)."""
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:max_rows]


@functools.lru_cache(maxsize=8)
def lookup_bars_template(score_title: str) -> dict:
    """Similarity (left) and softmax weight (right) per key, one row per key in ``rank`` order.

    Dataset ``bars``: rank, key, score, weight.
    """
    y = alt.Y("key:N", title=None, sort=alt.EncodingSortField("rank"), axis=alt.Axis(labelLimit=240))
    tooltip = [alt.Tooltip("key:N"), alt.Tooltip("score:Q", title=score_title, format=".4f"),
               alt.Tooltip("weight:Q", format=".4f")]
    base = alt.Chart(alt.NamedData("bars")).encode(tooltip=tooltip)
    left = base.mark_bar(color=LINE_COLORS["raw"]).encode(x=alt.X("score:Q", title=score_title), y=y).properties(
        width=200, height=alt.Step(22), title="score")
    # Each weight is printed as an axis label (param ``pct``: key -> weight): axis labels take the
    # theme's text colour, a text mark would keep one colour on light and dark backgrounds alike.
    y_pct = alt.Y("key:N", title=None, sort=alt.EncodingSortField("rank"),
                  axis=alt.Axis(orient="right", labelExpr="format(pct[datum.value], '.0%')"))
    right = base.mark_bar(stroke=BAR_OUTLINE, strokeWidth=1).encode(
        x=alt.X("weight:Q", title="softmax weight", scale=alt.Scale(domain=[0, 1])), y=y_pct,
        color=alt.Color("weight:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]), legend=None),
    ).properties(width=200, height=alt.Step(22), title="weight")
    return alt.hconcat(left, right, spacing=6).add_params(alt.param(name="pct", value={})).properties(
        description="Similarity of the query to each key (best first) and the softmax weight it gets",
    ).to_dict()


def lookup_bars(
    keys: Sequence[str], scores: np.ndarray, weights: np.ndarray, *, score_title: str = "similarity",
    max_rows: int = MAX_LOOKUP_ROWS,
) -> dict:
    """Each key's similarity to the query and its softmax weight, best first (the top max_rows keys)."""
    scores, weights = np.asarray(scores, dtype=float), np.asarray(weights, dtype=float)
    idx = top_rows(scores, max_rows)
    data = pa.table({"rank": np.arange(idx.size), "key": [str(keys[i]) for i in idx],
                     "score": scores[idx], "weight": weights[idx]})
    pct = {str(keys[i]): float(weights[i]) for i in idx}
    return filled(lookup_bars_template(score_title), {"pct": pct}, bars=data)


@functools.lru_cache(maxsize=8)
def profile_bar_template(parts: tuple[str, ...]) -> dict:
    """One stacked bar: how a value splits over its parts. Dataset ``parts``: part, share, order."""
    colors = [PART_COLORS[i % len(PART_COLORS)] for i in range(len(parts))]
    return alt.Chart(alt.NamedData("parts")).mark_bar(height=26).encode(
        x=alt.X("share:Q", stack="normalize", title=None, axis=alt.Axis(format="%", tickCount=5)),
        color=alt.Color("part:N", title=None, scale=alt.Scale(domain=list(parts), range=colors),
                        legend=alt.Legend(orient="top")),  # a bottom legend gets clipped
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("part:N"), alt.Tooltip("share:Q", format=".1%")],
    ).properties(width="container", height=96, description=f"Split over {', '.join(parts)}").to_dict()


def profile_bar(shares: np.ndarray, parts: Sequence[str]) -> dict:
    """A value's split over its parts (shares >= 0) as one stacked bar, e.g. a video's topic mix."""
    parts = tuple(str(p) for p in parts)
    data = pa.table({"part": parts, "share": np.asarray(shares, dtype=float), "order": np.arange(len(parts))})
    return filled(profile_bar_template(parts), parts=data)


def _heatmap_template(shape: tuple[int, int], rows: Sequence[str], cols: Sequence[str],
                      domain: tuple[float, float], name: str, cell: int = 32, **kwargs) -> alt.Chart:
    """The shared ``heatmap`` as one panel of a concat, colour domain fixed, cells from dataset ``name``.

    Drawn from a matrix filled with the domain's middle, so the cell numbers switch from white
    to black at the middle of the colour scale whatever data is filled in later. A concat is not
    sized to fit, so the panel's width and height are the cells alone (no room for the axes).
    """
    middle = np.full(shape, (domain[0] + domain[1]) / 2)
    chart = heatmap(middle, rows, cols, domain=domain, cell=cell, **kwargs)
    return chart.properties(data=alt.NamedData(name), width=cell * shape[1], height=cell * shape[0])


@functools.lru_cache(maxsize=8)
def blend_diagram_template(keys: tuple[str, ...], cols: tuple[str, ...], lo: float, hi: float) -> dict:
    """weights (n x 1) | values (n x dv) | result (1 x dv) as three heatmaps.

    Datasets ``w``, ``v``, ``out`` are ``matrix_frame`` tables; values and result share the colour
    domain [lo, hi], so a result cell can be compared with the value cells by colour.
    """
    n, dv = len(keys), len(cols)
    common = dict(col_title="")
    w_chart = _heatmap_template((n, 1), keys, ["weight"], (0.0, 1.0), "w", title="weights", row_title="key",
                                value_title="weight", description="Softmax weight of each key", **common)
    v_chart = _heatmap_template((n, dv), keys, cols, (lo, hi), "v", title="values", row_title="key",
                                value_title="value", scheme=VALUES_SCHEME,
                                row_axis=False,  # the same rows as the weights beside it
                                description="The value stored under each key", **common)
    o_chart = _heatmap_template((1, dv), ["result"], cols, (lo, hi), "out", title="= Σ weight·value",
                                row_title="", value_title="value", scheme=VALUES_SCHEME,
                                description="The soft answer: each column is the weighted sum of that value column",
                                **common)
    return alt.hconcat(w_chart, v_chart, o_chart).resolve_scale(color="independent").properties(
        description="Weights of the keys, the values stored under them, and the result: each result column is "
                    "the weighted sum of that value column").to_dict()


def blend_diagram(
    weights: np.ndarray, values: np.ndarray, output: np.ndarray, keys: Sequence[str],
    value_labels: Sequence[str], *, max_rows: int = MAX_LOOKUP_ROWS,
) -> dict:
    """The soft answer as weights × values: weight column, value rows, result = Σ weight · value.

    Rows are in store order; a store longer than max_rows shows its max_rows heaviest keys.
    """
    weights = np.asarray(weights, dtype=float)
    values = np.asarray(values, dtype=float).reshape(weights.size, -1)  # (n, dv)
    idx = np.arange(weights.size) if weights.size <= max_rows else np.sort(top_rows(weights, max_rows))
    keys, cols = tuple(str(keys[i]) for i in idx), tuple(str(c) for c in value_labels)
    lo, hi = float(values.min()), float(values.max())
    hi = hi if hi > lo else lo + 1.0  # a constant store still needs a colour range
    def table(m: np.ndarray, rows: Sequence[str], columns: Sequence[str]) -> pa.Table:
        return pa.Table.from_pandas(matrix_frame(m, rows, columns), preserve_index=False)

    return filled(
        blend_diagram_template(keys, cols, lo, hi),
        w=table(weights[idx].reshape(-1, 1), keys, ["weight"]),
        v=table(values[idx], keys, cols),
        out=table(np.asarray(output, dtype=float).reshape(1, -1), ["result"], cols),
    )


# ---- /attention walkthrough ----


@functools.lru_cache(maxsize=32)
def _vector_strip_template(n: int, title: str, cell: int) -> dict:
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
        .to_dict()
    )


def vector_strip(vector: np.ndarray, title: str, cell: int = 10, max_width: int = 640) -> dict:
    """A vector as one row of coloured cells (blue negative, red positive); exact values on hover."""
    v = np.asarray(vector, dtype=float).ravel()
    cell = max(1, min(cell, max_width // max(len(v), 1)))
    return filled(_vector_strip_template(len(v), title, cell), v=pa.table({"dim": np.arange(len(v)), "value": v}))


def cosine_by_layer(similarity: np.ndarray, word: str) -> alt.Chart:
    """Cosine similarity of a word's two vectors at the embedding layer and after each layer."""
    data = pd.DataFrame({
        "layer": np.arange(len(similarity)),
        "stage": ["embedding"] + [f"after layer {i}" for i in range(1, len(similarity))],
        "cosine": np.asarray(similarity, dtype=float),
    })
    return (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=70))
        .encode(
            x=alt.X("layer:O", title="0 = embedding, then after layer 1 … 6", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("cosine:Q", title=f"cosine of the two “{word}” vectors", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("cosine:Q", format=".3f")],
        )
        .properties(width="container", height=260,
                    description="Cosine similarity of the same word in two sentences, layer by layer")
    )


def score_histogram(raw: np.ndarray, scaled: np.ndarray, d: int) -> alt.Chart:
    """Histograms of random dot products q·k, raw and divided by √d, on one axis."""
    data = pd.concat([
        pd.DataFrame({"score": np.asarray(raw, dtype=float), "kind": "q·k (raw)"}),
        pd.DataFrame({"score": np.asarray(scaled, dtype=float), "kind": "q·k / √d"}),
    ])
    return (
        alt.Chart(data)
        .mark_bar(opacity=0.65, binSpacing=0)
        .encode(
            x=alt.X("score:Q", bin=alt.Bin(maxbins=60), title=f"score of random q, k in d = {d} dimensions"),
            y=alt.Y("count():Q", stack=None, title="pairs"),
            color=alt.Color("kind:N", scale=alt.Scale(range=["#d95f02", "#1b9e77"]), title=None,
                            legend=alt.Legend(orient="top")),
        )
        .properties(width="container", height=240,
                    description=f"Spread of raw and scaled dot products of random vectors in {d} dimensions")
    )


def layer_spread(raw: np.ndarray, scaled: np.ndarray) -> alt.Chart:
    """Standard deviation of the model's attention scores per layer, with and without ÷√d."""
    n = len(raw)
    data = pd.DataFrame({
        "layer": np.tile(np.arange(1, n + 1), 2),
        "std": np.concatenate([raw, scaled]).astype(float),
        "kind": ["q·k (raw)"] * n + ["q·k / √d (as trained)"] * n,
    })
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("std:Q", title="spread of scores (std)"),
            color=alt.Color("kind:N", scale=alt.Scale(range=["#d95f02", "#1b9e77"]), title=None,
                            legend=alt.Legend(orient="top")),
            tooltip=["layer:O", "kind:N", alt.Tooltip("std:Q", format=".2f")],
        )
        .properties(width="container", height=220, description="Score spread per layer of the real model")
    )

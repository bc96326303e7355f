"""Series pictures: values over a time step or a layer, as lines, weighted bars and histograms."""

from __future__ import annotations

import altair as alt
import numpy as np
import pyarrow as pa

from .palette import BLUE, FOCUS_COLOR, GREY, LINE_COLORS, OTHER_LINE_COLOR, POINT_COLOR, SCORE_COLORS
from .template import compiled, filled, names

MAX_LINE_POINTS = 800  # a line chart draws at most this many points per line
RAW, SCALED = "q·k (raw)", "q·k / √d"  # the two kinds of attention score compared on /attention
AS_TRAINED = f"{SCALED} (as trained)"  # the scaled scores of the real model


def thin_steps(n: int, max_points: int = MAX_LINE_POINTS) -> np.ndarray:
    """Every s-th step of range(n), s = ceil(n / max_points), plus the last: at most max_points + 1."""
    steps = np.arange(0, n, max(1, -(-n // max_points)))
    return steps if steps[-1] == n - 1 else np.append(steps, n - 1)


@compiled(maxsize=16)
def _series_lines_template(series: tuple[str, ...], title: str, y_title: str = "value") -> alt.TopLevelMixin:
    """Lines over the time step (dataset ``lines``: step, series, value), with the focus step marked
    by a rule and dots (dataset ``focus``: step, series, value at the focus step)."""
    colors = [LINE_COLORS.get(k, OTHER_LINE_COLOR) for k in series]
    color = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=list(series), range=colors))
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
        description=f"{', '.join(series)} over time; the focus step is marked with a vertical rule",
    )


def series_lines(lines: dict[str, np.ndarray], focus: int, *, title: str, y_title: str = "value") -> dict:
    """Raw and smoothed series over time, the focus step marked; long series thinned for display."""
    series = tuple(lines)
    arrays = [np.asarray(v, dtype=float) for v in lines.values()]
    steps = thin_steps(arrays[0].size)
    data = pa.table({
        "step": np.tile(steps, len(series)),
        "series": names(np.repeat(np.arange(len(series)), steps.size), series),
        "value": np.concatenate([a[steps] for a in arrays]),
    })
    at_focus = pa.table({"step": np.full(len(series), focus), "series": names(np.arange(len(series)), series),
                         "value": np.array([a[focus] for a in arrays])})
    return filled(_series_lines_template(series, title, y_title), lines=data, focus=at_focus)


@compiled(maxsize=16)
def _focus_weights_template(title: str, color: str) -> alt.TopLevelMixin:
    """One step's weights as bars (right axis) under the series around it (left axis).

    Dataset ``window``: step, left, right (bar edges), value, weight, ceiling; dataset ``focus``: step.
    Column ``ceiling`` (the same in every row) sets the top of the weight axis through an invisible rule,
    so two panels can share it: data, not a param, so a new top redraws the chart without rebuilding it.
    """
    x = alt.X("step:Q", title="time step", scale=alt.Scale(nice=False, zero=False))
    tooltip = [alt.Tooltip("step:Q"), alt.Tooltip("value:Q", format=".4g"), alt.Tooltip("weight:Q", format=".4f")]
    base = alt.Chart(alt.NamedData("window"))
    weight_axis = dict(title="weight (bars)", axis=alt.Axis(orient="right"), scale=alt.Scale(domainMin=0, nice=False))
    bars = base.mark_rect(color=color, opacity=0.7).encode(
        x=alt.X("left:Q", title="time step"), x2="right:Q", y2=alt.datum(0), tooltip=tooltip,
        y=alt.Y("weight:Q", **weight_axis),
    )
    ceiling = base.mark_rule(opacity=0).encode(y=alt.Y("ceiling:Q", **weight_axis))
    y = alt.Y("value:Q", title="value (line)", scale=alt.Scale(zero=False))
    line = base.mark_line(color=LINE_COLORS["raw"]).encode(x=x, y=y)
    points = base.mark_circle(color=POINT_COLOR, size=28).encode(
        x=x, y=y, tooltip=tooltip, opacity=alt.condition("datum.weight > 0.001", alt.value(1.0), alt.value(0.25)))
    rule = alt.Chart(alt.NamedData("focus")).mark_rule(color=FOCUS_COLOR, strokeWidth=2).encode(x="step:Q")
    return alt.layer(alt.layer(bars, ceiling), line, points, rule).resolve_scale(y="independent").properties(
        width="container", height=300, title=title,
        description="Bars: the weight each step gets in the average for the focus step; line: the series",
    )


def focus_weights(
    values: np.ndarray, weights: np.ndarray, focus: int, lo: int, hi: int, *, title: str,
    color: str = LINE_COLORS["Gaussian"], weight_max: float | None = None,
) -> dict:
    """The weights used for step ``focus`` drawn over the series, steps lo..hi-1; the weight axis tops out at
    1.1 × ``weight_max`` (default: the largest weight drawn)."""
    steps = np.arange(lo, hi)
    weights = np.asarray(weights, dtype=float)[lo:hi]
    top = float(weight_max if weight_max is not None else weights.max())
    data = pa.table({"step": steps, "left": steps - 0.42, "right": steps + 0.42,
                     "value": np.asarray(values, dtype=float)[lo:hi], "weight": weights,
                     "ceiling": np.full(len(steps), 1.1 * top)})
    return filled(_focus_weights_template(title, color), window=data, focus=pa.table({"step": [focus]}))


def _stage_axis_title(n_layers: int) -> str:
    """The layer axis' title for the embedding (0) and n_layers layers after it."""
    return "0 = embedding, 1 = after layer 1" if n_layers == 1 else f"0 = embedding, then after layer 1 … {n_layers}"


@compiled(maxsize=16)
def _cosine_template(n_layers: int, word: str, series: tuple[str, ...]) -> alt.TopLevelMixin:
    """Cosine per stage, one line per pair of texts (dataset ``stages``: layer, stage, pair, cosine), on 0..1.

    The first pair is drawn solid in blue, the others (controls) dashed in grey: the axis never
    rescales, so a small drift looks small.
    """
    colors = [BLUE] + [GREY] * (len(series) - 1)
    dashes = [[1, 0]] + [[6, 4]] * (len(series) - 1)
    legend = alt.Legend(orient="bottom-left", direction="vertical", labelLimit=320, titleLimit=200, symbolType="stroke",
                        symbolStrokeWidth=3, symbolSize=300,
                        padding=6)
    return (
        alt.Chart(alt.NamedData("stages"))
        .mark_line(point=alt.OverlayMarkDef(size=70))
        .encode(
            x=alt.X("layer:O", title=_stage_axis_title(n_layers), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("cosine:Q", title="cosine", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("pair:N", title=f"“{word}”", legend=legend, scale=alt.Scale(domain=list(series), range=colors)),
            strokeDash=alt.StrokeDash("pair:N", title=f"“{word}”", legend=legend,
                                      scale=alt.Scale(domain=list(series), range=dashes)),
            tooltip=[alt.Tooltip("pair:N"), alt.Tooltip("stage:N"), alt.Tooltip("cosine:Q", format=".3f")],
        )
        .properties(width="container", height=260,
                    description=f"Cosine of the two “{word}” vectors, layer by layer, on a 0 to 1 axis")
    )


def cosine_by_layer(similarity: np.ndarray | dict[str, np.ndarray], word: str) -> dict:
    """Cosine similarity of a word's two vectors at the embedding layer and after each layer, on a fixed 0..1 axis.

    ``similarity`` is one (1 + n_layers,) array, or {pair name: array}: the first pair drawn solid,
    the others (controls) dashed.
    """
    lines = similarity if isinstance(similarity, dict) else {"cosine": similarity}
    arrays = [np.asarray(v, dtype=float) for v in lines.values()]  # each (1 + n_layers,)
    if not arrays or arrays[0].ndim != 1 or arrays[0].size < 2 or any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(f"need one cosine for the embedding and one per layer, per pair, got shapes "
                         f"{[a.shape for a in arrays]}")
    n_layers = arrays[0].size - 1
    stages = ["embedding"] + [f"after layer {i}" for i in range(1, n_layers + 1)]
    series = tuple(lines)
    data = pa.table({"layer": np.tile(np.arange(n_layers + 1), len(series)),
                     "stage": names(np.tile(np.arange(n_layers + 1), len(series)), stages),
                     "pair": names(np.repeat(np.arange(len(series)), n_layers + 1), series),
                     "cosine": np.concatenate(arrays)})
    return filled(_cosine_template(n_layers, word, series), stages=data)


@compiled(maxsize=16)
def _score_histogram_template(d: int) -> alt.TopLevelMixin:
    """Two histograms on one axis, binned by Vega (dataset ``scores``: score, kind)."""
    return (
        alt.Chart(alt.NamedData("scores"))
        .mark_bar(opacity=0.65, binSpacing=0)
        .encode(
            x=alt.X("score:Q", bin=alt.Bin(maxbins=60), title=f"score of random q, k in d = {d} dimensions"),
            y=alt.Y("count():Q", stack=None, title="pairs"),
            color=alt.Color("kind:N", scale=alt.Scale(domain=[RAW, SCALED], range=list(SCORE_COLORS)), title=None,
                            legend=alt.Legend(orient="top")),
        )
        .properties(width="container", height=240,
                    description=f"Spread of raw and scaled dot products of random vectors in {d} dimensions")
    )


def score_histogram(raw: np.ndarray, scaled: np.ndarray, d: int) -> dict:
    """Histograms of random dot products q·k, raw and divided by √d, on one axis."""
    raw, scaled = np.asarray(raw, dtype=float), np.asarray(scaled, dtype=float)
    data = pa.table({"score": np.concatenate([raw, scaled]),
                     "kind": names(np.repeat([0, 1], [raw.size, scaled.size]), [RAW, SCALED])})
    return filled(_score_histogram_template(d), scores=data)


@compiled(maxsize=1)
def _layer_spread_template() -> alt.TopLevelMixin:
    """Score spread per layer, raw and scaled (dataset ``spread``: layer, std, kind)."""
    return (
        alt.Chart(alt.NamedData("spread"))
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("std:Q", title="spread of scores (std)"),
            color=alt.Color("kind:N", scale=alt.Scale(domain=[RAW, AS_TRAINED], range=list(SCORE_COLORS)), title=None,
                            legend=alt.Legend(orient="top")),
            tooltip=["layer:O", "kind:N", alt.Tooltip("std:Q", format=".2f")],
        )
        .properties(width="container", height=220, description="Score spread per layer of the real model")
    )


def layer_spread(raw: np.ndarray, scaled: np.ndarray) -> dict:
    """Standard deviation of the model's attention scores per layer, with and without ÷√d."""
    raw, scaled = np.asarray(raw, dtype=float), np.asarray(scaled, dtype=float)  # (n_layers,) each
    n = raw.size
    data = pa.table({"layer": np.tile(np.arange(1, n + 1), 2), "std": np.concatenate([raw, scaled]),
                     "kind": names(np.repeat([0, 1], n), [RAW, AS_TRAINED])})
    return filled(_layer_spread_template(), spread=data)

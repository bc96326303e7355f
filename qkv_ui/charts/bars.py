"""Bar pictures: one query's attention over the keys, /lookup's scores and weights, a value's split."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pyarrow as pa

from qkv_ui.phone import on_phone

from .palette import BAR_OUTLINE, LINE_COLORS, PART_COLORS, SEQUENTIAL
from .template import compiled, filled

MAX_LOOKUP_ROWS = 25  # keys drawn in the /lookup charts (the best-scoring ones)


def top_rows(scores: np.ndarray, max_rows: int = MAX_LOOKUP_ROWS) -> np.ndarray:
    """Indices of the max_rows highest scores, best first (ties keep store order)."""
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:max_rows]


@compiled(maxsize=4)
def _attention_row_template(by_weight: bool) -> alt.TopLevelMixin:
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
    )


def attention_row(weights: np.ndarray, labels: list[str], max_bars: int = 40) -> dict:
    """One query's attention over the keys as bars: in sentence order when short, else the top keys."""
    weights = np.asarray(weights, dtype=float)
    t = len(weights)
    by_weight = t > max_bars
    idx = np.argsort(-weights, kind="stable")[:max_bars] if by_weight else np.arange(t)
    bars = pa.table({"pos": idx, "label": [f"{p}: {labels[p]}" for p in idx], "weight": weights[idx]})
    return filled(_attention_row_template(by_weight), bars=bars)


@compiled(maxsize=8)
def _lookup_bars_template(score_title: str, bound: float) -> alt.TopLevelMixin:
    """Similarity (left, on the fixed axis [-bound, bound]) and softmax weight (right) per key, in ``rank`` order.

    Dataset ``bars``: rank, key, score, weight, and ``shown`` ("<weight as %>|<key>"), the right panel's rows.
    """
    # On a phone the keys are cut shorter, so the score bars start on the screen (the chart scrolls sideways).
    y = alt.Y("key:N", title=None, sort=alt.EncodingSortField("rank"),
              axis=alt.Axis(labelLimit=alt.ExprRef(**on_phone(120, 240))))
    tooltip = [alt.Tooltip("key:N"), alt.Tooltip("score:Q", title=score_title, format=".4f"),
               alt.Tooltip("weight:Q", format=".4f")]
    base = alt.Chart(alt.NamedData("bars")).encode(tooltip=tooltip)
    # A fixed axis: a weak best match draws a short bar instead of filling the panel.
    x = alt.X("score:Q", title=score_title, scale=alt.Scale(domain=[-bound, bound], nice=False, clamp=True))
    left = base.mark_bar(color=LINE_COLORS["raw"]).encode(x=x, y=y).properties(
        width=240, height=alt.Step(22), title="score")
    # Each weight is printed as an axis label (the part of ``shown`` before "|"): axis labels take the
    # theme's text colour, a text mark would keep one colour on light and dark backgrounds alike. The
    # weights travel as data, not as a param: a new temperature updates the chart without rebuilding it.
    y_pct = alt.Y("shown:N", title=None, sort=alt.EncodingSortField("rank"),
                  axis=alt.Axis(orient="right", labelExpr="slice(datum.value, 0, indexof(datum.value, '|'))"))
    right = base.mark_bar(stroke=BAR_OUTLINE, strokeWidth=1).encode(
        x=alt.X("weight:Q", title="softmax weight", scale=alt.Scale(domain=[0, 1])), y=y_pct,
        color=alt.Color("weight:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]), legend=None),
    ).properties(width=200, height=alt.Step(22), title="weight")
    return alt.hconcat(left, right, spacing=24).resolve_scale(y="independent").properties(
        description="Similarity of the query to each key (best first) and the softmax weight it gets",
    )


def lookup_bars(
    keys: Sequence[str], scores: np.ndarray, weights: np.ndarray, *, score_title: str = "similarity",
    score_bound: float | None = None, max_rows: int = MAX_LOOKUP_ROWS,
) -> dict:
    """Each key's similarity to the query and its softmax weight, best first (the top max_rows keys).

    The score axis spans [-score_bound, score_bound] (``retrieval.Scored.bound``; default: the
    largest |score|), so its length does not change with the query.
    """
    scores, weights = np.asarray(scores, dtype=float), np.asarray(weights, dtype=float)
    bound = float(np.abs(scores).max()) if score_bound is None else float(score_bound)
    bound = float(f"{bound:.3g}") if bound > 0 else 1.0  # 3 digits: one template per similarity, not per query
    idx = top_rows(scores, max_rows)
    data = pa.table({"rank": np.arange(idx.size), "key": [str(keys[i]) for i in idx],
                     "score": scores[idx], "weight": weights[idx],
                     "shown": [f"{weights[i]:.0%}|{keys[i]}" for i in idx]})  # unique: one row per key
    return filled(_lookup_bars_template(score_title, bound), bars=data)


@compiled(maxsize=8)
def _profile_bar_template(parts: tuple[str, ...]) -> alt.TopLevelMixin:
    """One stacked bar: how a value splits over its parts. Dataset ``parts``: part, share, order."""
    colors = [PART_COLORS[i % len(PART_COLORS)] for i in range(len(parts))]  # extra parts reuse them in order
    return alt.Chart(alt.NamedData("parts")).mark_bar(height=26).encode(
        x=alt.X("share:Q", stack="normalize", title=None, axis=alt.Axis(format="%", tickCount=5)),
        color=alt.Color("part:N", title=None, scale=alt.Scale(domain=list(parts), range=colors),
                        legend=alt.Legend(orient="top")),  # a bottom legend gets clipped
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("part:N"), alt.Tooltip("share:Q", format=".1%")],
    ).properties(width="container", height=96, description=f"Split over {', '.join(parts)}")


def profile_bar(shares: np.ndarray, parts: Sequence[str]) -> dict:
    """A value's split over its parts (shares >= 0) as one stacked bar, e.g. a video's topic mix."""
    parts = tuple(str(p) for p in parts)
    data = pa.table({"part": parts, "share": np.asarray(shares, dtype=float), "order": np.arange(len(parts))})
    return filled(_profile_bar_template(parts), parts=data)

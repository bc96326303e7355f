"""A row of attention maps drawn as one chart: token labels once on the left, one colour legend."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pyarrow as pa

from .palette import SEQUENTIAL
from .template import compiled, filled, numbers

LABEL_LIMIT = 90  # pixels of a token label before it is cut


@compiled(maxsize=16)
def _map_row_template(n_maps: int, n: int, cell: int, key_labels: bool) -> alt.TopLevelMixin:
    """n_maps (n x n) maps side by side (dataset ``maps``: p, row, col, value; params ``maps_labels``, ``maps_titles``)."""
    x_axis = alt.Axis(labelExpr="maps_labels[datum.value]", labelAngle=-60, labelLimit=LABEL_LIMIT, orient="top",
                      labelOverlap=cell < 13) if key_labels else None
    y_axis = alt.Axis(labelExpr="maps_labels[datum.value]", labelLimit=LABEL_LIMIT, labelOverlap=cell < 13)
    rect = alt.Chart(alt.NamedData("maps")).mark_rect().encode(
        x=alt.X("col:O", title="key" if key_labels else None, axis=x_axis),
        y=alt.Y("row:O", title="query", axis=y_axis),
        color=alt.Color("value:Q", title="weight", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]),
                        legend=alt.Legend(gradientLength=max(60, min(160, cell * n - 20)))),
        tooltip=[alt.Tooltip("row:O", title="query"), alt.Tooltip("col:O", title="key"),
                 alt.Tooltip("value:Q", title="weight", format=".3f")],
    ).properties(width=cell * n, height=cell * n)
    return rect.facet(
        column=alt.Column("p:O", title=None, header=alt.Header(labelExpr="maps_titles[datum.value]", labelFontSize=14,
                                                               labelFontWeight="bold", labelOrient="bottom")),
        spacing=12,
    ).add_params(alt.param(name="maps_labels", value=[]), alt.param(name="maps_titles", value=[])).properties(
        description=f"{n_maps} attention maps side by side: queries down, keys across")


def map_row(maps: np.ndarray, titles: Sequence[str], labels: Sequence[str], cell: int, *,
            key_labels: bool = True) -> dict:
    """Attention maps (n_maps, n, n) side by side in one chart, titled per map, weights on a 0..1 scale."""
    m = np.asarray(maps, dtype=float)
    if m.ndim != 3 or m.shape[1] != m.shape[2]:
        raise ValueError(f"maps must be (n_maps, n, n), got shape {m.shape}")
    k, n, _ = m.shape
    if len(titles) != k or len(labels) != n:
        raise ValueError(f"{len(titles)} titles and {len(labels)} labels do not fit maps of shape {m.shape}")
    p, rows, cols = np.unravel_index(np.arange(m.size), m.shape)  # (k * n * n,) each, like m.ravel()
    data = pa.table({"p": p, "row": rows, "col": cols, "value": numbers(m.ravel())})
    return filled(_map_row_template(k, n, int(cell), bool(key_labels)),
                  {"maps_labels": [str(s) for s in labels], "maps_titles": [str(s) for s in titles]}, maps=data)

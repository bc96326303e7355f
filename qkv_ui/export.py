"""Exports: every chart as SVG, every matrix as CSV with its token or index labels.

Pure helpers first: a chart (the Vega-Lite spec a ``qkv_ui.charts`` builder returns) -> a
self-contained spec with its data inlined -> SVG bytes, rendered offline by vl-convert; a matrix and
its labels -> CSV bytes. Then ``chart_downloads``, the compact row of download buttons drawn under a chart.

The buttons get callables (``st.download_button(data=callable)``): nothing is rendered or
written on a rerun, only when a button is clicked, and the click does not rerun the page.
PNG needs nothing here: the chart toolbar's "Download as PNG" covers it.
"""

from __future__ import annotations

import functools
import html
import io
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st
import vl_convert

from qkv_ui.phone import for_phone
from qkv_ui.presenter import PRESENT

EXPORT_WIDTH = 720  # pixels for charts sized "container" (the page width), which a file does not have
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a label starting with these


class CsvTable(NamedTuple):
    """A matrix with its labels: rows (n), columns (k) and the header of the label column."""

    matrix: np.ndarray  # (n, k)
    rows: Sequence[str]
    cols: Sequence[str]
    corner: str = ""


# ---- chart -> SVG ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars become Python ones, NaN and ±inf become null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(data: Any) -> list[dict]:
    """A dataset (Arrow table, DataFrame or list of rows) as a list of plain dicts."""
    if isinstance(data, pa.Table):
        rows = data.to_pylist()
    elif isinstance(data, pd.DataFrame):
        rows = data.to_dict(orient="records")
    else:
        rows = list(data)
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _fixed_size(node: Any) -> Any:
    """The spec tree with every ``width``/``height`` of "container" replaced by a fixed size."""
    if isinstance(node, dict):
        return {k: EXPORT_WIDTH if k in ("width", "height") and v == "container" else _fixed_size(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_fixed_size(v) for v in node]
    return node


def inline_spec(spec: dict, title: str | None = None) -> dict:
    """A self-contained copy of the chart's spec: named datasets as ``values`` lists, fixed size.

    ``title`` is drawn when the chart has none of its own (a file has no caption around it).
    The spec passed in is not changed (it may be a cached template's fill).
    """
    datasets = {name: _records(data) for name, data in spec.get("datasets", {}).items()}
    out = _fixed_size({k: v for k, v in spec.items() if k != "datasets"})
    if datasets:
        out["datasets"] = datasets
    if title and not out.get("title"):
        out["title"] = title
    out.setdefault("background", "white")  # a file is viewed anywhere: no transparent background
    return out


def _svg_title(spec: dict) -> str:
    """The text that names a chart: its title, else its description."""
    title = spec.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    return " ".join(title) if isinstance(title, list) else str(title or spec.get("description") or "chart")


def chart_svg(chart: dict, title: str | None = None) -> bytes:
    """The chart as an SVG document, rendered offline (no data is fetched), named by a <title> element."""
    spec = inline_spec(chart, title)
    svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    head, sep, body = svg.partition(">")  # after the opening <svg ...> tag
    name = html.escape(_svg_title(spec), quote=False)
    desc = html.escape(str(spec.get("description", "")), quote=False)
    return (head + sep + f"<title>{name}</title>" + (f"<desc>{desc}</desc>" if desc else "") + body).encode()


# ---- matrix -> CSV ---------------------------------------------------------------------


def _safe_label(label: object) -> str:
    """A label a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    text = str(label)
    return "'" + text if text.startswith(FORMULA_START) else text


def matrix_csv(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], corner: str = "") -> bytes:
    """A matrix as UTF-8 CSV: a header of column labels, each row led by its label.

    Numbers are written in full (shortest round-trip form), so reading the file back gives
    the same values; missing values (NaN) are written as empty cells.
    """
    m = np.asarray(matrix)
    if m.ndim == 1:
        m = m.reshape(-1, 1)  # (n,) -> (n, 1)
    if m.ndim != 2 or m.shape != (len(rows), len(cols)):
        raise ValueError(f"labels {len(rows)}x{len(cols)} do not fit matrix {m.shape}")
    frame = pd.DataFrame(m, index=[_safe_label(r) for r in rows], columns=[_safe_label(c) for c in cols])
    buffer = io.StringIO()
    frame.to_csv(buffer, index_label=_safe_label(corner), lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def table_csv(table: CsvTable) -> bytes:
    """``matrix_csv`` of a ``CsvTable``."""
    return matrix_csv(*table)


# ---- UI ---------------------------------------------------------------------------------


def chart_downloads(
    chart: dict, name: str, *, csv: CsvTable | None = None, title: str | None = None,
    container: Any = None,
) -> None:
    """A compact row of download buttons under a chart: "SVG", and "CSV" when a matrix is given.

    ``name`` is the file name without extension (e.g. ``qkv-attention-layer4-head2``) and the
    buttons' key, so it must be unique on the page; ``title`` names a chart that has no title of its
    own in the file. Files are built only when clicked.
    """
    row = (st if container is None else container).container(horizontal=True, gap="small", key=f"export-{name}")
    row.download_button(
        "SVG", data=functools.partial(chart_svg, chart, title), file_name=f"{name}.svg", mime="image/svg+xml",
        key=f"export-{name}-svg", on_click="ignore", type="tertiary", icon=":material/download:",
        help="This chart as a vector image (SVG). For PNG, use the chart's toolbar.",
    )
    if csv is not None:
        row.download_button(
            "CSV", data=functools.partial(table_csv, csv), file_name=f"{name}.csv", mime="text/csv",
            key=f"export-{name}-csv", on_click="ignore", type="tertiary", icon=":material/download:",
            help="The numbers of this matrix as CSV, with their row and column labels.",
        )


PROJECTOR_TEXT_PX = 14  # the smallest chart text in presenter mode, as displayed
PROJECTOR_MAX_HEIGHT = 230  # a chart's plot in presenter mode: fits a 480 px screen under the tour's banner
_PROJECTOR_CONFIG = {
    "axis": {"labelFontSize": PROJECTOR_TEXT_PX, "titleFontSize": PROJECTOR_TEXT_PX, "titlePadding": 6,
             "labelPadding": 3},
    "legend": {"labelFontSize": PROJECTOR_TEXT_PX, "titleFontSize": PROJECTOR_TEXT_PX},
    "header": {"labelFontSize": PROJECTOR_TEXT_PX, "titleFontSize": PROJECTOR_TEXT_PX},
    "title": {"fontSize": PROJECTOR_TEXT_PX + 2, "subtitleFontSize": PROJECTOR_TEXT_PX, "offset": 6},
    "text": {"fontSize": PROJECTOR_TEXT_PX},
}


def _projected(node: Any, legend_px: int) -> Any:
    """The spec tree with text marks at least PROJECTOR_TEXT_PX (cell numbers set their own size) and colour
    legends at most ``legend_px`` long (a legend longer than the plot is cut off)."""
    if isinstance(node, list):
        return [_projected(v, legend_px) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k == "datasets" else _projected(v, legend_px)) for k, v in node.items()}
    mark = out.get("mark")
    if isinstance(mark, dict) and mark.get("type") == "text":
        out["mark"] = {**mark, "fontSize": max(mark.get("fontSize", 0), PROJECTOR_TEXT_PX)}
    if isinstance(out.get("gradientLength"), (int, float)):
        out["gradientLength"] = min(out["gradientLength"], legend_px)
    return out


def for_projector(spec: dict) -> dict:
    """A presenter-mode copy of a chart: text at least 14 px, the plot at most PROJECTOR_MAX_HEIGHT tall."""
    height = spec.get("height")
    if isinstance(height, (int, float)):  # a short chart's axis and legend need room for the larger text
        height = min(PROJECTOR_MAX_HEIGHT, height + PROJECTOR_TEXT_PX if height < 120 else height)
    # A heatmap's height includes its axes' room (about half of it once capped): its legend gets the other half.
    out = _projected(spec, legend_px=int(height // 2) if isinstance(height, (int, float)) else PROJECTOR_MAX_HEIGHT)
    if isinstance(height, (int, float)):
        out["height"] = height
    if isinstance(out.get("params"), list):  # a size fitted to a phone (qkv_ui.phone) would override these
        out["params"] = [p for p in out["params"] if p.get("name") not in ("width", "height")]
    config = dict(out.get("config", {}))
    for part, fonts in _PROJECTOR_CONFIG.items():
        config[part] = {**config.get(part, {}), **fonts}
    out["config"] = config
    return out


def show_chart(
    chart: dict, name: str, *, csv: CsvTable | None = None, title: str | None = None,
    container: Any = None, **chart_options: Any,
) -> Any:
    """Draw a chart (a Vega-Lite spec dict) with its row of download buttons under it.

    In presenter mode the chart is drawn for a projector (``for_projector``), elsewhere with text that
    grows to 14 px in a phone-wide window (``qkv_ui.phone.for_phone``); the downloads stay as on the desk. ``chart_options`` go to ``st.vega_lite_chart``; returns what it returns.
    """
    where = st if container is None else container
    shown = for_projector(chart) if st.session_state.get(PRESENT) else for_phone(chart)
    event = where.vega_lite_chart(spec=shown, **chart_options)
    chart_downloads(chart, name, csv=csv, title=title, container=where)
    return event

"""The /smoothing page's controls: series sources, URL parameters, the upload reader and callbacks.

The page (``pages/story/smoothing.py``) draws; this module holds what its widgets are bound to.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from qkv_core import series
from qkv_ui import urlstate

SOURCES = {"steps": "Steps", "sine": "Noisy sine", "random_walk": "Random walk", "co2": "Mauna Loa CO₂",
           "upload": "Your CSV"}
MAX_CELLS = 200  # a W heatmap never has more than MAX_CELLS × MAX_CELLS cells, whatever n is
W_CORNER = "output step \\ input step"  # top-left cell of W's CSV: rows are outputs, columns inputs
PARAMS = [
    urlstate.choice_param("src", "steps", list(SOURCES)),
    urlstate.int_param("n", 200, 20, 5000),
    urlstate.float_param("noise", 0.2, 0.0, 1.5),
    urlstate.int_param("seed", 0, 0, 9999),
    urlstate.float_param("sigma", 4.0, 0.5, 50.0),
    urlstate.float_param("trunc", 3.0, 0.5, 6.0),
    urlstate.int_param("t", 78, 0, 19_999),  # clamped to the series below
    urlstate.float_param("sigv", 0.3, 0.05, 3.0),
    urlstate.text_param("col", "", max_chars=200),
]
real_series = st.cache_data(series.load_real_series)


@st.cache_data(max_entries=8)
def read_upload(data: bytes, name: str, column: str | None) -> series.ParsedSeries | str:
    """The uploaded series, or why it can't be used (a SeriesError message)."""
    try:
        return series.series_from_csv(data, name, column)
    except series.SeriesError as err:
        return str(err)


def refuse(message: str) -> None:
    """End the page with the reason an upload can't be used (plain text: it may quote the file)."""
    st.error("This file can't be used as a series:", icon=":material/block:")
    st.text(message)
    urlstate.publish(PARAMS)
    st.stop()


def pick_focus(key: str, sel: str, starts: np.ndarray, n: int) -> None:
    """W heatmap click: focus on the middle step of the clicked row's block."""
    picked = st.session_state[key]["selection"]
    chosen = picked.get(sel) or []
    if chosen:
        b = int(chosen[0]["row"])
        st.session_state["t"] = int(starts[b] + (np.append(starts, n)[b + 1] - 1 - starts[b]) // 2)

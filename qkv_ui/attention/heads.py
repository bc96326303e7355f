"""View `heads`: several heads of one layer side by side, what each does, and how they are joined."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from qkv_core import patterns
from qkv_core.encoder import Encoder
from qkv_core.matrix import window
from qkv_ui import charts, export
from qkv_ui.attention.common import WINDOW, Selection
from qkv_ui.attention.projections import projections_section
from qkv_ui.presenter import PRESENT
from qkv_ui.stage import focus

KIND_NAMES = {
    "previous": "previous token", "next": "next token", "self": "itself", "punct": "punctuation",
    "same_word": "same word elsewhere",
}
MAP_PIXELS = (600, 520)  # width of a row of maps' cells: on the desk (fits a 1280 px window), on a projector
MAX_CELL = 24  # px: a short text's maps stay a sensible size


def map_cell(n_maps: int, n_tokens: int, presenting: bool) -> int:
    """Cell size in px of a row of ``n_maps`` maps of ``n_tokens`` tokens: at least 2, at most MAX_CELL."""
    return max(2, min(MAX_CELL, MAP_PIXELS[presenting] // max(n_maps * n_tokens, 1)))


def _show_layer(layer: int) -> None:
    """Move the shared layer slider (1-based), and with it the URL."""
    st.session_state["layer"] = layer


def side_by_side(maps: np.ndarray, names: list[str], labels: list[str]) -> export.CsvTable:
    """(n, T, T) maps as one CSV table: every query a row, each map's keys in turn as columns."""
    return export.CsvTable(np.concatenate(list(maps), axis=1), labels,
                           [f"{name} · {label}" for name in names for label in labels], "query \\ map · key")


def heads_view(encoder: Encoder, sel: Selection) -> None:
    """Several heads of one layer side by side, what each does, and how their outputs are joined."""
    trace, tokens, layer = sel.trace, sel.trace.tokens, sel.layer
    survey = patterns.survey_layer(encoder, trace, layer, sel.head, hide_specials=sel.hide_specials)
    H, d_head, T = survey.n_heads, survey.d_head, trace.T
    parked = survey.n_parked
    st.subheader(f"Layer {layer + 1}: {H} heads, {H - parked} habits" + (f", {parked} parked" if parked else ""))
    st.caption("Each head has its own W_q, W_k, W_v, so each can search for something different. "
               "The descriptions below are computed from the weights on your text; a head whose weight mostly "
               "sits on [CLS] or [SEP] is parked there, which is no habit.")
    best = survey.most_varied
    variety = ", ".join(f"{i + 1}: {v:.2f}" for i, v in enumerate(survey.variety))
    if best != layer:
        st.button(f"Show the most varied layer (layer {best + 1})", key="heads-most-varied", on_click=_show_layer,
                  args=(best + 1,), icon=":material/swap_vert:")
    st.caption(("This is the layer whose heads differ most on your text. " if best == layer else "")
               + f"How much two heads' maps differ, on average, per layer (0 = alike, 1 = no overlap; weight on "
               f"[CLS]/[SEP] left out, so parked heads count as alike): {variety}.")
    summary = pd.DataFrame({"head": np.arange(1, H + 1), "what it does here": [p.text for p in survey.patterns]})
    st.dataframe(summary, hide_index=True, width="stretch", height=38 + 35 * H)
    if survey.clearest:
        st.caption("Clearest habits on this text, across all layers: " + "; ".join(
            f"{KIND_NAMES.get(e.kind, e.kind)}: layer {e.layer + 1} head {e.head + 1} ({e.score:.0%})"
            for e in survey.clearest) + ".")
    start, stop = window(T, sel.token, 2 * WINDOW)
    all_labels = [f"{i}: {t}" for i, t in enumerate(tokens)]
    presenting = bool(st.session_state.get(PRESENT))
    cell = map_cell(len(survey.shown), stop - start, presenting)
    block = focus("head-maps")
    export.show_chart(charts.map_row(survey.maps[:, start:stop, start:stop], [f"head {h + 1}" for h in survey.shown],
                                     all_labels[start:stop], cell, key_labels=not presenting),
                      f"qkv-attention-layer{layer + 1}-heads-{'-'.join(str(h + 1) for h in survey.shown)}",
                      csv=side_by_side(survey.maps, [f"head {h + 1}" for h in survey.shown], all_labels),
                      container=block, width="content")
    block.caption(" · ".join(f"Head {h + 1}: {survey.patterns[h].text}" for h in survey.shown))
    projections_section(sel, all_labels, map_cell(2, stop - start, presenting))
    width = survey.projected.shape[1]
    st.subheader("Joining the heads")
    st.markdown(
        f"Each head returns a {T} × {d_head} matrix. Side by side they make one {T} × {H * d_head} matrix "
        f"(the concatenation), and a learned {H * d_head} × {width} matrix W_o mixes them back "
        f"into the model's width: one {T} × {width} update per layer, added to the input."
    )
    q = sel.token
    st.markdown(f"**Token {q}: the {H} heads' outputs, joined** ({H} × {d_head} = {H * d_head} numbers)")
    export.show_chart(charts.vector_strip(survey.joined[q], "joined head outputs", cell=2),
                      f"qkv-attention-layer{layer + 1}-token{q}-joined", width="content",
                      title=f"Layer {layer + 1}, token {q}: the {H} heads' outputs, joined")
    st.markdown(f"**…after W_o** ({width} numbers)")
    export.show_chart(charts.vector_strip(survey.projected[q], "after the output projection", cell=2),
                      f"qkv-attention-layer{layer + 1}-token{q}-projected", width="content",
                      title=f"Layer {layer + 1}, token {q}: after the output projection W_o")
    st.caption(f"The joined vector is {H} blocks of {d_head}: one per head. W_o lets every head's finding reach "
               "every dimension of the output.")

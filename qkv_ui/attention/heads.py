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
from qkv_ui.frame import focus

KIND_NAMES = {"previous": "previous token", "next": "next token", "self": "itself", "cls": "[CLS]", "sep": "[SEP]",
              "same_word": "same word elsewhere"}


def heads_view(encoder: Encoder, sel: Selection) -> None:
    """Several heads of one layer side by side, what each does, and how their outputs are joined."""
    trace, tokens, layer = sel.trace, sel.trace.tokens, sel.layer
    survey = patterns.survey_layer(encoder, trace, layer, sel.head, hide_specials=sel.hide_specials)
    H, d_head, T = survey.n_heads, survey.d_head, trace.T
    st.subheader(f"Layer {layer + 1}: {H} heads, {H} habits")
    st.caption("Each head has its own W_q, W_k, W_v, so each can search for something different. "
               "The descriptions below are computed from the weights on your text.")
    summary = pd.DataFrame({"head": np.arange(1, H + 1), "what it does here": [p.text for p in survey.patterns]})
    st.dataframe(summary, hide_index=True, width="stretch", height=38 + 35 * H)
    if survey.clearest:
        st.caption("Clearest examples on this text, across all layers: " + "; ".join(
            f"{KIND_NAMES.get(e.kind, e.kind)}: layer {e.layer + 1} head {e.head + 1} ({e.score:.0%})"
            for e in survey.clearest) + ".")
    start, stop = window(T, sel.token, 2 * WINDOW)
    all_labels = [f"{i}: {t}" for i, t in enumerate(tokens)]
    labels = all_labels[start:stop]
    cell = max(3, min(12, 200 // max(stop - start, 1)))
    for col, h, w in zip(focus("head-maps").columns(len(survey.shown)), survey.shown, survey.maps):
        export.show_chart(charts.heatmap(
            w[start:stop, start:stop], labels, labels, title=f"head {h + 1}", row_title="query", col_title="key",
            domain=(0.0, 1.0), cell=cell, show_numbers=False), f"qkv-attention-layer{layer + 1}-head{h + 1}",
            csv=export.CsvTable(w, all_labels, all_labels, "query \\ key"), container=col, width="stretch")
        col.caption(f"Head {h + 1}: {survey.patterns[h].text}")
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

"""View `context`: the same word in two sentences, layer by layer."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qkv_core import vectors
from qkv_core.encoder import Encoder
from qkv_ui import charts, export
from qkv_ui.frame import focus, urlstate
from qkv_ui.model import get_trace

RIVER = "We sat on the bank of the river and watched the water."
LOAN = "I went to the bank to ask for a loan."
PARAMS = [
    urlstate.text_param("s1", RIVER, max_chars=500),
    urlstate.text_param("s2", LOAN, max_chars=500),
    urlstate.text_param("word", "bank", max_chars=60),
    urlstate.int_param("n1", 1, 1, 50),
    urlstate.int_param("n2", 1, 1, 50),
]


def context_view(encoder: Encoder) -> None:
    """The same word in two sentences: how similar its vectors are before and after each layer."""
    st.subheader("What attention buys: vectors that know their context")
    st.caption("A word starts as the same vector wherever it appears. Every layer mixes in its context, "
               "so the two uses drift apart when their meanings differ.")
    c1, c2 = st.columns(2)
    c1.text_input("Sentence A", key="s1")
    c2.text_input("Sentence B", key="s2")
    st.text_input("Word to follow", key="word", max_chars=60)
    word = st.session_state["word"].strip()
    if not any(ch.isalnum() for ch in word):
        st.info("Type a word (letters or digits) that appears in both sentences.")
        return
    traces = [get_trace(encoder, st.session_state[k]) for k in ("s1", "s2")]
    spans = [vectors.find_word(t, word) for t in traces]
    missing = [name for name, s in zip("AB", spans) if not s]
    if missing:
        st.info(f"Type a word that appears in both sentences (not found in sentence {' and '.join(missing)}).")
        return
    chosen = []
    for col, key, found in zip(st.columns(2), ("n1", "n2"), spans):
        if st.session_state[key] > len(found):
            urlstate.warn_refused(key, f"the word appears only {len(found)} time(s) in this sentence",
                                  "the default, the first", container=col)
            st.session_state[key] = 1
        if len(found) > 1:
            col.number_input("Which occurrence", 1, len(found), key=key)
        chosen.append(found[st.session_state[key] - 1])
    pair = vectors.compare_word(traces, chosen, k=5)
    sims = pair.cosines
    export.show_chart(charts.cosine_by_layer(sims, word), "qkv-attention-context-cosine", width="stretch",
                      container=focus("context"),
                      csv=export.CsvTable(sims, [str(i) for i in range(len(sims))], ["cosine"], "layer"))
    pieces = [len(s.pieces) for s in chosen]
    st.caption(
        f"Layer 0 is the embedding before any attention: cosine {sims[0]:.2f}. After the last layer: "
        f"{sims[-1]:.2f}." + (" A word split into several pieces is followed as the mean of its pieces."
                              if max(pieces) > 1 else "")
    )
    cols = st.columns(2)
    for col, near, name in zip(cols, pair.nearest, "AB"):
        col.markdown(f"**Nearest tokens in sentence {name}, after the last layer**")
        col.dataframe(pd.DataFrame(near, columns=["position", "token", "cosine"]), hide_index=True, width="stretch")

"""View `context`: the same word in two sentences, layer by layer, against a same-sense control."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qkv_core import vectors
from qkv_core.encoder import Encoder
from qkv_ui import charts, export, urlstate
from qkv_ui.model import get_trace
from qkv_ui.stage import focus

RIVER = "We sat on the bank of the river and watched the water."
LOAN = "I went to the bank to ask for a loan."
STREAM = "They walked along the bank of the stream at dawn."  # the control: the word in sentence A's sense
PARAMS = [
    urlstate.text_param("s1", RIVER, max_chars=500),
    urlstate.text_param("s2", LOAN, max_chars=500),
    urlstate.text_param("s3", STREAM, max_chars=500),
    urlstate.text_param("word", "bank", max_chars=60),
    urlstate.int_param("n1", 1, 1, 50),
    urlstate.int_param("n2", 1, 1, 50),
]
PAIR, CONTROL = "A vs B", "A vs C (control, same sense as A)"


def _position_note(pair: vectors.WordComparison) -> str:
    """Why layer 0 is, or is not, exactly 1: the embedding adds a position vector."""
    (a, *_), (b, *_) = pair.positions
    if pair.same_position:
        return (f"It is 1 because the word sits at the same position ({a}) in both: the embedding is the word's "
                "vector plus its position's vector, identical here.")
    return (f"It is not 1 although the word is the same: the embedding adds a position vector, and the word sits at "
            f"position {a} in A but {b} in B. Layer 0 equals 1 only when the positions match.")


def context_view(encoder: Encoder) -> None:
    """The same word in two sentences and a control: how similar its vectors are before and after each layer."""
    st.subheader("What attention buys: vectors that know their context")
    st.caption("A word starts as the same vector wherever it appears. Every layer mixes in its context, "
               "so the two uses drift apart when their meanings differ; sentence C uses the word as A does, "
               "to show how far any change of context moves it.")
    c1, c2, c3 = st.columns(3)
    c1.text_input("Sentence A", key="s1")
    c2.text_input("Sentence B (another sense)", key="s2")
    c3.text_input("Sentence C (control: A's sense)", key="s3")
    st.text_input("Word to follow", key="word", max_chars=60)
    word = st.session_state["word"].strip()
    if not any(ch.isalnum() for ch in word):
        st.info("Type a word (letters or digits) that appears in both sentences.")
        return
    traces = [get_trace(encoder, st.session_state[k]) for k in ("s1", "s2", "s3")]
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
    result = vectors.compare_with_control(traces, [*chosen, spans[2][0] if spans[2] else None], k=5)
    pair, control = result.pair, result.control
    sims = pair.cosines
    lines = {PAIR: sims} if control is None else {PAIR: sims, CONTROL: control.cosines}
    names = list(lines)
    table = pd.DataFrame(lines).to_numpy()  # (L+1, pairs)
    export.show_chart(charts.cosine_by_layer(lines, word), "qkv-attention-context-cosine", width="stretch",
                      container=focus("context"),
                      csv=export.CsvTable(table, [str(i) for i in range(len(sims))], names, "layer"))
    if control is None:
        st.info("The word is not in sentence C, so there is no control line.")
    pieces = [len(s.pieces) for s in chosen]
    after = (f"After the last layer: {sims[-1]:.2f} between A and B" +
             (f", {control.cosines[-1]:.2f} between A and the control C. The gap between the lines is what the "
              "change of sense adds to the drift any new context causes." if control is not None else "."))
    st.caption(
        f"Layer 0 is the embedding before any attention: cosine {sims[0]:.2f} for A vs B. {_position_note(pair)} "
        f"{after} The axis runs from 0 to 1 for every pair of sentences."
        + (" A word split into several pieces is followed as the mean of its pieces." if max(pieces) > 1 else "")
    )
    cols = st.columns(2)
    for col, near, name in zip(cols, pair.nearest, "AB"):
        col.markdown(f"**Nearest tokens in sentence {name}, after the last layer**")
        col.dataframe(pd.DataFrame(near, columns=["position", "token", "cosine"]), hide_index=True, width="stretch")

"""View `map`: every head as a small map, the selected head in detail, one query's row."""

from __future__ import annotations

import streamlit as st

from qkv_core import steps
from qkv_core.encoder import Encoder
from qkv_core.heads import overview_blocks
from qkv_core.matrix import window
from qkv_ui import charts, export
from qkv_ui.attention.common import WINDOW, Selection
from qkv_ui.frame import focus


def _pick_head() -> None:
    chosen = st.session_state["overview"]["selection"].get("pick") or []
    if chosen:
        st.session_state["layer"], st.session_state["head"] = int(chosen[0]["layer"]), int(chosen[0]["head"])


def _pick_query(start: int) -> None:
    chosen = st.session_state["detail"]["selection"].get("row") or []
    if chosen:
        st.session_state["token"] = start + int(chosen[0]["row"])


def map_view(encoder: Encoder, sel: Selection) -> None:
    """All heads as small maps, the selected head in detail, and one query's row."""
    trace, tokens, T = sel.trace, sel.trace.tokens, sel.trace.T
    blocks, _ = overview_blocks(trace.attentions, max_bins=16)
    export.show_chart(charts.attention_overview(blocks, (sel.layer, sel.head)), "qkv-attention-all-heads",
                      key="overview", on_select=_pick_head, selection_mode="pick", width="stretch")
    st.caption(
        "Each small square is one head's attention map. Heads differ: some look at the next or previous word, "
        "some at [SEP], some spread out." + (" Long texts are shown as averaged blocks." if T > 16 else "")
    )
    st.subheader(f"Layer {sel.layer + 1}, head {sel.head + 1}: who looks at whom")
    st.caption("Each row is a query token, each column a key it looks at; every row sums to 1.")
    weights = sel.weights()
    start, stop = window(T, sel.token, 2 * WINDOW)
    labels = [f"{i}: {t}" for i, t in enumerate(tokens)]
    detail = charts.heatmap(
        weights[start:stop, start:stop], labels[start:stop], labels[start:stop],
        row_title="query: this token looks…", col_title="…at this key", value_title="weight", domain=(0.0, 1.0),
        cell=34 if stop - start <= 16 else 20 if stop - start <= 40 else 12, select_rows="row",
        description=f"Attention weights of layer {sel.layer + 1}, head {sel.head + 1}: queries down, keys across",
    )
    export.show_chart(detail, sel.file_name(), csv=export.CsvTable(weights, labels, labels, "query \\ key"),
                      key="detail", on_select=lambda: _pick_query(start), selection_mode="row", width="content")
    if (start, stop) != (0, T):
        st.caption(f"Showing tokens {start}–{stop - 1} of {T}, centred on the query token.")
    if sel.hide_specials:
        share = steps.special_share(trace.attentions[sel.layer:sel.layer + 1, sel.head:sel.head + 1], tokens)[0, 0]
        st.caption(
            f"[CLS] and [SEP] columns hidden, rows renormalised. This head really gives them {share:.0%} of its "
            "attention: BERT-style models learn to park attention on these markers when a head finds nothing "
            "useful to look at, a no-op that leaves the output almost unchanged.")
    q = sel.token
    st.markdown(f"**Row {q}: where this query token looks**" + (" (its 40 largest weights)" if T > 40 else ""))
    export.show_chart(charts.attention_row(weights[q], tokens), sel.file_name(f"token{q}"),
                      title=f"Layer {sel.layer + 1}, head {sel.head + 1}: where token {q} looks", width="stretch",
                      container=focus("row"))
    top = int(weights[q].argmax())
    st.caption(
        f"Row {q} is one softmax: all its weights are positive and add up to 1. Its largest weight, "
        f"{weights[q, top]:.2f}, goes to token {top} ({tokens[top]}). Click a row of the map, or a token above, "
        "to change the query."
    )

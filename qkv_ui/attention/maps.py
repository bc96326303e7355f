"""View `map`: every head as a small map, the selected head in detail, one query's row, and that row beside
the same head on a contrast sentence (does the head follow what the query word refers to?)."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import streamlit as st

from qkv_core import heads
from qkv_core.encoder import Encoder
from qkv_ui import charts, export
from qkv_ui.attention.common import WINDOW, Selection, md
from qkv_ui.attention.explain import WEIGHTINGS, value_weighted_trace
from qkv_ui.model import get_trace
from qkv_ui.stage import focus


def _pick_head() -> None:
    chosen = st.session_state["overview"]["selection"].get("pick") or []
    if chosen:
        st.session_state["layer"], st.session_state["head"] = int(chosen[0]["layer"]), int(chosen[0]["head"])


def _pick_query(start: int) -> None:
    chosen = st.session_state["detail"]["selection"].get("row") or []
    if chosen:
        st.session_state["token"] = start + int(chosen[0]["row"])


def _window_caption(s: heads.MapSummary, t: int) -> str:
    """Where the detail map's window sits: exact counts on each side of the query."""
    edge = (" (the window starts at the beginning of the text)" if s.start == 0 else
            " (the window ends at the end of the text)" if s.stop == t else "")
    return (f"Showing tokens {s.start}–{s.stop - 1} of {t}: {s.before} before the query token {s.token} and "
            f"{s.after} after it{edge}.")


def map_view(encoder: Encoder, sel: Selection) -> None:
    """All heads as small maps, the selected head in detail, one query's row, and a two-sentence comparison."""
    raw_sel = sel
    st.segmented_control("Weights", options=list(WEIGHTINGS), format_func=WEIGHTINGS.get, key="weighting",
                         help="Value-weighted: each weight times the size of what its key sends, ‖α·f(x)‖, "
                              "rows rescaled to sum 1 (Kobayashi et al., 2020).")
    if st.session_state.get("weighting") == "norm":
        sel = dataclasses.replace(sel, trace=dataclasses.replace(
            sel.trace, attentions=value_weighted_trace(encoder, sel.trace)))
        st.caption("Value-weighted maps: a weight on a token that sends almost nothing shrinks. Switch back to raw "
                   "weights and watch the [CLS]/[SEP] columns return.")
    trace, tokens, T = sel.trace, sel.trace.tokens, sel.trace.T
    s = heads.map_summary(trace, sel.layer, sel.head, sel.token, sel.hide_specials, 2 * WINDOW)
    export.show_chart(charts.attention_overview(s.blocks, (sel.layer, sel.head)), "qkv-attention-all-heads",
                      key="overview", on_select=_pick_head, selection_mode="pick", width="stretch")
    st.caption(
        "Each small square is one head's attention map. Heads differ: some look at the next or previous word, "
        f"some spread out, and many park on the markers: on this text {s.n_parking} of the {s.n_heads_total} heads "
        "put more than half their weight on [CLS] or [SEP]."
        + (" Long texts are shown as averaged blocks." if s.binned else "")
    )
    st.subheader(f"Layer {sel.layer + 1}, head {sel.head + 1}: who looks at whom")
    st.caption("Each row is a query token, each column a key it looks at; every row sums to 1. "
               f"The outlined row is the query token {sel.token}.")
    start, stop = s.start, s.stop
    labels = [f"{i}: {t}" for i, t in enumerate(tokens)]
    detail = charts.heatmap(
        s.weights[start:stop, start:stop], labels[start:stop], labels[start:stop],
        row_title="query: this token looks…", col_title="…at this key", value_title="weight", domain=(0.0, 1.0),
        cell=34 if stop - start <= 16 else 20 if stop - start <= 40 else 12, select_rows="row",
        highlight_row=sel.token - start,
        description="Attention weights of the head named above: queries down, keys across",  # the same every rerun
    )
    export.show_chart(detail, sel.file_name(), csv=export.CsvTable(s.weights, labels, labels, "query \\ key"),
                      title=f"Attention weights of layer {sel.layer + 1}, head {sel.head + 1}",  # the file's title
                      key="detail", on_select=lambda: _pick_query(start), selection_mode="row", width="content")
    if (start, stop) != (0, T):
        st.caption(_window_caption(s, T))
    if sel.hide_specials:
        st.caption(
            f"[CLS] and [SEP] columns hidden, rows renormalised. This head really gives them "
            f"{s.special_share:.0%} of its attention: BERT-style models learn to park attention on these markers "
            "when a head finds nothing useful to look at, a no-op that leaves the output almost unchanged.")
    elif T > 2:
        st.caption(
            f"Tokens 0 ([CLS]) and {T - 1} ([SEP]) are markers, not words. On this text this head puts "
            f"{s.special_share:.0%} of its attention on them (row {sel.token}: {s.row_special_share:.0%}). "
            "BERT-style models learn to park attention there when a head finds nothing useful to look at: "
            "a near no-op. Switch on 'Hide [CLS] / [SEP] columns' to see how the rest is shared.")
    q = sel.token
    st.markdown(f"**Row {q}: where this query token looks**" + (" (its 40 largest weights)" if T > 40 else ""))
    export.show_chart(charts.attention_row(s.weights[q], tokens), sel.file_name(f"token{q}"),
                      title=f"Layer {sel.layer + 1}, head {sel.head + 1}: where token {q} looks", width="stretch",
                      container=focus("row"))
    st.caption(
        f"Row {q} is one softmax: all its weights are positive and add up to 1. Its largest weight, "
        f"{s.top_weight:.2f}, goes to token {s.top} ({md(tokens[s.top])}). Click a row of the map, or a token above, "
        "to change the query."
    )
    _flagship(encoder, raw_sel)  # raw weights in both sentences


def _flagship(encoder: Encoder, sel: Selection) -> None:
    """The selected head's row for the query word in the visitor's text beside the same word in a contrast text."""
    st.subheader("Does this head work out what the word refers to?")
    st.caption("One sentence cannot tell. Change the sentence so the word means something else, and see whether "
               "this head's row changes with it. Real weights, [CLS]/[SEP] included.")
    st.text_input("Compare with", key="text2", help="The same query word in a sentence where it means something "
                                                     "else. Default: the 'tired' sentence with 'wide'.")
    other = get_trace(encoder, st.session_state["text2"], causal=sel.trace.causal,
                      scale=None if st.session_state.get("sqrtd", True) else 1.0)  # the same what-ifs as the text
    word = sel.trace.tokens[sel.token]
    c = heads.compare_query(sel.trace, other, sel.layer, sel.head, sel.token, k=3)
    box = focus("flagship")
    if c is None:
        box.info(f"The second text has no '{md(word)}' piece: type a sentence that uses it.", icon=":material/search:")
        return
    if sel.trace.text == other.text:
        box.info("Both texts are the same: change the second one.", icon=":material/edit:")
        return
    cols = box.columns(2)
    for col, name, text, top, q in zip(cols, ("Your text", "Compare with"), (sel.trace.text, other.text), c.top,
                                       c.tokens):
        short = text if len(text) <= 90 else text[:87] + "…"
        col.text(f"{name}, token {q} ({c.word}): {short}")  # user text: never markdown
        col.dataframe(pa.table({"key": [f"{k.index}: {k.token}" for k in top],  # Arrow: no pandas round trip
                                "weight": [k.weight for k in top]}),
                      hide_index=True, width="stretch", height=38 + 35 * len(top),
                      column_config={"weight": st.column_config.ProgressColumn(
                          "weight", min_value=0.0, max_value=1.0, format="%.2f")})
    box.caption(_verdict(c))


def _verdict(c: heads.QueryComparison) -> str:
    """What the two rows show, in numbers, and what they do not."""
    a, b = c.word_top
    w = md(c.word)
    head = f"Layer {c.layer + 1}, head {c.head + 1}"
    if c.same_word:
        return (f"{head}: in both texts the largest weight of '{w}' on another word goes to '{md(a.token)}' "
                f"({a.weight:.2f}, then {b.weight:.2f}; [CLS]/[SEP] take {c.special[0]:.2f}, then "
                f"{c.special[1]:.2f}). It picks '{md(a.token)}' either way, so these numbers do not show it "
                f"working out what '{w}' refers to.")
    return (f"{head}: the largest weight of '{w}' on another word goes to '{md(a.token)}' in your text ({a.weight:.2f}; the other text "
            f"gives it {c.cross[0]:.2f}) and at '{md(b.token)}' in the other ({b.weight:.2f}; your text gives it "
            f"{c.cross[1]:.2f}). Here the head's choice changes with the sentence; two sentences are a hint, "
            "not proof that it resolves what the word refers to.")

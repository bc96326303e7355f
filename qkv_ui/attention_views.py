"""The views of the /attention page. Each takes the shared encoder and a selection and draws one lesson.

Computation comes from ``qkv_core`` (``heads``, ``steps``, ``patterns``, ``vectors``, ``scaling``): one call per
view returns a frozen result, and the view draws it with ``qkv_ui.charts``.
User text reaches the screen only inside widgets, tables and chart data, never through markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from qkv_core import patterns, scaling, steps, vectors
from qkv_core.encoder import Encoder, Trace
from qkv_core.heads import overview_blocks
from qkv_core.matrix import window
from qkv_ui import charts, export, urlstate
from qkv_ui.model import get_trace

VIEWS = {
    "map": "Attention maps",
    "steps": "Step by step",
    "heads": "Why many heads",
    "context": "Context-aware vectors",
    "scaling": "Why ÷√d",
}
D_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
RIVER = "We sat on the bank of the river and watched the water."
LOAN = "I went to the bank to ask for a loan."
EXTRA_PARAMS = [
    urlstate.text_param("s1", RIVER, max_chars=500),
    urlstate.text_param("s2", LOAN, max_chars=500),
    urlstate.text_param("word", "bank", max_chars=60),
    urlstate.int_param("n1", 1, 1, 50),
    urlstate.int_param("n2", 1, 1, 50),
    urlstate.choice_param("d", "64", [str(d) for d in D_CHOICES]),
]
WINDOW = 40  # tokens each side of the query in windowed matrices
KIND_NAMES = {"previous": "previous token", "next": "next token", "self": "itself", "cls": "[CLS]", "sep": "[SEP]",
              "same_word": "same word elsewhere"}


@dataclass(frozen=True)
class Selection:
    """What the viewer is looking at: a trace and a 0-based layer, head and query token."""

    trace: Trace
    layer: int
    head: int
    token: int
    hide_specials: bool

    def weights(self) -> np.ndarray:
        """The selected head's (T, T) weights, with [CLS]/[SEP] hidden if asked (rows renormalised)."""
        w = self.trace.attentions[self.layer, self.head]
        return steps.hide_special_columns(w, self.trace.tokens) if self.hide_specials else w

    def file_name(self, suffix: str = "") -> str:
        """Export file name (no extension) for this layer and head, e.g. ``qkv-attention-layer4-head2-q``."""
        return f"qkv-attention-layer{self.layer + 1}-head{self.head + 1}" + (f"-{suffix}" if suffix else "")


def input_notes(trace: Trace, encoder: Encoder) -> None:
    """Say what happened to the text on its way in: empty, truncated, unknown pieces."""
    if trace.T <= 2:
        what = ("The text is empty" if not trace.text.strip() else
                "The model finds no word pieces in this text (only invisible, control or combining characters)")
        st.info(f"{what}: it still sees its two markers, [CLS] and [SEP]. Type a sentence.")
    max_positions = encoder.config.max_positions
    if trace.truncated:
        st.warning(
            f"Your text has {trace.n_tokens_full:,} word pieces; the model takes at most {max_positions}, "
            f"so only the first {max_positions - 2} (plus [CLS] and [SEP]) are used.", icon=":material/content_cut:")
    n_unk = trace.tokens.count("[UNK]")
    if n_unk:
        st.info(
            f"{n_unk} piece(s) became [UNK]: the model's {encoder.tokenizer.get_vocab_size():,}-piece vocabulary "
            "has no piece for them "
            "(often emoji or rare scripts), so it sees one generic 'unknown' vector there.", icon=":material/help:")


def what_if_notes(trace: Trace, baseline: Trace) -> None:
    """Explain the active what-if toggles with numbers measured on this text."""
    if trace is baseline:
        return
    if trace.scale == 1.0:
        top_now, top_base = trace.attentions.max(-1).mean(), baseline.attentions.max(-1).mean()
        st.warning(
            f"What-if: scores are not divided by √d_head = {np.sqrt(trace.queries.shape[-1]):.2f}, so they are that "
            f"many times larger and the softmax sharpens: the average top weight of a row goes from {top_base:.2f} "
            f"to {top_now:.2f}.", icon=":material/science:")
    if trace.causal:
        sims = steps.output_change(baseline, trace)
        st.warning(
            "What-if: each token sees only itself and the tokens before it. The model was trained to look both "
            f"ways, so its outputs change: the final vectors keep an average cosine of {sims.mean():.2f} with the "
            f"normal run (1 would mean unchanged; the most changed word piece keeps {sims[1:-1].min():.2f})"
            if trace.T > 2 else "What-if: causal mask on.", icon=":material/science:")


# ---- view: attention maps -------------------------------------------------------------


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
                      title=f"Layer {sel.layer + 1}, head {sel.head + 1}: where token {q} looks", width="stretch")
    top = int(weights[q].argmax())
    st.caption(
        f"Row {q} is one softmax: all its weights are positive and add up to 1. Its largest weight, "
        f"{weights[q, top]:.2f}, goes to token {top} ({tokens[top]}). Click a row of the map, or a token above, "
        "to change the query."
    )


# ---- view: step by step ---------------------------------------------------------------


def steps_view(encoder: Encoder, sel: Selection) -> None:
    """One query token through one head with every real number, then the same in matrix form."""
    trace, tokens = sel.trace, sel.trace.tokens
    both = steps.head_steps(encoder, trace, sel.layer, sel.head, sel.token)
    step, m = both.token, both.matrix
    d_head, d_model = step.w_q.shape
    st.subheader(f"Token {sel.token} ({tokens[sel.token]}) through layer {sel.layer + 1}, head {sel.head + 1}")
    st.markdown("**1 · Its input vector x** — what earlier layers made of this token")
    export.show_chart(charts.vector_strip(step.x, f"x: {d_model} numbers"), sel.file_name(f"token{sel.token}-x"),
                      title=f"x of token {sel.token}: {d_model} numbers", width="content")
    st.markdown(f"**2 · Its query q = x·W_qᵀ + b_q** — W_q for this head is {d_head} × {d_model}")
    export.show_chart(charts.vector_strip(step.q, f"q: {d_head} numbers", cell=18),
                      sel.file_name(f"token{sel.token}-q"), width="content",
                      title=f"q of token {sel.token}: {d_head} numbers")
    st.caption("Every token makes a key k = x·W_kᵀ + b_k and a value v = x·W_vᵀ + b_v the same way. Hover for values.")
    st.markdown("**3 · Compare q with every key, scale, softmax, mix the values**")
    table = pd.DataFrame({
        "key token": [f"{j}: {t}" for j, t in enumerate(tokens)],
        "q · k": step.dots,
        f"× {step.scale:.4f}": np.where(step.masked, np.nan, step.scaled),
        "weight": step.weights,
    })
    start, stop = window(trace.T, sel.token, 2 * WINDOW)
    st.dataframe(
        table.iloc[start:stop], hide_index=True, width="stretch", height=min(38 + 35 * (stop - start), 420),
        column_config={"weight": st.column_config.ProgressColumn("weight", min_value=0.0, max_value=1.0, format="%.4f"),
                       "q · k": st.column_config.NumberColumn(format="%.3f"),
                       f"× {step.scale:.4f}": st.column_config.NumberColumn(format="%.3f")},
    )
    st.caption(
        f"scale = 1/√{d_head} = {1 / np.sqrt(d_head):.4f} as trained" if np.isclose(step.scale, 1 / np.sqrt(d_head))
        else "scale = 1: the what-if without ÷√d (turn the toggle back on to compare)."
    )
    st.markdown(f"**4 · The head's output for this token: Σ wⱼ vⱼ** ({d_head} numbers)")
    export.show_chart(charts.vector_strip(step.output, f"output: {d_head} numbers", cell=18),
                      sel.file_name(f"token{sel.token}-output"), width="content",
                      title=f"Output for token {sel.token}: {d_head} numbers")
    best = int(step.weights.argmax())
    st.caption(f"It is mostly the value of token {best} ({tokens[best]}), which gets weight {step.weights[best]:.2f}.")

    st.subheader("The same for all tokens at once: matrix form")
    labels = [f"{i}: {t}" for i, t in enumerate(tokens)]  # CSV exports hold every token, the charts a window
    rows = labels[start:stop]
    dims = [str(i) for i in range(d_head)]
    mats = [("Q", m.Q), ("K", m.K), ("V", m.V), ("output", m.output)]
    for pair in (mats[:2], mats[2:]):
        for col, (name, mat) in zip(st.columns(2), pair):
            export.show_chart(charts.heatmap(
                mat[start:stop], rows, dims, title=f"{name}: {m.shapes[name]}", row_title="token",
                col_title="dimension", value_title=name, scheme=charts.DIVERGING, cell=7, row_cell=14,
                show_numbers=False), sel.file_name(name.lower()), csv=export.CsvTable(mat, labels, dims, "token"),
                container=col, width="content")
    c4, c5 = st.columns(2)
    export.show_chart(charts.heatmap(
        m.scaled[start:stop, start:stop], rows, rows, title="QKᵀ × scale", row_title="query", col_title="key",
        value_title="score", scheme=charts.DIVERGING, cell=14, show_numbers=False), sel.file_name("scores"),
        csv=export.CsvTable(m.scaled, labels, labels, "query \\ key"), container=c4, width="content")
    export.show_chart(charts.heatmap(
        m.weights[start:stop, start:stop], rows, rows, title="softmax (rows sum to 1)", row_title="query",
        col_title="key", domain=(0.0, 1.0), cell=14, show_numbers=False), sel.file_name("weights"),
        csv=export.CsvTable(m.weights, labels, labels, "query \\ key"), container=c5, width="content")
    st.caption(
        f"Shapes: Q, K, V are {m.shapes['Q']}; QKᵀ is {m.shapes['scores']}; the output, weights · V, is "
        f"{m.shapes['output']}. Row {sel.token} of these matrices is exactly the step-by-step above."
    )


# ---- view: why many heads -------------------------------------------------------------


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
    for col, h, w in zip(st.columns(len(survey.shown)), survey.shown, survey.maps):
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


# ---- view: contextual embeddings ------------------------------------------------------


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


# ---- view: why ÷√d --------------------------------------------------------------------


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs={Encoder: lambda e: str(e.path)})
def _score_spread(encoder: Encoder, text: str) -> scaling.ScoreSpread:
    """Per-layer score statistics of the model on a text (38M softmax entries at 512 tokens: cache them)."""
    return scaling.model_score_spread(get_trace(encoder, text))


def scaling_view(encoder: Encoder, trace: Trace) -> None:
    """Why scores are divided by √d: random dot products grow with d and saturate the softmax."""
    st.subheader("Why divide by √d?")
    st.caption("For random q and k whose d entries have variance 1, the dot product q·k has spread √d. "
               "Large scores push the softmax to put almost all weight on one key.")
    st.select_slider("Dimension d", options=[str(d) for d in D_CHOICES], key="d")
    d = int(st.session_state["d"])
    stats = scaling.dot_product_spread(d)
    export.show_chart(charts.score_histogram(stats.scores, stats.scaled_scores, d), f"qkv-attention-scaling-d{d}",
                      width="stretch")
    c1, c2, c3 = st.columns(3)
    c1.metric("spread of q·k", f"{stats.std_raw:.2f}", help=f"√d = {np.sqrt(d):.2f}")
    c2.metric("spread of q·k / √d", f"{stats.std_scaled:.2f}")
    c3.metric("top softmax weight, raw → scaled", f"{stats.top_weight_raw:.2f} → {stats.top_weight_scaled:.2f}")
    st.caption(
        f"Softmax over {round(np.exp(stats.max_entropy))} keys: entropy {stats.entropy_raw:.2f} nats raw vs "
        f"{stats.entropy_scaled:.2f} scaled (at most {stats.max_entropy:.2f}). Slide d up: the raw spread grows "
        "like √d and the raw softmax collapses onto one key; the scaled one keeps its spread near 1."
    )
    spread = _score_spread(encoder, trace.text)
    st.markdown("**The real model on your text** (text from the other views)")
    export.show_chart(charts.layer_spread(spread.std_raw, spread.std_scaled), "qkv-attention-score-spread",
                      csv=export.CsvTable(np.column_stack([spread.std_raw, spread.std_scaled]),
                                          [str(i + 1) for i in range(len(spread.std_raw))],
                                          ["std of q·k (raw)", "std of q·k / √d"], "layer"), width="stretch")
    st.caption(
        f"The model uses the scaled scores. Raw, they would spread √{trace.queries.shape[-1]} ≈ "
        f"{np.sqrt(trace.queries.shape[-1]):.2f}× wider, and the average top weight of an attention row would rise "
        f"from {spread.top_weight_scaled.mean():.2f} to {spread.top_weight_raw.mean():.2f} (entropy "
        f"{spread.entropy_scaled.mean():.2f} → {spread.entropy_raw.mean():.2f} nats): most heads would look at one token."
    )

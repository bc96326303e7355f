"""View `steps`: one query token through one head with every real number, then the matrix form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from qkv_core import steps
from qkv_core.encoder import Encoder
from qkv_core.matrix import window
from qkv_ui import charts, export
from qkv_ui.attention.common import WINDOW, Selection
from qkv_ui.frame import focus
from qkv_ui.presenter import PRESENT


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
    focus("step-table").dataframe(  # on a projector, short enough to share the screen with the tour's banner
        table.iloc[start:stop], hide_index=True, width="stretch",
        height=min(38 + 35 * (stop - start), 250 if st.session_state.get(PRESENT) else 420),
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

"""View `steps`: one query token through one head with every real number, then the matrix form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from qkv_core import steps
from qkv_core.encoder import Encoder
from qkv_core.matrix import window
from qkv_ui import charts, export
from qkv_ui.attention.common import WINDOW, Selection, md
from qkv_ui.presenter import PRESENT
from qkv_ui.stage import focus

SHOW_DIMS = 4  # dimensions of a value row printed in the mixing table
TOP_ROWS = 3  # value rows in the mixing table


def _first(v: np.ndarray, n: int = 6) -> str:
    """The first n numbers of a vector, e.g. ``[0.12, -0.53, …]``."""
    return "[" + ", ".join(f"{x:.2f}" for x in v[:n]) + (", …]" if len(v) > n else "]")


def _strip(vector: np.ndarray, name: str, what: str, file_name: str, title: str, cell: int = 10) -> None:
    """A vector as a colour strip, with its size and its first numbers written under it."""
    export.show_chart(charts.vector_strip(vector, f"{name}: {len(vector)} numbers", cell=cell), file_name,
                      title=title, width="content")
    st.caption(f"{name} = {_first(vector)} — {len(vector)} numbers, {what}; blue negative, red positive, "
               "exact values on hover.")


def _mix_table(mix: steps.ValueMix, tokens: list[str]) -> pd.DataFrame:
    """Key, weight, the first dimensions of v_j and of w_j·v_j, then their sum and the full output."""
    n = min(SHOW_DIMS, mix.values.shape[1])
    rows = [{"key token": f"{j}: {tokens[j]}", "weight": f"{w:.3f}", "v_j": _first(v, n), "w_j · v_j": _first(t, n)}
            for j, w, v, t in zip(mix.keys, mix.weights, mix.values, mix.terms)]
    rows.append({"key token": f"Σ of these {len(mix.keys)}", "weight": f"{mix.weight_share:.3f}", "v_j": "",
                 "w_j · v_j": _first(mix.partial, n)})
    rows.append({"key token": f"output: Σ over all {len(tokens)}", "weight": "1.000", "v_j": "",
                 "w_j · v_j": _first(mix.output, n)})
    return pd.DataFrame(rows)


def steps_view(encoder: Encoder, sel: Selection) -> None:
    """One query token through one head with every real number, then the same in matrix form."""
    trace, tokens = sel.trace, sel.trace.tokens
    both = steps.head_steps(encoder, trace, sel.layer, sel.head, sel.token)
    step, m = both.token, both.matrix
    mix = steps.value_mix(step, TOP_ROWS)
    d_head, d_model = step.w_q.shape
    q_tok = md(tokens[sel.token])
    st.subheader(f"Token {sel.token} ({tokens[sel.token]}) through layer {sel.layer + 1}, head {sel.head + 1}")
    st.markdown("**1 · Its input vector x** — what earlier layers made of this token")
    _strip(step.x, "x", f"the input of token {sel.token} ({q_tok}) to layer {sel.layer + 1}",
           sel.file_name(f"token{sel.token}-x"), f"x of token {sel.token}: {d_model} numbers")
    st.markdown(f"**2 · Its query q = x·W_qᵀ + b_q** — W_q, this head's learned {d_head} × {d_model} matrix, "
                f"and b_q, its learned bias, turn {d_model} numbers into d_head = {d_head}")
    _strip(step.q, "q", f"what token {sel.token} searches for in head {sel.head + 1}",
           sel.file_name(f"token{sel.token}-q"), f"q of token {sel.token}: {d_head} numbers", cell=18)
    st.caption("Every token makes a key k = x·W_kᵀ + b_k and a value v = x·W_vᵀ + b_v the same way.")
    st.markdown("**3 · Compare q with every key, scale, softmax**")
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
    k = len(mix.keys)
    st.markdown(f"**4 · Mix the values: output = Σ wⱼ vⱼ** — the {k} largest terms, first {SHOW_DIMS} of "
                f"{d_head} dimensions")
    st.dataframe(_mix_table(mix, tokens), hide_index=True, width="stretch", height=38 + 35 * (k + 2))
    st.caption(
        f"These {k} value rows carry {mix.weight_share:.0%} of the weight; their weighted sum alone is "
        f"{mix.distance:.0%} of the output's length away from the full sum over all {trace.T} tokens.")
    st.markdown(f"**5 · The head's output for this token** ({d_head} numbers)")
    _strip(step.output, "output", f"Σ wⱼ vⱼ over all {trace.T} tokens: head {sel.head + 1}'s answer for token "
           f"{sel.token}", sel.file_name(f"token{sel.token}-output"),
           f"Output for token {sel.token}: {d_head} numbers", cell=18)

    st.subheader("The same for all tokens at once: matrix form")
    st.caption(f"In the order the computation runs. The outlined row is the query token {sel.token}: row by row, "
               "it is exactly the step-by-step above.")
    labels = [f"{i}: {t}" for i, t in enumerate(tokens)]  # CSV exports hold every token, the charts a window
    rows = labels[start:stop]
    dims = [str(i) for i in range(d_head)]
    hl = sel.token - start
    vectors = dict(row_title="token", col_title="dimension", scheme=charts.DIVERGING, cell=7, row_cell=14,
                   show_numbers=False)
    squares = dict(row_title="query", col_title="key", cell=14, show_numbers=False, highlight_row=hl)
    scale_name = f"÷ √{d_head}" if np.isclose(m.scale, 1 / np.sqrt(d_head)) else f"× {m.scale:g} (what-if)"
    panels = [
        ("q", f"1 · Q: {m.shapes['Q']}", m.Q, rows, dims, dict(vectors, value_title="Q", highlight_row=hl)),
        ("k", f"1 · K: {m.shapes['K']}", m.K, rows, dims, dict(vectors, value_title="K")),
        ("scores", f"2 · QKᵀ: {m.shapes['scores']}", m.scores, rows, rows,
         dict(squares, value_title="score", scheme=charts.DIVERGING)),
        ("scaled", f"3 · {scale_name}", np.where(m.masked, np.nan, m.scaled), rows, rows, dict(squares, value_title="score", scheme=charts.DIVERGING)),
        ("weights", "4 · softmax: rows sum to 1", m.weights, rows, rows, dict(squares, domain=(0.0, 1.0))),
        ("v", f"5 · V, mixed by the weights: {m.shapes['V']}", m.V, rows, dims, dict(vectors, value_title="V")),
        ("output", f"6 · output = weights · V: {m.shapes['output']}", m.output, rows, dims,
         dict(vectors, value_title="output", highlight_row=hl)),
    ]
    for pair in (panels[0:2], panels[2:4], panels[4:6], panels[6:]):
        for col, (name, title, mat, r, c, opts) in zip(st.columns(2), pair):
            square = mat.shape[1] == trace.T and c is rows
            shown = mat[start:stop, start:stop] if square else mat[start:stop]
            export.show_chart(charts.heatmap(shown, r, c, title=title, **opts), sel.file_name(name),
                              csv=export.CsvTable(mat, labels, labels if square else dims,
                                                  "query \\ key" if square else "token"),
                              container=col, width="content")
    st.caption(
        f"Shapes: Q, K, V are {m.shapes['Q']}; QKᵀ is {m.shapes['scores']}; the output, weights · V, is "
        f"{m.shapes['output']}."
    )

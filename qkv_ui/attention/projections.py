"""Section of the `heads` view: one head with its trained W_q, W_k against identity projections."""

from __future__ import annotations

import numpy as np
import streamlit as st

from qkv_core.matrix import window
from qkv_core.projections import compare_projections
from qkv_ui import charts, export
from qkv_ui.attention.common import WINDOW, Selection


def projections_section(sel: Selection, labels: list[str], cell: int) -> None:
    """The selected head's weights next to the weights with W_q = W_k = identity, and what changes."""
    cmp = compare_projections(sel.trace, sel.layer, sel.head)
    layer, head = sel.layer + 1, sel.head + 1
    st.subheader("Why the projections are learned")
    st.caption(f"Without W_q and W_k a token's query and key are its own vector x (the input of layer {layer}), "
               f"scored x·x / √{sel.trace.hidden_states.shape[-1]}. A vector is most like itself.")
    start, stop = window(sel.trace.T, sel.token, 2 * WINDOW)
    maps = np.stack([cmp.identity, cmp.trained])[:, start:stop, start:stop]  # (2, n, n)
    export.show_chart(charts.map_row(maps, ["W_q = W_k = identity", f"trained W_q, W_k (head {head})"],
                                     labels[start:stop], cell),
                      f"qkv-attention-layer{layer}-head{head}-identity-vs-trained", width="content",
                      csv=export.CsvTable(np.concatenate([cmp.identity, cmp.trained], axis=1), labels,
                                          [f"{kind} · {label}" for kind in ("identity", "trained") for label in labels],
                                          "query \\ projections · key"))
    (self_id, self_tr), (ent_id, ent_tr) = cmp.self_weight, cmp.mean_entropy
    st.caption(
        f"With identity projections each token keeps on average {self_id:.0%} of its weight on itself "
        f"(row entropy {ent_id:.1f} of at most {cmp.max_entropy:.1f} nats); with head {head}'s trained projections, "
        f"{self_tr:.0%} ({ent_tr:.1f} nats). Move the Head slider: the identity map stays the same, because without "
        "learned projections every head would ask the same question.")

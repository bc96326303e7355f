"""View `scaling`: why scores are divided by √d, on random vectors and on the real model."""

from __future__ import annotations

import numpy as np
import streamlit as st

from qkv_core import scaling
from qkv_core.encoder import Encoder, Trace
from qkv_ui import charts, export, moments, urlstate
from qkv_ui.model import get_trace
from qkv_ui.stage import focus

D_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
PARAMS = [urlstate.choice_param("d", "64", [str(d) for d in D_CHOICES])]


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
    if not moments.top_weight(stats):  # predict mode: the spread and the weights wait for Reveal
        return
    export.show_chart(charts.score_histogram(stats.scores, stats.scaled_scores, d), f"qkv-attention-scaling-d{d}",
                      width="stretch", container=focus("spread"))
    c1, c2, c3 = st.columns(3)
    c1.metric("spread of q·k", f"{stats.std_raw:.2f}", help=f"√d = {np.sqrt(d):.2f}")
    c2.metric("spread of q·k / √d", f"{stats.std_scaled:.2f}")
    c3.metric("top softmax weight, raw → scaled", f"{stats.top_weight_raw:.2f} → {stats.top_weight_scaled:.2f}")
    st.caption(
        f"Softmax over {round(np.exp(stats.max_entropy))} keys: entropy {stats.entropy_raw:.2f} nats raw vs "
        f"{stats.entropy_scaled:.2f} scaled (at most {stats.max_entropy:.2f}). Entropy, in nats (natural log), "
        "measures how spread the weights are: 0 when one key takes all, ln n when n keys share equally. "
        "Slide d up: the raw spread grows like √d and the raw softmax collapses onto one key; the scaled one "
        "keeps its spread near 1."
    )
    spread = _score_spread(encoder, trace.text)
    st.markdown("**The real model on your text** (text from the other views)")
    export.show_chart(charts.layer_spread(spread.std_raw, spread.std_scaled), "qkv-attention-score-spread",
                      csv=export.CsvTable(np.column_stack([spread.std_raw, spread.std_scaled]),
                                          [str(i + 1) for i in range(len(spread.std_raw))],
                                          ["std of q·k (raw)", "std of q·k / √d"], "layer"), width="stretch")
    st.caption(
        f"The model uses the scaled scores. Raw, they would spread √{trace.queries.shape[-1]} ≈ "
        f"{np.sqrt(trace.queries.shape[-1]):.2f}× wider. Left unscaled layer by layer (each layer's input as "
        "trained), the average top weight of an attention row would rise "
        f"from {spread.top_weight_scaled.mean():.2f} to {spread.top_weight_raw.mean():.2f} (entropy "
        f"{spread.entropy_scaled.mean():.2f} → {spread.entropy_raw.mean():.2f} nats): most heads would look at one token."
    )

"""What the /attention page's views share: the view list, the selection, notes about the input and the what-ifs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from qkv_core import steps
from qkv_core.encoder import Encoder, Trace

VIEWS = {
    "map": "Attention maps",
    "steps": "Step by step",
    "heads": "Why many heads",
    "context": "Context-aware vectors",
    "scaling": "Why ÷√d",
    "explain": "What attention explains",
}
WINDOW = 40  # tokens each side of the query in windowed matrices


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
            f"What-if: scores are not divided by √d_head = {np.sqrt(trace.queries.shape[-1]):.2f} (d_head = "
            f"{trace.queries.shape[-1]} numbers in each head's query and key), so they are that many times larger "
            "and the softmax sharpens. Run this way through every layer, the average top weight of a row goes from "
            f"{top_base:.2f} to {top_now:.2f}.", icon=":material/science:")
    if trace.causal:
        sims = steps.output_change(baseline, trace)
        st.warning(
            "What-if: each token sees only itself and the tokens before it. The model was trained to look both "
            f"ways, so its outputs change: the final vectors keep an average cosine of {sims.mean():.2f} with the "
            f"normal run (1 would mean unchanged; the most changed word piece keeps {sims[1:-1].min():.2f})"
            if trace.T > 2 else "What-if: causal mask on.", icon=":material/science:")


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:&")


def md(text: str) -> str:
    """Text shown literally inside markdown: every ASCII punctuation mark markdown (or Streamlit) reads is escaped."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))

"""View `explain`: what attention does, not only where it looks, measured on the visitor's own text.

Four parts, each one ``qkv_core.explain`` call drawn with ``qkv_ui.charts``: (1) raw weights beside
value-weighted ones, (2) rollout through the layers beside one layer's map, (3) a head knockout lab
(``off=4.2,1.3`` in the URL, 1-based layer.head), (4) which explanation agrees best with leave-one-out.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from qkv_core import explain
from qkv_core.encoder import Encoder, Trace
from qkv_core.matrix import window
from qkv_ui import charts, export, moments, urlstate
from qkv_ui.attention.common import WINDOW, md
from qkv_ui.model import TraceCache
from qkv_ui.stage import focus

WEIGHTINGS = {"raw": "raw weights α", "norm": "value-weighted ‖α·f(x)‖"}
WEIGHTING = urlstate.choice_param("weighting", "raw", list(WEIGHTINGS))  # also on the map view
MAP_PIXELS = 240  # cells of one of two maps side by side: with axes and legend, half a 1280 px page
NORMS_BUDGET_BYTES = 100 * 2**20  # value-weighted maps kept across sessions (one 512-token text, or many short)
LEAST = 10  # "the 10 least important heads together…" (fewer on a model with few heads)
GRID_NONCE = "explain-grid-n"  # bumped after each click: a fresh grid, so the same head can be clicked again
_PAIR = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})")


def off_param(n_layers: int, n_heads: int) -> urlstate.Param:
    """``off``: the switched-off heads as 1-based ``layer.head`` pairs, e.g. ``4.2,1.3`` (held 0-based)."""

    def parse(raw: str) -> frozenset[tuple[int, int]]:
        off = set()
        for item in raw.split(","):
            m = _PAIR.fullmatch(item)
            if m is None:
                raise ValueError("off must list heads as layer.head, separated by commas, e.g. 4.2,1.3")
            layer, head = int(m[1]), int(m[2])
            if not (1 <= layer <= n_layers and 1 <= head <= n_heads):
                raise ValueError(f"off must name layers 1–{n_layers} and heads 1–{n_heads}")
            off.add((layer - 1, head - 1))
        return frozenset(off)

    return urlstate.Param("off", frozenset(), parse, dump_off)


def dump_off(off: frozenset[tuple[int, int]]) -> str:
    """The URL form of a set of 0-based (layer, head): 1-based ``layer.head`` pairs in layer-major order."""
    return ",".join(f"{layer + 1}.{head + 1}" for layer, head in sorted(off))


def params(n_layers: int, n_heads: int) -> list[urlstate.Param]:
    """The URL parameters this view adds to the page's (``weighting`` is shared with the map view)."""
    return [WEIGHTING, off_param(n_layers, n_heads)]


def mask_of(off: frozenset[tuple[int, int]], n_layers: int, n_heads: int) -> np.ndarray:
    """The (L, H) head mask with 0 at every switched-off head."""
    mask = np.ones((n_layers, n_heads), dtype=np.float32)
    for layer, head in off:
        mask[layer, head] = 0.0
    return mask


# ---- cached results (the encoder is shared and never changes; keyed by its folder and the text) ----


@st.cache_resource(show_spinner=False)
def _norms() -> TraceCache:
    # A 512-token text's value-weighted maps are 75 MB (as big as its attentions): bounded by bytes, like traces.
    return TraceCache(budget_bytes=NORMS_BUDGET_BYTES, max_entries=4)


@st.cache_resource(max_entries=16, show_spinner=False)
def _head_importance(path: str, text: str, _encoder: Encoder) -> np.ndarray:
    return explain.head_importance(_encoder, text)


@st.cache_resource(max_entries=16, show_spinner=False)
def _token_importance(path: str, text: str, _encoder: Encoder) -> tuple[pd.DataFrame, pd.Series]:
    table = explain.token_importance(_encoder, text)
    return table, explain.spearman_scores(table)


@st.cache_resource(max_entries=64, show_spinner=False)
def _knockout(path: str, text: str, off: frozenset[tuple[int, int]], _encoder: Encoder) -> explain.Knockout:
    return explain.knockout(_encoder, text, off)


def value_weighted_trace(encoder: Encoder, trace: Trace) -> np.ndarray:
    """The trace's value-weighted maps (L, H, T, T), each row scaled to sum 1 for display (cached, read-only)."""
    key = (str(encoder.path), trace.text, trace.causal, trace.scale)
    return _norms().get(key, lambda: explain.normalise_rows(explain.value_weighted(encoder, trace)))


# ---- the view ----


def explain_view(encoder: Encoder, trace: Trace) -> None:
    """Four checks of what attention weights do and do not say, on the visitor's text."""
    cfg = encoder.config
    c1, c2 = st.columns(2)
    c1.slider("Layer", 1, cfg.n_layers, key="layer")
    c2.slider("Head", 1, cfg.n_heads, key="head")
    layer, head = st.session_state["layer"] - 1, st.session_state["head"] - 1
    labels = [f"{i}: {t}" for i, t in enumerate(trace.tokens)]
    _raw_vs_norm(encoder, trace, layer, head, labels)
    _rollout(trace, layer, labels)
    _knockout_lab(encoder, trace)
    _which_explanation(encoder, trace)


def _shown_window(trace: Trace) -> tuple[int, int]:
    """The tokens a detail map shows: all of a short text, the first 2 × WINDOW of a long one."""
    return window(trace.T, 0, 2 * WINDOW)


def _map(matrix: np.ndarray, labels: list[str], start: int, stop: int, title: str, value_title: str) -> dict:
    cell = max(2, min(24, MAP_PIXELS // (stop - start)))  # two maps side by side fit a 1280 px window
    return charts.heatmap(matrix[start:stop, start:stop], labels[start:stop], labels[start:stop],
                          row_title="query", col_title="key", value_title=value_title, domain=(0.0, 1.0),
                          cell=cell, show_numbers=False, title=title)


def _raw_vs_norm(encoder: Encoder, trace: Trace, layer: int, head: int, labels: list[str]) -> None:
    """Part 1: one head's weights, raw and value-weighted, and the weight the markers lose."""
    st.subheader("1. Weights, or what actually moves?")
    st.caption("Kobayashi et al. (2020) weigh each weight by the size of what the key token sends, ‖α·f(x)‖: "
               "a large weight on a token that sends almost nothing moves almost nothing.")
    norm = value_weighted_trace(encoder, trace)  # (L, H, T, T), rows sum to 1
    raw = trace.attentions
    shift = explain.special_shift(raw, norm, trace.tokens)
    here = explain.special_shift(raw[layer, head], norm[layer, head], trace.tokens)
    start, stop = _shown_window(trace)
    box = focus("weighting")
    cols = box.columns(2)
    name = f"qkv-explain-layer{layer + 1}-head{head + 1}"
    for col, m, what, suffix in ((cols[0], raw[layer, head], "raw weights α", "raw"),
                                 (cols[1], norm[layer, head], "value-weighted (row share)", "norm")):
        export.show_chart(_map(m, labels, start, stop, what, "share"), f"{name}-{suffix}",
                          csv=export.CsvTable(m, labels, labels, "query \\ key"), container=col, width="content")
    if (start, stop) != (0, trace.T):
        box.caption(f"Showing the first {stop} of {trace.T} tokens.")
    box.caption(_shift_sentence(shift, here, layer, head))


def _shift_sentence(shift: explain.SpecialShift, here: explain.SpecialShift, layer: int, head: int) -> str:
    """The measured shift, over every head and for this one."""
    return (f"On your text, value-weighting moves {shift.moved:.0%} of the weight that sat on [CLS]/[SEP] to other "
            f"tokens (the markers' share over all heads: {shift.raw_share:.0%} raw, {shift.norm_share:.0%} "
            f"value-weighted). In layer {layer + 1}, head {head + 1}: {here.raw_share:.0%} → {here.norm_share:.0%}. "
            "Move the head slider: heads that park on the markers lose most.")


def _rollout(trace: Trace, layer: int, labels: list[str]) -> None:
    """Part 2: the composed map up to the chosen layer beside that layer's own map (mean over heads)."""
    st.subheader("2. Through the layers: rollout")
    st.caption("Abnar & Zuidema (2020): one layer's weights ignore the residual path and the layers below; "
               "rollout composes them, layer by layer, with half of each step kept for the residual.")
    rolled = explain.rollout(trace.attentions)  # (L, T, T)
    own = trace.attentions[layer].mean(axis=0)  # (T, T) this layer, mean over heads
    start, stop = _shown_window(trace)
    box = focus("rollout")
    cols = box.columns(2)
    export.show_chart(_map(rolled[layer], labels, start, stop, f"rollout, layers 1–{layer + 1}", "share"),
                      f"qkv-explain-rollout-layer{layer + 1}", container=cols[0], width="content",
                      csv=export.CsvTable(rolled[layer], labels, labels, "token \\ input token"))
    export.show_chart(_map(own, labels, start, stop, f"layer {layer + 1} alone, mean of heads", "weight"),
                      f"qkv-explain-layer{layer + 1}-mean", container=cols[1], width="content",
                      csv=export.CsvTable(own, labels, labels, "query \\ key"))
    keep = float(np.diagonal(rolled[layer]).mean())
    first = float(np.diagonal(rolled[0]).mean())
    box.caption(
        f"Row i of the rollout says how much of token i's vector after layer {layer + 1} traces back to each input "
        f"token, if attention and the residual path were all that mixed them. Here a token keeps on average "
        f"{keep:.0%} of itself (after layer 1: {first:.0%}); slide the layer up and the diagonal fades as the "
        "layers compose, while one layer alone can look sharp.")


def _toggle_head(key: str) -> None:
    chosen = st.session_state[key]["selection"].get("toggle") or []
    if chosen:
        head = (int(chosen[0]["row"]), int(chosen[0]["col"]))
        st.session_state["off"] = frozenset(st.session_state["off"] ^ {head})
        st.session_state[GRID_NONCE] = st.session_state.get(GRID_NONCE, 0) + 1


def _reset_heads() -> None:
    st.session_state["off"] = frozenset()
    st.session_state[GRID_NONCE] = st.session_state.get(GRID_NONCE, 0) + 1


def _knockout_lab(encoder: Encoder, trace: Trace) -> None:
    """Part 3: switch heads off by clicking them; the sentence embedding's cosine to the intact model."""
    cfg = encoder.config
    path, text = str(encoder.path), trace.text
    st.subheader("3. Switch heads off")
    st.caption("Michel, Levy & Neubig (2019): many heads can be removed with little change. Click heads in the "
               "grid to switch them off (click again to bring one back); the colour is how much switching that "
               "head off alone changes the sentence embedding (1 − cosine).")
    off = st.session_state["off"]
    importance = _head_importance(path, text, encoder)  # (L, H)
    if not moments.spare_head(importance):  # predict mode: the grid's colours give the answer away
        return
    result = _knockout(path, text, off, encoder)
    box = focus("knockout")
    grid, side = box.columns([5, 2], vertical_alignment="center")
    key = f"knockout-grid-{st.session_state.get(GRID_NONCE, 0)}"
    export.show_chart(charts.head_grid(importance, off), "qkv-explain-head-importance", container=grid,
                      csv=export.CsvTable(importance, [f"layer {i + 1}" for i in range(cfg.n_layers)],
                                          [f"head {j + 1}" for j in range(cfg.n_heads)], "layer \\ head"),
                      key=key, on_select=lambda: _toggle_head(key), selection_mode="toggle", width="content")
    side.metric("Embedding: cosine to intact", f"{result.cosine:.4f}")
    side.caption(_off_sentence(off, cfg.n_layers * cfg.n_heads))
    side.button("Reset: all heads on", key="explain-reset", on_click=_reset_heads, icon=":material/restart_alt:",
                disabled=not off)
    st.caption(_least_sentence(encoder, trace, importance))
    if explain.capped(encoder, text):
        st.caption(f"Head importance uses the first {explain.MAX_TOKENS_FOR_KNOCKOUT} word pieces of your text: it "
                   f"runs {cfg.n_layers * cfg.n_heads} copies of it, and each costs more the longer it is.")
    if result.truncated:
        st.caption(f"The knockout compares the first {len(result.tokens)} word pieces, as the sentence embedding "
                   "reads them.")
    if off:
        st.markdown("**How far each token's final vector moved** (1 − cosine to the intact model)")
        export.show_chart(charts.token_bars(result.movement, result.tokens, "1 − cosine"),
                          "qkv-explain-token-moves", width="stretch", title="How far each token's final vector moved")
        st.caption(f"Largest move: token {int(np.argmax(result.movement))} "
                   f"({md(result.tokens[int(np.argmax(result.movement))])}), {float(np.max(result.movement)):.4f}.")


def _off_sentence(off: frozenset[tuple[int, int]], n_total: int) -> str:
    if not off:
        return f"All {n_total} heads on: cosine 1. Click a head to switch it off."
    names = ", ".join(f"{layer + 1}.{head + 1}" for layer, head in sorted(off))
    return f"{len(off)} of {n_total} heads off (layer.head): {names}."


def _least_sentence(encoder: Encoder, trace: Trace, importance: np.ndarray) -> str:
    """Knock the least important heads out together and say what it does."""
    n = min(LEAST, importance.size // 2)
    order = np.argsort(importance, axis=None, kind="stable")[:n]  # flat indices, least important first
    least = frozenset((int(i) // importance.shape[1], int(i) % importance.shape[1]) for i in order)
    together = _knockout(str(encoder.path), trace.text, least, encoder)
    top = np.unravel_index(int(np.argmax(importance)), importance.shape)
    return (f"The {n} least important heads ({dump_off(least).replace(',', ', ')}) together change the embedding by "
            f"{together.change:.4f} (cosine {together.cosine:.4f}); the most important head alone, layer "
            f"{top[0] + 1} head {top[1] + 1}, by {importance[top]:.4f}. Click those {n} off and see.")


def _which_explanation(encoder: Encoder, trace: Trace) -> None:
    """Part 4: each attention-based explanation against leave-one-out, ranked by Spearman correlation."""
    st.subheader("4. Which explanation is right on your sentence?")
    st.caption("Jain & Wallace (2019) and Wiegreffe & Pinter (2019) argue over whether attention explains; "
               "here it is a measurement: delete one word piece at a time and see how far the sentence embedding "
               "moves (leave-one-out), then ask which attention-based score ranks the tokens the same way.")
    table, ranking = _token_importance(str(encoder.path), trace.text, encoder)  # ranking: best first, NaN last
    box = focus("explanations")
    if len(table) < 2:
        box.info("Type a sentence of at least two word pieces: one piece cannot be ranked.", icon=":material/edit:")
        return
    names = list(ranking.index)
    label = lambda n: explain.EXPLANATION_LABELS.get(n, n)  # noqa: E731
    rho = lambda n: "undefined" if np.isnan(ranking[n]) else f"{ranking[n]:+.2f}"  # noqa: E731
    rows = [table["leave_one_out"].to_numpy()] + [table[n].to_numpy() for n in names]
    titles = ["leave-one-out: 1 − cosine when the piece is deleted (the yardstick)"] + [
        f"{label(n)}: Spearman {rho(n)}" for n in names]
    export.show_chart(charts.explanation_bars(rows, titles, list(table["token"])), "qkv-explain-token-importance",
                      container=box, width="content", title="Token importance: leave-one-out and each explanation")
    best = names[0]
    if np.isnan(ranking[best]):
        box.caption("On this text no explanation can be ranked: leave-one-out (or every explanation) gives every "
                    "piece the same score.")
    else:
        box.caption(f"On your text the best match for leave-one-out is {md(label(best))} (Spearman {rho(best)}); "
                    f"the worst, {md(label(names[-1]))} ({rho(names[-1])}). Edit the sentence: the ranking can "
                    "change. Leave-one-out is itself only one definition of importance: deleting a piece also "
                    "shifts every later position and shows the model a text it never saw.")
    if explain.capped(encoder, trace.text, explain.MAX_TOKENS_FOR_LEAVE_ONE_OUT):
        box.caption(f"Only the first {len(table)} word pieces (of {trace.n_tokens_full - 2}) are compared: "
                    "leave-one-out runs one copy of the text per piece, so its cost grows with the square of the "
                    "length and more.")

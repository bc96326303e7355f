"""The predict-then-reveal moments: each asks one question and answers it with one ``qkv_core`` call.

Each function draws nothing unless predict mode is on (``qkv_ui.predict``). Those that return a bool
gate what the question is about: the page draws it only once the answer is revealed.
"""

from __future__ import annotations

import numpy as np

from qkv_core import explain, heads, retrieval, scaling, smoothing
from qkv_ui.attention.common import Selection, md
from qkv_ui.predict import Guess, ask, on

DIRECTIONS = {"toward": "toward the raw value", "away": "away from it", "same": "it stays put"}


def sigma_doubles(values: np.ndarray, sigma: float, truncate: float, t: int) -> None:
    """/smoothing: when σ doubles, does the smoothed value at step t move toward the raw value or away?"""
    if not on():
        return
    d = smoothing.sigma_doubling(values, sigma, truncate, t)
    why = (f"doubling σ cuts step {t}'s own weight from {d.own_before:.1%} to {d.own_after:.1%} and brings in "
           f"neighbours up to {d.reach_after} steps away; "
           + {"away": "their average lies further from the raw value, so the smoothed value leaves it.",
              "toward": "here they sit nearer the raw value than the closer ones did, so the wider average "
                        "lands closer to it.",
              "same": "their average lands exactly where the old one did."}[d.direction])
    ask("smoothing", f"σ doubles, from {sigma:g} to {2 * sigma:g}. Does the smoothed value at step {t} move toward "
                     f"its raw value ({d.raw:.3f}) or away from it?",
        [Guess("Your guess", d.direction, tuple(DIRECTIONS), DIRECTIONS.get)],
        f"{DIRECTIONS[d.direction].capitalize()}: {d.before:.3f} → {d.after:.3f} "
        f"(raw {d.raw:.3f}).", why)


def temperature_extremes(scores: np.ndarray) -> None:
    """/lookup: how many keys get more than 1 % of the weight at T = 0.01, and at T = 100?"""
    if not on():
        return
    n = len(scores)
    cold, hot = (retrieval.keys_with_weight(scores, t, 0.01) for t in (0.01, 100.0))
    gap = float(np.sort(scores)[-1] - np.sort(scores)[-2]) if n > 1 else 0.0
    ask("lookup", f"The query's weight is shared among the {n} keys. How many keys get more than 1 % of it at "
                  "T = 0.01? And at T = 100?",
        [Guess("At T = 0.01", cold, lo=0, hi=n), Guess("At T = 100", hot, lo=0, hi=n)],
        f"At T = 0.01, {cold} key{'s' * (cold != 1)}; at T = 100, {hot} of {n}.",
        f"÷ 0.01 multiplies every score gap by 100 (the best key leads the next by {gap:.3f}, so by "
        f"{100 * gap:.1f} after it), and the softmax turns a gap g into a weight ratio e^g; ÷ 100 shrinks the gaps "
        f"to almost 0, so every key gets close to 1/{n} = {1 / n:.1%}.")


def most_attended(sel: Selection) -> bool:
    """/attention map: which token will the selected query look at most in this head? True: draw the map."""
    if not on():
        return True
    top = heads.most_attended(sel.trace, sel.layer, sel.head, sel.token, sel.hide_specials)
    tokens, q = sel.trace.tokens, sel.token
    marker = top.token in ("[CLS]", "[SEP]")
    why = (f"row {q} of this head's map is a softmax over all {sel.trace.T} tokens, and its largest weight, "
           f"{top.weight:.2f}, goes to token {top.index}"
           + (": a marker, where heads park attention when they find nothing useful to look at." if marker
              else "." if not sel.hide_specials else " ([CLS]/[SEP] hidden, rows renormalised)."))
    return ask("map", f"Layer {sel.layer + 1}, head {sel.head + 1}: which token will token {q} "
                      f"('{md(tokens[q])}') look at most? Pick one, then reveal the map.",
               [Guess("Your guess", top.index, tuple(range(sel.trace.T)), lambda i: f"{i}: {tokens[i]}")],
               f"Token {top.index} ('{md(top.token)}'), with weight {top.weight:.2f}.", why)


TOP_BANDS = (0.1, 0.4, 0.8)  # edges of the answer bands for a top softmax weight
BAND_LABELS = ("under 0.1: about even", "0.1 to 0.4", "0.4 to 0.8", "over 0.8: one key takes almost all")


def top_weight(stats: scaling.SpreadStats) -> bool:
    """÷√d view: with dimension d and no scaling, how large is the top softmax weight? True: draw the view."""
    if not on():
        return True
    keys = round(np.exp(stats.max_entropy))
    band = int(np.searchsorted(TOP_BANDS, stats.top_weight_raw, side="right"))
    return ask("scaling", f"Random queries and keys with d = {stats.d} numbers each, scores **not** divided by "
                          f"√d: over {keys} keys, how large is the top softmax weight, on average?",
               [Guess("Your guess", band, tuple(range(len(BAND_LABELS))), BAND_LABELS.__getitem__)],
               f"On average {stats.top_weight_raw:.2f}, {BAND_LABELS[band]}. Divided by √{stats.d} first, "
               f"{stats.top_weight_scaled:.2f}.",
               f"raw q·k spreads {stats.std_raw:.1f} wide (√{stats.d} = {np.sqrt(stats.d):.1f}), and the softmax "
               f"turns a score gap g into a weight ratio e^g; divided by √d the spread is {stats.std_scaled:.2f}.")


def spare_head(importance: np.ndarray) -> bool:
    """Knockout lab: which of four heads can go with the least change to the sentence embedding? True: draw the lab."""
    if not on():
        return True
    q = explain.spare_question(importance)
    name = lambda o: f"layer {o[0] + 1}, head {o[1] + 1}"  # noqa: E731
    n = importance.size
    return ask("knockout", f"Switch off one of these {len(q.options)} heads, alone. Which one changes the sentence "
                           "embedding least? (The lab and its grid wait for Reveal.)",
               [Guess("Your guess", q.answer, q.options, name)],
               f"{name(q.answer).capitalize()}: 1 − cosine {min(q.change):.4f}; {name(q.largest)} moves it most, "
               f"by {max(q.change):.4f}.",
               f"each head adds its share through W_o to a residual stream that also carries every other head; "
               f"here the {n} heads' single knockouts range from {importance.min():.4f} to {importance.max():.4f}, "
               "so many can go with little change (Michel et al. 2019).")

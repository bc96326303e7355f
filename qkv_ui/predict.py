"""Predict, then reveal: at a moment where the story makes a checkable claim, the visitor guesses first.

Off by default (free exploration); ``predict=1`` in any link, or the sidebar toggle, turns it on, and
the frame keeps it on across page switches. A moment draws a bordered box: the question, one or more
guesses (pills or a whole number), a Reveal button, then the answer with a one-line why. The answer
is computed by ``qkv_core`` from the live computation in the same run, never written down here; a
page may keep what the question asks about hidden until Reveal (``ask`` returns whether to draw it).

The moments themselves (what each asks, and the ``qkv_core`` call that answers it) are ``qkv_ui.moments``.

A revealed answer stays revealed while the question stays the same; a new question (another σ,
query token, head, text…) starts over with no guess and the answer hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from qkv_ui import urlstate
from qkv_ui.presenter import PREDICT  # the URL flag, also the toggle's key
from qkv_ui.stage import focus

PARAM = urlstate.flag_param(PREDICT)


@dataclass(frozen=True)
class Guess:
    """One thing the visitor guesses: one of ``options`` (pills), or a whole number in [lo, hi] when there are none."""

    label: str
    answer: Any  # the right option, or number
    options: tuple = ()
    fmt: Callable[[Any], str] = str
    lo: int = 0
    hi: int = 0


def on() -> bool:
    """Whether predict mode is on in this session."""
    return bool(st.session_state.get(PREDICT, False))


def ask(name: str, question: str, guesses: Sequence[Guess], answer: str, why: str) -> bool:
    """In predict mode, the box for one moment; True once revealed (or with the mode off): draw what it asks about.

    ``question``, ``answer`` and ``why`` are Markdown: any user text in them must be escaped (``md``).
    """
    if not on():
        return True
    prefix = f"predict-{name}"
    asked = repr((question, [(g.label, g.options, g.lo, g.hi) for g in guesses]))  # the question as put
    if st.session_state.get(f"{prefix}-asked") != asked:  # a new question: no guess yet, answer hidden
        for key in [k for k in st.session_state if str(k).startswith(f"{prefix}-")]:
            del st.session_state[key]
        st.session_state[f"{prefix}-asked"] = asked
    shown = bool(st.session_state.get(f"{prefix}-shown"))
    with focus(prefix), st.container(border=True, key=prefix):
        st.markdown(f"**Predict, then reveal.** {question}")
        picks = []
        # whole-number guesses side by side, each a quarter of the box wide
        numbers = iter(st.columns(4) if any(not g.options for g in guesses) else ())
        for i, g in enumerate(guesses):
            key = f"{prefix}-guess{i}"
            if g.options:
                picks.append(st.pills(g.label, g.options, format_func=g.fmt, key=key))
            else:
                picks.append(next(numbers).number_input(g.label, g.lo, g.hi, value=None, step=1, key=key,
                                                        placeholder="your guess"))
        # Secondary: the dark theme's primary button (white on light red) fails WCAG AA contrast.
        st.button("Reveal", key=f"{prefix}-reveal", icon=":material/visibility:", disabled=shown,
                  on_click=st.session_state.__setitem__, args=(f"{prefix}-shown", True),
                  help="Ask the room first: everyone commits to a guess, then reveal the computed answer.")
        if not shown:
            return False
        made = [(p, g) for p, g in zip(picks, guesses) if p is not None]
        right = sum(p == g.answer for p, g in made)
        if not made:
            st.info(f"**Answer:** {answer}", icon=":material/lightbulb:")
        elif right == len(guesses):
            st.success(f"**Right.** {answer}", icon=":material/check:")
        else:
            tally = f" ({right} of {len(guesses)} right)" if len(guesses) > 1 else ""
            st.error(f"**Not quite{tally}.** {answer}", icon=":material/close:")
        st.caption(f"Why: {why}")
    return True

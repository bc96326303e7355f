"""The live part of a page: a control reruns only the rest of its page, not the whole app (``st.fragment``).

A page hands its tail (the controls a visitor plays with and everything they change) to ``rest_of_page``.
Moving a control in there reruns that tail alone: Streamlit sends, and the browser redraws, only its
elements, not the title, the intro, the controls above it or the sidebar. A head move sends 46 messages
instead of 63, a temperature move 55 instead of 68, a σ move 67 instead of 82. Live parts nest: on
/attention the text and its what-if toggles are one, the query token, layer, head and view inside it another.

What the frame draws after a page must follow such a rerun too: the sidebar's link to this view and the
presenter's "changed since this step". So the frame hands its ending to ``start`` before the page, and the
tail draws it after itself, in full runs and in its own reruns alike (Streamlit lets a fragment write to
the sidebar or another outside container only where it wrote in the last full run). A page without a live
tail, or one that ends before it, gets the ending from the frame (``finish``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

_ENDING = "_frame_ending"  # the frame's ending of the last full run: a callable, drawn after the page's tail
_ENDED = "_frame_ended"  # whether a live tail drew the ending during this full run


def start(ending: Callable[[], None]) -> None:
    """Before the page: what to draw after it (the frame's link, the presenter's notes)."""
    st.session_state[_ENDING] = ending
    st.session_state[_ENDED] = False


def finish() -> None:
    """After the page: draw the ending, unless the page's live tail has drawn it already."""
    if not st.session_state.get(_ENDED):
        st.session_state[_ENDING]()


def rest_of_page(tail: Callable[..., None], *args: Any) -> None:
    """Run ``tail(*args)`` as the rest of the page: its controls rerun it alone, then the frame's ending.

    ``args`` are what the tail needs from above it; a rerun of the tail alone gets those of the last full
    run (a control above the tail reruns the whole page, so they are never stale).
    """
    _live(tail, args)


@st.fragment
def _live(tail: Callable[..., None], args: tuple) -> None:
    st.session_state[_ENDED] = False
    tail(*args)
    if not st.session_state[_ENDED]:  # a live part nested at the end of this one draws it itself
        st.session_state[_ENDED] = True
        st.session_state[_ENDING]()

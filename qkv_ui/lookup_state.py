"""The /lookup page's controls: presets, URL parameters, and the callbacks that keep them consistent.

The page (``pages/story/lookup.py``) draws; this module holds what its widgets are bound to:
the two shipped stores, the query examples, the URL parameters (``q``, ``temp``, ``sim``,
``preset``, and ``store`` for a store that differs from its preset) and the widget callbacks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from qkv_core import store
from qkv_ui import urlstate

TEMPERATURES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
PRESETS = {"videos": "Videos → topic mix", "numbers": "Number words → numbers"}
COLUMNS = {"videos": ("title", list(store.TOPICS)), "numbers": ("key", ["value"])}
EXAMPLES = {"videos": ("funny kittens", "how to make dinner fast", "why the sky is blue", "Why is the sky blue?"),
            "numbers": ("a dozen", "7", "Seven", "seven")}
SIMILARITIES = {"cosine": "cosine", "dot": "dot product", "scaled_dot": "scaled dot (÷ √d)"}
MAX_QUERY_CHARS = 1000
MAX_STORE_CODE = 2000  # characters a store may add to a link (links past ~2,000 break in some chat apps)


def decode_store(code: str) -> pd.DataFrame:
    """The store a link carries, for the preset the link names (seeded before it)."""
    return store.decode_store(code, store.PRESETS[st.session_state["preset"]]())


PARAMS = [
    urlstate.text_param("q", EXAMPLES["videos"][0], max_chars=MAX_QUERY_CHARS),
    urlstate.float_choice_param("temp", 0.1, TEMPERATURES),
    urlstate.choice_param("sim", "cosine", list(SIMILARITIES)),
    urlstate.choice_param("preset", "videos", list(PRESETS)),
    # After the preset: the code is read against it. The link carries the edited table's code (share_store).
    urlstate.Param("store", None, decode_store, source="store_code"),
]


def switch_preset() -> None:
    """A new preset starts as shipped (not as a link's store) with its first example, unless the query is the user's."""
    st.session_state["store"] = None
    if st.session_state["q"] in {q for qs in EXAMPLES.values() for q in qs}:
        st.session_state["q"] = EXAMPLES[st.session_state["preset"]][0]


def use_example() -> None:
    """Copy the clicked example into the query box."""
    if st.session_state["example"]:
        st.session_state["q"] = st.session_state["example"]
    st.session_state["example"] = None


def reset_store() -> None:
    """A fresh editor key drops every edit (and the store a link brought)."""
    st.session_state["store"] = None
    st.session_state["store_version"] = st.session_state.get("store_version", 0) + 1


def share_store(check: store.StoreCheck, base: pd.DataFrame) -> None:
    """Put the store in the link when it differs from the preset, or say why it cannot go there."""
    code = None
    if check.keys and (check.keys != base.iloc[:, 0].tolist() or
                       not np.array_equal(check.values, base.iloc[:, 1:].to_numpy())):
        code = store.encode_store(check.keys, check.values, base)
        if len(code) <= MAX_STORE_CODE:
            st.caption("This store differs from the preset: the link to this view carries it.")
        else:
            st.warning(f"This store is too big to carry in a link ({len(code):,} characters, the limit is "
                       f"{MAX_STORE_CODE:,}): the link to this view carries only the preset.",
                       icon=":material/link_off:")
            code = None
    st.session_state["store_code"] = code  # what the link carries (PARAMS' "store" publishes it)

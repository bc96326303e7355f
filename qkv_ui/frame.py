"""The app frame: page config, navigation and shared sidebar, around whichever page runs.

``app.py`` calls ``run()``. So do the three shims ``pages/smoothing.py``,
``pages/lookup.py`` and ``pages/attention.py``: Streamlit's legacy ``pages/``
router serves the very first request to a fresh server, and for a deep link
like ``/lookup`` it runs ``pages/lookup.py`` (without it, it would show a
"Page not found" dialog). The shim runs this same frame, whose
``st.navigation`` then takes over for good and renders ``pages/story/lookup.py``.
"""

from pathlib import Path

import streamlit as st

from qkv_ui.pages import STORY

# A local image: a Material icon name here would make the browser fetch the favicon from a font CDN.
ICON = Path(__file__).resolve().parents[1] / "assets" / "icon.png"


def run() -> None:
    """Configure the page, declare the navigation and run the current page inside the frame."""
    st.set_page_config(
        page_title="QKV Explainer",
        page_icon=str(ICON),
        layout="wide",
        initial_sidebar_state="auto",
    )
    pages = [
        st.Page(p.script, title=p.title, icon=p.icon, url_path=p.url_path or None, default=not p.url_path)
        for p in STORY
    ]
    current = st.navigation(pages, position="sidebar")
    with st.sidebar:
        st.caption("QKV Explainer: attention, from a weighted average to a real transformer.")
    current.run()

"""QKV Explainer: entrypoint and navigation.

Page scripts live in ``pages/story/`` (a sub-folder), so Streamlit's legacy
``pages/`` router never serves them on their own: a deep link such as
``/lookup`` always runs through this file, with the page config and sidebar.
"""

import streamlit as st

from qkv_ui.pages import STORY

st.set_page_config(
    page_title="QKV Explainer",
    page_icon=":material/hub:",
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

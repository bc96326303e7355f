import streamlit as st

from qkv_ui.pages import HOME

st.title("Search, softly")
st.write("A dictionary needs the exact key; attention blends every value by how well its key matches.")
st.page_link(HOME.script, label="Back to the story", icon=HOME.icon)

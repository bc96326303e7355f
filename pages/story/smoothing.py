import streamlit as st

from qkv_ui.pages import HOME

st.title("Context matters")
st.write("Smoothing a time series: each point becomes a weighted average of its neighbours.")
st.page_link(HOME.script, label="Back to the story", icon=HOME.icon)

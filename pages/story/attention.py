import streamlit as st

from qkv_ui.pages import HOME

st.title("Attention on your text")
st.write("A real pretrained transformer, run step by step on the text you type.")
st.page_link(HOME.script, label="Back to the story", icon=HOME.icon)

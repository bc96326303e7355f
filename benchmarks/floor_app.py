"""The floor: the least a Streamlit page with a control and charts can cost (one slider, 200-point lines).

``benchmarks.interaction`` serves it next to the app and times it in the same run, so every
interaction of the app is read as a ratio to what Streamlit itself needs for a rerun and a redraw.
``?charts=k`` (1 to 8, default 1) draws k such charts, all redrawn by the slider: Streamlit's own price
for a control that changes k charts, as the app's controls do (σ on /smoothing changes 7).
"""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

raw = st.query_params.get("charts", "1")
charts = min(8, max(1, int(raw))) if raw.isdecimal() else 1
k = st.slider("Frequency", 1, 20, 5, key="k")
x = np.linspace(0.0, 1.0, 200)  # (200,)
for c in range(charts):
    line = pd.DataFrame({"x": x, "y": np.sin(2 * np.pi * (k + c) * x)})
    st.altair_chart(alt.Chart(line).mark_line().encode(x="x:Q", y="y:Q"), width="stretch")

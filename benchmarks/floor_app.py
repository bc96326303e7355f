"""The floor: the least a Streamlit page with a control and a chart can cost (one slider, one 200-point line).

``benchmarks.interaction`` serves it next to the app and times it in the same run, so every
interaction of the app is read as a ratio to what Streamlit itself needs for a rerun and a redraw.
"""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

k = st.slider("Frequency", 1, 20, 5, key="k")
x = np.linspace(0.0, 1.0, 200)  # (200,)
line = pd.DataFrame({"x": x, "y": np.sin(2 * np.pi * k * x)})
st.altair_chart(alt.Chart(line).mark_line().encode(x="x:Q", y="y:Q"), width="stretch")

import numpy as np
import streamlit as st

from qkv_core.smoothing import gaussian_weights
from qkv_ui.charts import product_diagram
from qkv_ui.export import CsvTable, show_chart
from qkv_ui.pages import ATTENTION, LOOKUP, SMOOTHING
from qkv_ui.stage import focus

st.title("QKV Explainer")
st.write(
    "Attention is how a transformer lets every word borrow meaning from the others. "
    "Here you build it up in four moves, each one a page you can play with — "
    "ending with a real pretrained model running on your own sentence, every number in view."
)

STEPS = (
    (SMOOTHING, None, "1 · Context as a weighted average",
     "Replace each point of a noisy series by an average of its neighbours. "
     "The weights come from distance alone, and the same rule serves every point."),
    (LOOKUP, None, "2 · Looking things up by similarity",
     "A dictionary answers only an exact key. Score the query against every key instead, "
     "turn the scores into weights with a softmax, and blend the values."),
    (ATTENTION, {"view": "steps"}, "3 · Queries, keys and values are learned",
     "In a transformer each token makes its own query, key and value from its vector x with a learned "
     "matrix and bias (q = x·W_qᵀ + b_q, and likewise k and v), then searches the sentence like step 2."),
    (ATTENTION, {"view": "heads"}, "4 · Many heads at once",
     "Several sets of projections run side by side, each free to look for a different "
     "pattern; their answers are joined into one context-aware vector per token."),
)
for page, params, heading, text in STEPS:
    with st.container(border=True):
        st.subheader(heading)
        st.write(text)
        st.page_link(page.script, label=f"Open {page.title}", icon=page.icon, query_params=params)

st.subheader("The one picture to remember")
labels = [f"t{i}" for i in range(6)]
values = np.array([1.0, 4.0, 2.0, 5.0, 3.0, 0.0])
weights = gaussian_weights(len(values), sigma=1.0, truncate=2.0)
with focus("picture"):
    show_chart(product_diagram(weights, values, weights @ values, labels), "qkv-weights-times-values",
               csv=CsvTable(weights, labels, labels, "output \\ input"), width="content")
    st.caption(
        "Every page computes some weight matrix W whose rows sum to 1 and multiplies it with the values. "
        "Row i of W says how much each input counts for output i. Only the way W is found changes."
    )

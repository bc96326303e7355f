import streamlit as st

from qkv_core import series, smoothing
from qkv_ui import charts, export, live, moments, urlstate
from qkv_ui.pages import LOOKUP
from qkv_ui.smoothing_state import MAX_CELLS, PARAMS, SOURCES, W_CORNER, pick_focus, read_upload, real_series, refuse
from qkv_ui.stage import focus

urlstate.seed(PARAMS)
st.title("Context matters")
st.write(
    "Before words, a time series. Smoothing replaces each point by a weighted average of its neighbours, "
    "with weights set by distance alone and by one rule for every point. "
    "Attention keeps the weighted average and changes how the weights are found."
)
urlstate.show_notices()

with st.container(border=True):
    src = st.segmented_control("Series", list(SOURCES), format_func=SOURCES.get, key="src", required=True)
    if src in series.SERIES_KINDS:
        c1, c2, c3 = st.columns(3)
        c1.slider("Length n (steps)", 20, 5000, step=10, key="n")
        c2.slider("Noise", 0.0, 1.5, step=0.05, key="noise")
        c3.number_input("Seed (same seed, same series)", 0, 9999, step=1, key="seed")
        values = series.synthetic_series(src, st.session_state["n"], st.session_state["noise"],
                                         st.session_state["seed"])
    elif src == "co2":
        values = real_series()["co2_ppm"].to_numpy()
        st.caption(f"{series.REAL_SERIES_NAME}, one step per month. Scripps / CDIAC, public domain.")
    else:
        upload = st.file_uploader("A CSV file with a numeric column (up to 5 MB and 20,000 rows)",
                                  type=["csv", "tsv", "txt"], key="upload", max_upload_size=5)
        st.caption("Your file stays in this browser session. A link can't carry it: a shared link opens "
                   "with an empty uploader and keeps only the column choice.")
        if upload is None:
            st.info("Upload a CSV file to smooth one of its columns.", icon=":material/upload_file:")
            urlstate.publish(PARAMS)
            st.stop()
        first = read_upload(upload.getvalue(), upload.name, None)
        if isinstance(first, str):
            refuse(first)
        col = st.session_state["col"]
        st.session_state["col"] = col if col in first.columns else first.columns[0]
        st.selectbox("Column", first.columns, key="col")
        parsed = read_upload(upload.getvalue(), upload.name, st.session_state["col"])
        if isinstance(parsed, str):
            refuse(parsed)
        for note in parsed.notes:
            if not note.startswith("Using the first"):
                st.text(note)
        values = parsed.values

n = len(values)
y_title = {"co2": "CO₂ (ppm)", "upload": st.session_state["col"]}.get(src, "value")
if st.session_state["t"] > n - 1:
    st.info(f"Step {st.session_state['t']} is past the end of this {n}-step series; "
            f"the focus moved to step {n // 2}.", icon=":material/my_location:")
    st.session_state["t"] = n // 2
st.session_state["t"] = st.session_state["t"]  # keep t when n changes the slider's range (a new widget)


def controls_and_charts(values, n: int, y_title: str) -> None:
    """σ, the cut-off, the focus step, σᵥ and all they change: the page's live tail (qkv_ui.live)."""
    c1, c2, c3 = st.columns(3)
    sigma = c1.slider("σ, bandwidth (time steps)", 0.5, 50.0, step=0.5, key="sigma")
    trunc = c2.slider("Cut-off (× σ)", 0.5, 6.0, step=0.5, key="trunc",
                      help="Neighbours farther than r = cut-off × σ steps get weight 0.")
    t = c3.slider("Focus step t", 0, n - 1, key="t")
    gauss = smoothing.focus(values, sigma, trunc, t, MAX_CELLS)  # Gaussian smoothing seen from step t
    moments.sigma_doubles(values, sigma, trunc, t)  # predict mode: what doubling σ does at step t

    st.subheader("1 · Each point becomes an average of its neighbours")
    lines = {"raw": values, "Gaussian": gauss.smoothed}
    export.show_chart(charts.series_lines(lines, t, title="Raw and smoothed", y_title=y_title), "qkv-smoothing-series",
                      width="stretch", container=focus("series"))
    st.caption(f"Step {t}: raw {values[t]:.3f} → smoothed {gauss.smoothed[t]:.3f}. Slide σ up and the line flattens; "
               "slide it down to 0.5 and the smoothed line hugs the raw one, as each point keeps most of its own weight.")

    st.subheader(f"2 · The weights behind step {t}")
    lo, hi = gauss.window
    export.show_chart(charts.focus_weights(values, gauss.row, t, lo, hi, title="Weights for the focus step"),
                      f"qkv-smoothing-weights-step{t}", width="stretch", container=focus("weights"))
    st.caption(f"Bars: how much each step counts toward step {t}; they add up to 1. Only the {gauss.reach} "
               f"steps within r = {gauss.radius} count, the nearest most, and their values play no part. "
               "Lower the cut-off to clip the bump; near either end of the series the clipped bump is rescaled to sum to 1.")

    st.subheader("3 · All the weights at once: smoothed = W · values")
    w_small, starts = gauss.matrix, gauss.starts
    left, right = st.columns([3, 2])
    w_labels = charts.block_labels(starts, n)  # W's index labels as displayed (blocks of steps when n is large)
    export.show_chart(charts.weight_matrix(w_small, starts, n, t, title="Gaussian W", select_rows="wrow"),
                      "qkv-smoothing-w-gaussian", csv=export.CsvTable(w_small, w_labels, w_labels, W_CORNER),
                      container=left, key="wmap", on_select=lambda: pick_focus("wmap", "wrow", starts, n),
                      selection_mode="wrow", width="content")
    right.markdown(f"Row *i* of W holds the weights that make smoothed step *i*; row {t} (marked) is the bump above. "
                   "Multiply W by the column of values and you get the whole smoothed line at once.")
    r, clipped = gauss.radius, gauss.clipped
    if clipped == 0:
        edges = "no row reaches past an end, so none is clipped."
    elif clipped < n:
        edges = (f"the first and last {r} rows ({clipped:,} of {n:,}) reach past an end of the series and are "
                 "clipped and rescaled to sum to 1.")
    else:
        edges = f"at r = {r} every one of the {n:,} rows reaches past an end, so all are clipped and rescaled to sum to 1."
    right.markdown(("**Every row is the same bump, slid along the diagonal.** " if clipped < n else
                    "**Every row is the same bump, slid along the diagonal and cut by the ends.** ")
                   + "Position alone decides, by one rule for all steps; " + edges)
    right.caption("Click a row to make it the focus step." + ("" if len(starts) == n else
                  f" With {n:,} steps, each cell shows the average of a {starts[1]} × {starts[1]} block of W."))

    st.subheader("4 · Let the values have a say")
    st.write("Position-only weights have two limits: they look at proximity only, never at what a neighbour's value is, "
             "and one rule serves every point. At a step edge both hurt: the average mixes two levels and blurs "
             "the edge. Now weigh each neighbour also by how close its value is to the focus point's own:")
    st.latex(r"w_{ij} \propto \exp\!\Big(-\frac{(i-j)^2}{2\sigma^2}\Big)\,\exp\!\Big(-\frac{(v_i-v_j)^2}{2\sigma_v^2}\Big)")
    sigv = st.slider("σᵥ, value tolerance (× the series' spread)", 0.05, 3.0, step=0.05, key="sigv",
                     help=f"σᵥ = this × the series' standard deviation ({gauss.spread:.3g}).")
    aware = smoothing.content_aware_focus(gauss, sigv)  # the same, weights also set by the values
    export.show_chart(charts.series_lines({**lines, "content-aware": aware.smoothed}, t, y_title=y_title,
                                           title="Position only vs position and value"), "qkv-smoothing-compare",
                      width="stretch", container=focus("content"))
    st.caption(f"Largest gap between the two smoothed lines: {aware.gap:.3f}. Slide σᵥ up and the "
               "content-aware line turns into the Gaussian one, the gap shrinking toward 0. Slide it down and the "
               "edges of the Steps series stay sharp while the flat stretches are still smoothed.")
    c1, c2 = st.columns(2)
    top = aware.weight_max  # one scale for both bar charts
    export.show_chart(charts.focus_weights(values, gauss.row, t, lo, hi, title="Position only", weight_max=top),
                      f"qkv-smoothing-position-weights-step{t}", container=c1, width="stretch")
    export.show_chart(charts.focus_weights(values, aware.row, t, lo, hi, title="Position and value", weight_max=top,
                                           color=charts.LINE_COLORS["content-aware"]),
                      f"qkv-smoothing-content-aware-weights-step{t}", container=c2, width="stretch")
    left, right = st.columns([3, 2])
    export.show_chart(charts.weight_matrix(aware.matrix, starts, n, t, title="Content-aware W", select_rows="arow"),
                      "qkv-smoothing-w-content-aware", csv=export.CsvTable(aware.matrix, w_labels, w_labels, W_CORNER),
                      container=left, key="amap", on_select=lambda: pick_focus("amap", "arow", starts, n),
                      selection_mode="arow", width="content")
    right.markdown("**Same picture, new rule: the rows now differ.** Each point's own value picks the neighbours that "
                   "count, so a point beside an edge leans away from it.")
    right.markdown("That is the first step toward queries and keys: each point asks *who is like me?* Here a "
                   "neighbour's value does two jobs at once: it is **compared** with the focus point's value (a key's "
                   "job) and it is **averaged** into the result (a value's job). Attention separates the two: a "
                   "token's key x·W_kᵀ + b_k is what gets compared, its value x·W_vᵀ + b_v what gets averaged. "
                   "Each row is still a set of positive weights summing to 1, a softmax of scores.")
    st.page_link(LOOKUP.script, label=f"Next: {LOOKUP.title}", icon=LOOKUP.icon)
    urlstate.publish(PARAMS)


live.rest_of_page(controls_and_charts, values, n, y_title)

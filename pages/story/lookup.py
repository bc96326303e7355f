import numpy as np
import streamlit as st

from qkv_core import retrieval
from qkv_core import store as stores
from qkv_ui import charts, export, live, moments, urlstate
from qkv_ui.lookup_state import (COLUMNS, EXAMPLES, MAX_QUERY_CHARS, PARAMS, PRESETS, SIMILARITIES, TEMPERATURES,
                                 reset_store, share_store, switch_preset, use_example)
from qkv_ui.model import embed, get_encoder
from qkv_ui.pages import ATTENTION, HOME
from qkv_ui.stage import focus


def stop() -> None:
    """End the run early, keeping the URL in step with the controls."""
    urlstate.publish(PARAMS)
    st.stop()


first_run = "q" not in st.session_state
urlstate.seed(PARAMS)
if first_run and "q" not in st.query_params:  # a link that names a preset but no query: the preset's example
    st.session_state["q"] = EXAMPLES[st.session_state["preset"]][0]
st.title("Search, softly")
st.write(
    "A Python dict answers only when your query is exactly one of its keys. A search box compares the query "
    "with every title and ranks them. Attention does the search-box thing and then blends: it returns every "
    "value at once, each weighted by how well its key matches the query."
)
urlstate.show_notices()
encoder = get_encoder()
if encoder is None:
    st.page_link(HOME.script, label="Back to the story", icon=HOME.icon)
    stop()

c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
c1.segmented_control("Store", list(PRESETS), format_func=PRESETS.get, key="preset", required=True,
                     on_change=switch_preset)
c2.button("Reset to preset", key="reset", on_click=reset_store, icon=":material/restart_alt:", width="stretch")
preset = st.session_state["preset"]
key_col, value_cols = COLUMNS[preset]
base = stores.PRESETS[preset]()
start = base if st.session_state["store"] is None else st.session_state["store"]
with st.expander(f"The store: {len(start)} keys and their values (edit me)"):
    config = {key_col: st.column_config.TextColumn(f"{key_col} (key)", required=True, width="large")}
    config |= {c: st.column_config.NumberColumn(c, default=0.0, format="%.2f" if len(value_cols) > 1 else "%g")
               for c in value_cols}
    edited = st.data_editor(start, key=f"store-{preset}-{st.session_state.get('store_version', 0)}",
                            num_rows="dynamic", hide_index=True, width="stretch", column_config=config)
check = stores.validate_store(edited, key_col, value_cols)
share_store(check, base)
if check.problems:
    st.warning("Some rows of the store need attention (rows are numbered from 1):", icon=":material/table:")
    st.text("\n".join(check.problems))
if not check.keys:
    st.error("The store is empty: add a row with a key and numbers, or reset it to the preset.",
             icon=":material/block:")
    stop()


def query_and_answers(encoder, check: stores.StoreCheck, preset: str, value_cols: list[str]) -> None:
    """The query, the similarity, the temperature and both answers: the page's live tail (qkv_ui.live)."""
    st.text_input("Query", key="q", max_chars=MAX_QUERY_CHARS, placeholder="type anything, e.g. funny kittens")
    st.pills("Try", EXAMPLES[preset], key="example", on_change=use_example)
    c1, c2 = st.columns(2)
    sim = c1.segmented_control("Similarity", list(SIMILARITIES), format_func=SIMILARITIES.get, key="sim",
                               required=True)
    temp = c2.select_slider("Temperature T", TEMPERATURES, key="temp", format_func=lambda t: f"{t:g}",
                            help="The scores are divided by T before the softmax.")
    st.caption("Temperature T divides the scores before the softmax: a low T hands the weight to the best "
               "key, a high T spreads it evenly.")
    query = st.session_state["q"]
    if not query.strip():
        st.info("Type a query above (or pick an example) to look it up.", icon=":material/keyboard:")
        stop()
    if len(query) >= MAX_QUERY_CHARS:
        st.caption(f"Queries stop at {MAX_QUERY_CHARS:,} characters; anything longer was cut.")
        query = query[:MAX_QUERY_CHARS]
    pieces = encoder.tokenize(query)
    if pieces.T <= 2:
        st.caption("The model sees no word pieces in this query (only invisible, control or combining characters), "
                   "so the scores compare an empty text with the keys.")
    if "[UNK]" in pieces.tokens:
        st.caption("Some characters (often emoji or rare scripts) are unknown to the model: it reads each as one "
                   "generic [UNK] piece, so their meaning is lost and the scores are low.")
    if pieces.n_tokens_full > encoder.embed_max_tokens:
        st.caption(f"The model reads only the first {encoder.embed_max_tokens - 2} word pieces of the query.")

    store = retrieval.store_dict(check.keys, check.values, value_cols)
    found, transcript = retrieval.dict_transcript(store, query)
    scored = retrieval.score_keys(embed(encoder, [query])[0], embed(encoder, check.keys), sim)
    scores = scored.scores  # (n,)
    output, weights = retrieval.soft_lookup_scores(scores, check.values, temp)  # (dv,), (n,)
    best, n = int(np.argmax(scores)), len(check.keys)
    collapsed, blend = retrieval.is_collapsed(weights), retrieval.effective_keys(weights)
    topics = len(value_cols) > 1 and bool((check.values >= 0).all())  # a value is a mix of parts

    moments.temperature_extremes(scores)  # predict mode: how many keys share the weight at T = 0.01 and T = 100
    answers = focus("answers")  # the dict's answer beside the soft one: the block the tour's lookup steps show
    left, right = answers.columns(2, gap="large")
    with left:
        st.subheader("Dict: exact key or nothing")
        st.code(f">>> store[query]\n{transcript}", language=None, wrap_lines=True)
        if found:  # the value printed above is the whole answer
            st.success("Exact match: the dict returns that key's value.", icon=":material/check:")
        else:
            st.error("No exact match, so no answer: a dict raises KeyError.", icon=":material/close:")
            if any(k.casefold() == query.strip().casefold() for k in store):
                st.caption("A key differs from your query only in upper/lower case or outer spaces: "
                           "a dict compares every character.")
    with right:
        st.subheader("Attention: a blend of every value")
        if topics and output.sum() > 0:
            export.show_chart(charts.profile_bar(output / output.sum(), value_cols), "qkv-lookup-soft-answer",
                              width="stretch")
            st.caption(f"Your result: {retrieval.format_mix(output / output.sum(), value_cols)}.")
        else:
            st.metric("Result: Σ weight · value", ", ".join(f"{x:.3g}" for x in output))

    if scored.weak:  # outside the tour's block: no tour step asks an off-topic query
        st.warning(f"Nothing in the store matches well: the best cosine similarity is {scored.best_cosine:.2f} "
                   f"(below {retrieval.WEAK_MATCH:g}). The softmax still hands out all the weight, so attention "
                   "answers anyway: it has no way to say \"not found\".", icon=":material/search_off:")
    nearest, m1, m2 = st.columns([2, 1, 1], vertical_alignment="bottom")
    with nearest.container(key="best-match"):
        st.caption("Nearest key (highest score)")
        st.text(check.keys[best])
    m1.metric("Its weight", f"{weights[best]:.1%}")
    m2.metric("Keys blended", f"≈ {blend:.1f} of {n}",
              help="How many keys the answer really mixes: e^entropy of the weights.")
    st.caption(f"Keys blended = e^entropy of the weights (entropy with the natural log, in nats): 1 when one key "
               f"takes all the weight, {n} when all {n} share it equally.")
    if found and best == check.keys.index(query) and collapsed:
        st.success("Both sides agree: the query is a key, it scores highest, and at this T it takes all the weight.")
    elif found:
        st.info("The query is a key, but at this T other keys still share the weight. Slide T toward 0.01 "
                "(with cosine or dot product) and the soft answer becomes the dict's answer.")
    elif not scored.weak:  # a weak match has its own warning above
        st.info("The dict has no answer. The soft lookup still answers: "
                + ("at this T, with the nearest key's value alone (a nearest-key lookup)." if collapsed
                   else "a blend led by the most similar keys."))

    st.subheader("Scores become weights")
    ranked = charts.top_rows(scores, n)  # every key, best first: the chart shows the first MAX_LOOKUP_ROWS
    export.show_chart(charts.lookup_bars(check.keys, scores, weights, score_title=SIMILARITIES[sim],
                                         score_bound=scored.bound), "qkv-lookup-scores",
                      csv=export.CsvTable(np.column_stack([scores, weights])[ranked], [check.keys[i] for i in ranked],
                                          [SIMILARITIES[sim], "weight"], "key"), width="content")
    state = (" Now collapsed: one key holds at least 99.9 % of the weight." if collapsed else
             " Now nearly flat: the result is close to the plain average." if blend > 0.9 * n else "")
    root_d = float(np.sqrt(encoder.config.d_model))
    low = ("pile onto the nearest key, but scaled scores usually sit too close together to collapse fully"
           if sim == "scaled_dot" else "collapse onto the nearest key")
    st.caption(
        f"weights = softmax(scores / T), T = {temp:g}. Slide T toward 0.01: the weights {low}. Slide it to 100: "
        f"each key gets about 1/{n} and the result nears the plain average.{state} The model's vectors have "
        f"length 1, so dot product and cosine give the same scores; scaled dot divides them by "
        f"√{encoder.config.d_model} ≈ {root_d:.1f}, which acts like a {root_d:.1f} times higher T. The score axis "
        f"is fixed at ±{scored.bound:.3g}, the most these vectors can score: a weak best match draws a short bar."
        + (f" Showing the {charts.MAX_LOOKUP_ROWS} best of {n} keys." if n > charts.MAX_LOOKUP_ROWS else "")
    )

    st.subheader("The result is weights × values")
    export.show_chart(charts.blend_diagram(weights, check.values, output, check.keys, value_cols, order=ranked),
                      "qkv-lookup-blend", width="content")
    st.caption("Each result column is the weight column times that value column, summed over the keys: bright "
               "weight cells pick the value rows that make up the result. Keys are ranked as in the chart above."
               + (f" Showing the {charts.MAX_LOOKUP_ROWS} heaviest of {n} keys." if n > charts.MAX_LOOKUP_ROWS else ""))

    with st.container(border=True):
        st.subheader("From search to attention")
        st.write(
            "In a transformer every token runs this search at once, each one a query against all the others. "
            "Its queries, keys and values are not raw embeddings as here but learned projections of them: "
            "q = x·W_qᵀ + b_q, k = x·W_kᵀ + b_k, v = x·W_vᵀ + b_v (x a token's vector, each W a learned matrix, "
            "each b a learned bias). Training decides what counts as a match and what gets passed on."
        )
        st.page_link(ATTENTION.script, label=f"Next: {ATTENTION.title}", icon=ATTENTION.icon)
    urlstate.publish(PARAMS)


live.rest_of_page(query_and_answers, encoder, check, preset, value_cols)

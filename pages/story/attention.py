import streamlit as st

from qkv_core.heads import default_query
from qkv_ui import attention as views
from qkv_ui import live, moments, urlstate
from qkv_ui.model import MAX_TEXT_CHARS, get_encoder, get_trace, model_name
from qkv_ui.pages import HOME

DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."

st.title("Attention on your text")
intro = st.empty()  # the paragraph under the title names the model's sizes once it has loaded
encoder = get_encoder()
if encoder is None:
    st.page_link(HOME.script, label="Back to the story", icon=HOME.icon)
    st.stop()
cfg = encoder.config
intro.write(
    f"A real pretrained transformer ({model_name(encoder)}: {cfg.n_layers} layers × {cfg.n_heads} heads) runs on "
    "your text through our own step-by-step code, which the tests check against the reference library. "
    "Every weight below comes from it."
)
PARAMS = [
    urlstate.choice_param("view", "map", list(views.VIEWS)),
    urlstate.text_param("text", DEFAULT_TEXT, max_chars=MAX_TEXT_CHARS),
    urlstate.text_param("text2", DEFAULT_TEXT.replace("tired", "wide"), max_chars=MAX_TEXT_CHARS),  # map: contrast
    urlstate.int_param("layer", min(4, cfg.n_layers), 1, cfg.n_layers),  # layer 4, head 2: "it" -> "animal"
    urlstate.int_param("head", min(2, cfg.n_heads), 1, cfg.n_heads),
    urlstate.int_param("token", None, 0, cfg.max_positions - 1),
    urlstate.flag_param("sqrtd", True),
    urlstate.flag_param("causal", False),
    urlstate.flag_param("hide", False),
    *views.EXTRA_PARAMS,
    *views.explain_params(cfg.n_layers, cfg.n_heads),
]
urlstate.seed(PARAMS)
urlstate.show_notices()

view = st.segmented_control(
    "View", options=list(views.VIEWS), format_func=views.VIEWS.get, key="view", label_visibility="collapsed",
)
view = view or "map"


def publish() -> None:
    """Write the controls to the URL, at the end of whichever live part of the page ran."""
    if too_long := urlstate.publish(PARAMS):
        st.caption(f"Note: {', '.join(too_long)} is too long to carry in a link; the link leaves it out.")


def text_and_view(encoder, cfg, view: str) -> None:
    """The text, the controls of the view and the view: the page's live tail (qkv_ui.live)."""
    if view == "explain":  # the trained model only: no what-ifs, no query token
        text = st.text_area("Your text", key="text", height=90, help=f"Up to {cfg.max_positions} word pieces are used.")
        trace = get_trace(encoder, text)
        views.input_notes(trace, encoder)
        views.explain_view(encoder, trace)
        publish()
    elif view in ("map", "steps", "heads"):
        text = st.text_area("Your text", key="text", height=90, help=f"Up to {cfg.max_positions} word pieces are used.")
        if len(text) > MAX_TEXT_CHARS:
            st.info(f"Only the first {MAX_TEXT_CHARS:,} characters are used.", icon=":material/content_cut:")
        t1, t2, t3 = st.columns(3)
        t1.toggle("Divide scores by √d", key="sqrtd", help="As the model was trained. Off: a what-if.")
        t2.toggle("Causal mask (what-if)", key="causal", help="Each token may look only at itself and earlier tokens.")
        t3.toggle("Hide [CLS] / [SEP] columns", key="hide", help="Display only: rows are renormalised.")
        scale = None if st.session_state["sqrtd"] else 1.0
        trace = get_trace(encoder, text, causal=st.session_state["causal"], scale=scale)
        baseline = get_trace(encoder, text) if (scale is not None or st.session_state["causal"]) else trace
        views.input_notes(trace, encoder)
        views.what_if_notes(trace, baseline)

        st.subheader("The tokens the model sees")
        st.caption(
            f"{trace.T} word pieces. [CLS] opens and [SEP] closes every text; '##' marks a piece that continues a "
            "word. Pick one to follow it."
        )
        if st.session_state.get("token") is not None and not 0 <= st.session_state["token"] < trace.T:
            urlstate.warn_refused("token", f"{st.session_state['token']} is past the end of this text, which has "
                                           f"{trace.T} word pieces", "the default query token")
            st.session_state["token"] = None
        live.rest_of_page(query_and_head, encoder, cfg, trace, view)  # a head move or a click redraws only this
    elif view == "context":
        views.context_view(encoder)
        publish()
    else:
        views.scaling_view(encoder, get_trace(encoder, st.session_state["text"]))
        publish()


def query_and_head(encoder, cfg, trace, view: str) -> None:
    """The query token, the layer and head, and the view they choose: a live part inside the page's live tail."""
    with st.container(height=180 if trace.T > 48 else "content"):  # long texts scroll instead of filling the page
        st.pills("Query token", options=list(range(trace.T)), format_func=lambda i: trace.tokens[i], key="token",
                 label_visibility="collapsed")
    token = st.session_state["token"] if st.session_state["token"] is not None else default_query(trace.tokens)
    c1, c2 = st.columns(2)
    c1.slider("Layer", 1, cfg.n_layers, key="layer")
    c2.slider("Head", 1, cfg.n_heads, key="head")
    selection = views.Selection(trace, st.session_state["layer"] - 1, st.session_state["head"] - 1, token,
                                st.session_state["hide"])
    if view == "map" and not moments.most_attended(selection):  # predict mode: the map waits for Reveal
        st.session_state["text2"] = st.session_state["text2"]  # keep the map's contrast text while it is not drawn
    else:
        {"map": views.map_view, "steps": views.steps_view, "heads": views.heads_view}[view](encoder, selection)
    publish()


live.rest_of_page(text_and_view, encoder, cfg, view)

import streamlit as st

from qkv_core.heads import default_query, overview_blocks
from qkv_core.matrix import window
from qkv_ui import charts, urlstate
from qkv_ui.model import MAX_TEXT_CHARS, get_encoder, get_trace
from qkv_ui.pages import HOME

DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."
DETAIL_WINDOW = 40  # tokens per side of the detailed map

st.title("Attention on your text")
st.write(
    "A real pretrained transformer (all-MiniLM-L6-v2: 6 layers × 12 heads) runs on your text through our own "
    "step-by-step code, which the tests check against the reference library. Every weight below comes from it."
)

encoder = get_encoder()
if encoder is None:
    st.page_link(HOME.script, label="Back to the story", icon=HOME.icon)
    st.stop()
cfg = encoder.config
PARAMS = [
    urlstate.text_param("text", DEFAULT_TEXT, max_chars=MAX_TEXT_CHARS),
    urlstate.int_param("layer", min(4, cfg.n_layers), 1, cfg.n_layers),  # layer 4, head 2: "it" -> "animal"
    urlstate.int_param("head", min(2, cfg.n_heads), 1, cfg.n_heads),
    urlstate.int_param("token", None, 0, cfg.max_positions - 1),
]
urlstate.seed(PARAMS)
urlstate.show_notices()


def pick_head() -> None:
    """Overview click: select that layer and head."""
    chosen = st.session_state["overview"]["selection"].get("pick") or []
    if chosen:
        st.session_state["layer"], st.session_state["head"] = int(chosen[0]["layer"]), int(chosen[0]["head"])


def pick_query(start: int) -> None:
    """Detail-map click: make that row's token the query."""
    chosen = st.session_state["detail"]["selection"].get("row") or []
    if chosen:
        st.session_state["token"] = start + int(chosen[0]["row"])


text = st.text_area("Your text", key="text", height=90, help=f"Up to {cfg.max_positions} word pieces are used.")
if len(text) > MAX_TEXT_CHARS:
    st.info(f"Only the first {MAX_TEXT_CHARS:,} characters are used.", icon=":material/content_cut:")
trace = get_trace(encoder, text)
tokens, T = trace.tokens, trace.T

if not text.strip():
    st.info("The text is empty: the model still sees its two markers, [CLS] and [SEP]. Type a sentence.")
if trace.truncated:
    st.warning(
        f"Your text has {trace.n_tokens_full:,} word pieces; the model takes at most {cfg.max_positions}, "
        f"so only the first {cfg.max_positions - 2} (plus [CLS] and [SEP]) are used.", icon=":material/content_cut:")
n_unk = tokens.count("[UNK]")
if n_unk:
    st.info(
        f"{n_unk} piece(s) became [UNK]: the model's 30,522-piece English vocabulary has no piece for them "
        "(often emoji or rare scripts), so it sees one generic 'unknown' vector there.", icon=":material/help:")

st.subheader("1 · The tokens the model sees")
st.caption(
    f"{T} word pieces. [CLS] opens and [SEP] closes every text; '##' marks a piece that continues a word. "
    "Pick one to follow it below."
)
if st.session_state.get("token") is not None and not 0 <= st.session_state["token"] < T:
    st.session_state["token"] = None
with st.container(height=180 if T > 48 else "content"):  # long texts scroll instead of filling the page
    st.pills("Query token", options=list(range(T)), format_func=lambda i: tokens[i], key="token",
             label_visibility="collapsed")
query = st.session_state["token"] if st.session_state["token"] is not None else default_query(tokens)

st.subheader("2 · Every head at once")
c1, c2 = st.columns(2)
c1.slider("Layer", 1, cfg.n_layers, key="layer")
c2.slider("Head", 1, cfg.n_heads, key="head")
layer, head = st.session_state["layer"] - 1, st.session_state["head"] - 1
blocks, _ = overview_blocks(trace.attentions, max_bins=16)
st.altair_chart(charts.attention_overview(blocks, (layer, head)), key="overview", on_select=pick_head,
                selection_mode="pick", width="content")
st.caption(
    "Each small square is one head's attention map. Heads differ: some look at the next or previous word, "
    "some at [SEP], some spread out." + (" Long texts are shown as averaged blocks." if T > 16 else "")
)

st.subheader(f"3 · Layer {layer + 1}, head {head + 1}: who looks at whom")
st.caption("Each row is a query token, each column a key it looks at; every row sums to 1.")
weights = trace.attentions[layer, head]  # (T, T)
start, stop = window(T, query, 2 * DETAIL_WINDOW)
labels = [f"{i}: {t}" for i, t in enumerate(tokens)]
detail = charts.heatmap(
    weights[start:stop, start:stop], labels[start:stop], labels[start:stop],
    row_title="query: this token looks…", col_title="…at this key", value_title="weight",
    domain=(0.0, 1.0), cell=34 if stop - start <= 16 else 20 if stop - start <= 40 else 12,
    select_rows="row",
)
st.altair_chart(detail, key="detail", on_select=lambda: pick_query(start), selection_mode="row", width="content")
if (start, stop) != (0, T):
    st.caption(f"Showing tokens {start}–{stop - 1} of {T}, centred on the query token.")
st.markdown(f"**Row {query}: where this query token looks**" + (" (its 40 largest weights)" if T > 40 else ""))
st.altair_chart(charts.attention_row(weights[query], tokens, tokens[query]), width="stretch")
top = int(weights[query].argmax())
st.caption(
    f"Row {query} is one softmax: all its weights are positive and add up to 1. Its largest weight, "
    f"{weights[query, top]:.2f}, goes to token {top} ({tokens[top]}). Click a row of the map, or a token above, "
    "to change the query."
)

urlstate.publish(PARAMS)

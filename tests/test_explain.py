"""qkv_core.explain against independent references: transformers with heads' W_o columns zeroed, hooks, plain loops."""

from __future__ import annotations

import os
import unicodedata
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from qkv_core import explain
from qkv_core.encoder import Encoder, load_pretrained
from qkv_core.explain import (
    EXPLANATIONS,
    HEAD_STAT_COLUMNS,
    MAX_TOKENS_FOR_KNOCKOUT,
    MAX_TOKENS_FOR_LEAVE_ONE_OUT,
    capped,
    head_importance,
    head_stats,
    head_stats_of,
    knockout,
    rollout,
    spearman_scores,
    special_shift,
    token_importance,
    value_weighted,
)

from .knockout_ref import hf_states, mask_with, scaled_heads
from .tiny_bert import TINY_SIZES, save_tiny_bert
from .trace_texts import SENTENCE

TOL = 1e-4
LONG_TEXT = "The quick brown fox jumps over the lazy dog while the cat watches. " * 60  # ~830 pieces


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
def tiny(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Encoder:
    """A random 2-layer, 4-head, width-64 BERT: sizes must come from the config."""
    return load_pretrained(save_tiny_bert(tmp_path_factory.mktemp("tiny-bert-explain"), encoder.path))


@pytest.fixture(scope="module")
def sentence_table(encoder: Encoder) -> pd.DataFrame:
    """token_importance of the default sentence."""
    return token_importance(encoder, SENTENCE)


# ---------------------------------------------------------------------------------------
# Knockouts against transformers
# ---------------------------------------------------------------------------------------

KNOCKOUT_CASES = [
    pytest.param(SENTENCE, {(0, 2)}, id="one-head-layer1"),  # layer 1's previous-token head
    pytest.param("Time flies like an arrow; fruit flies like a banana.", {(5, 11), (5, 1)}, id="two-last-layer"),
    pytest.param("Colorless green ideas sleep furiously.", {(1, 0), (3, 7), (4, 4)}, id="three-layers"),
    pytest.param("ok", set(), id="nothing-off"),  # a 1-piece text, no head off: unchanged
]


@pytest.mark.parametrize(("text", "off"), KNOCKOUT_CASES)
def test_knockout_matches_transformers_with_wo_columns_zeroed(encoder, hf_model, hf_tokenizer, text, off) -> None:
    """The embedding cosine and each token's movement equal transformers with those heads' W_o columns zeroed."""
    result = knockout(encoder, text, off)
    intact_states, intact = hf_states(hf_model, hf_tokenizer, [text], max_length=256)
    with scaled_heads(hf_model, mask_with((6, 12), sorted(off))):
        states, pooled = hf_states(hf_model, hf_tokenizer, [text], max_length=256)
    expected_cos = float(intact[0] @ pooled[0])
    a, b = intact_states[0].astype(np.float64), states[0].astype(np.float64)
    expected_move = 1 - (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    assert result.off == tuple(sorted(off))
    assert result.tokens == hf_tokenizer.convert_ids_to_tokens(hf_tokenizer(text)["input_ids"])
    assert result.cosine == pytest.approx(expected_cos, abs=1e-5)
    np.testing.assert_allclose(result.movement, expected_move, atol=1e-5)
    if off:
        assert result.change > 1e-5 and result.movement.max() > 1e-4  # switching heads off moved something
    else:
        assert result.change == pytest.approx(0.0, abs=1e-6)


def test_head_importance_batched_equals_one_knockout_at_a_time(encoder, hf_model, hf_tokenizer) -> None:
    """The batched (L, H) map equals separate masked embeds, and transformers, head by head."""
    text = "She sells sea shells by the sea shore."
    importance = head_importance(encoder, text)
    assert importance.shape == (6, 12) and not importance.flags.writeable
    intact = encoder.embed([text])[0]
    for layer, head in [(0, 0), (2, 5), (5, 11), (5, 7)]:
        alone = encoder.embed([text], head_mask=mask_with((6, 12), [(layer, head)]))[0]
        assert importance[layer, head] == pytest.approx(1 - float(intact @ alone), abs=2e-6)
    _, hf_intact = hf_states(hf_model, hf_tokenizer, [text], max_length=256)
    with scaled_heads(hf_model, mask_with((6, 12), [(4, 3)])):
        _, hf_off = hf_states(hf_model, hf_tokenizer, [text], max_length=256)
    assert importance[4, 3] == pytest.approx(1 - float(hf_intact[0] @ hf_off[0]), abs=2e-6)
    assert (importance > -1e-6).all() and importance.max() > 1e-3  # some head matters on this text


def test_knockout_refuses_heads_outside_the_model(encoder) -> None:
    """off must hold (layer, head) pairs inside the model; the message names the ranges."""
    for bad in ({(6, 0)}, {(0, 12)}, {(-1, 0)}, {(0,)}, {("1", 2)}, "4.2", {(True, 1)}, 5):
        with pytest.raises(ValueError, match="layer|head|off"):
            knockout(encoder, "hello", bad)


# ---------------------------------------------------------------------------------------
# Value-weighted attention against hooks on transformers
# ---------------------------------------------------------------------------------------


def test_value_weighted_identity_and_norms_against_transformers(encoder, hf_model, hf_tokenizer) -> None:
    """Σ_h Σ_j α_ij v_j W_o,hᵀ + b_o is the attention block's dense output (hooked); the norms are value_weighted's."""
    text = "The cat sat on the mat, and then it slept."
    batch = hf_tokenizer(text, return_tensors="pt")
    captured: dict[int, torch.Tensor] = {}
    hooks = [
        layer.attention.output.dense.register_forward_hook(
            lambda module, args, out, i=i: captured.__setitem__(i, out[0].detach())
        )
        for i, layer in enumerate(hf_model.encoder.layer)
    ]
    try:
        with torch.inference_mode():
            out = hf_model(**batch, output_attentions=True, output_hidden_states=True)
    finally:
        for hook in hooks:
            hook.remove()
    trace = encoder.trace(text)
    ours = value_weighted(encoder, trace)  # (L, H, T, T)
    t, n_heads, d_head = trace.T, 12, 32
    for layer, module in enumerate(hf_model.encoder.layer):
        x = out.hidden_states[layer][0]  # (T, D) entering the layer, from transformers
        alpha = out.attentions[layer][0].numpy().astype(np.float64)  # (H, T, T)
        with torch.inference_mode():
            v = module.attention.self.value(x).numpy().astype(np.float64).reshape(t, n_heads, d_head)
        w_o = module.attention.output.dense.weight.detach().numpy().astype(np.float64)  # (D, D) [out, in]
        b_o = module.attention.output.dense.bias.detach().numpy().astype(np.float64)
        f = np.stack([v[:, h] @ w_o[:, h * d_head : (h + 1) * d_head].T for h in range(n_heads)])  # (H, T, D)
        pieces = alpha[:, :, :, None] * f[:, None, :, :]  # (H, T_i, T_j, D): α_ij f_h(x_j)
        np.testing.assert_allclose(pieces.sum(axis=(0, 2)) + b_o, captured[layer].numpy(), atol=TOL)
        np.testing.assert_allclose(ours[layer], np.linalg.norm(pieces, axis=-1), atol=TOL)
    assert not ours.flags.writeable


def test_value_weighted_refuses_a_trace_of_another_model(encoder, tiny) -> None:
    """A trace from the tiny model cannot be weighed with the bundled model's W_o."""
    with pytest.raises(ValueError, match="d_head"):
        value_weighted(encoder, tiny.trace("hello there"))


def test_special_shift_on_a_handmade_case() -> None:
    """Raw rows put half their weight on [CLS]/[SEP]; value-weighted rows a quarter: half of it moved."""
    tokens = ["[CLS]", "a", "b", "[SEP]"]
    raw = np.array([[0.25, 0.25, 0.25, 0.25]] * 4)  # each row: 0.5 on specials
    norm = np.array([[1.0, 3.0, 3.0, 1.0]] * 4)  # normalised: 2/8 = 0.25 on specials
    shift = special_shift(raw, norm, tokens)
    assert (shift.raw_share, shift.norm_share, shift.moved, shift.moved_percent) == pytest.approx((0.5, 0.25, 0.5, 50))
    zero_rows = np.zeros((4, 4))  # a masked head: its rows are left out, no division by zero
    both = special_shift(np.stack([raw, zero_rows]), np.stack([norm, zero_rows]), tokens)
    assert both.moved == pytest.approx(0.5)
    assert special_shift(zero_rows, zero_rows, tokens).moved == 0.0
    with pytest.raises(ValueError, match="same shape"):
        special_shift(raw, norm[:3], tokens)


def test_value_weighting_moves_weight_off_the_special_tokens(encoder) -> None:
    """On the default sentence, value-weighting takes much of the weight off [CLS]/[SEP] (Kobayashi et al.)."""
    trace = encoder.trace(SENTENCE)
    shift = special_shift(trace.attentions, value_weighted(encoder, trace), trace.tokens)
    assert shift.raw_share > 0.3  # the raw maps lean on [CLS]/[SEP]
    assert 0.3 < shift.moved < 1  # and a large part of that weight carries little


# ---------------------------------------------------------------------------------------
# Rollout against a plain loop
# ---------------------------------------------------------------------------------------


def rollout_loop(attentions: np.ndarray, residual: float) -> np.ndarray:
    """The definition with Python loops: Ã = r I + (1 − r) mean_h A, rows renormalised, R_l = Ã_l R_(l−1)."""
    n_layers, n_heads, t, _ = attentions.shape
    out, previous = [], None
    for layer in range(n_layers):
        mixed = [[0.0] * t for _ in range(t)]
        for i in range(t):
            for j in range(t):
                mean = sum(float(attentions[layer, h, i, j]) for h in range(n_heads)) / n_heads
                mixed[i][j] = residual * (i == j) + (1 - residual) * mean
            total = sum(mixed[i])
            mixed[i] = [value / total for value in mixed[i]]
        if previous is None:
            current = mixed
        else:
            current = [[sum(mixed[i][k] * previous[k][j] for k in range(t)) for j in range(t)] for i in range(t)]
        out.append(current)
        previous = current
    return np.array(out)


@pytest.mark.parametrize("residual", [0.5, 0.0, 0.3, 1.0])  # the paper's 0.5; no residual; another; only residual
def test_rollout_matches_a_plain_loop(traces, residual: float) -> None:
    """rollout equals the loop on random unnormalised maps and on the model's own weights."""
    rng = np.random.default_rng(3)
    rough = rng.random((3, 2, 5, 5))  # rows do not sum to 1: the renormalising matters
    np.testing.assert_allclose(rollout(rough, residual), rollout_loop(rough, residual), atol=1e-6)
    small = traces["trained"].attentions[:, :, :8, :8]  # a block of the real maps
    result = rollout(small, residual)
    np.testing.assert_allclose(result, rollout_loop(small, residual), atol=1e-6)
    np.testing.assert_allclose(result.sum(axis=-1), 1.0, atol=1e-5)  # rows of every R_l sum to 1
    if residual == 1.0:
        np.testing.assert_array_equal(result, np.broadcast_to(np.eye(8), result.shape))  # only the residual path
    assert not result.flags.writeable


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True])
def test_rollout_refuses_bad_arguments(traces, bad) -> None:
    """residual outside [0, 1] (or not a number) and maps that are not (L, H, T, T) are ValueErrors."""
    with pytest.raises(ValueError, match="residual"):
        rollout(traces["trained"].attentions, bad)
    with pytest.raises(ValueError, match=r"\(L, H, T, T\)"):
        rollout(traces["trained"].attentions[0])


# ---------------------------------------------------------------------------------------
# head_stats against direct sums
# ---------------------------------------------------------------------------------------


def stats_by_hand(weights: np.ndarray, tokens: list[str]) -> dict[str, float]:
    """One head's (T, T) map measured with loops, as the issue defines each column."""
    t = len(tokens)

    def punct(tok: str) -> bool:
        body = tok[2:] if tok.startswith("##") and len(tok) > 2 else tok
        return tok not in ("[CLS]", "[SEP]") and all(unicodedata.category(c).startswith("P") for c in body)

    rows = range(t)
    return {
        "cls": sum(weights[i, 0] for i in rows) / t,
        "sep": sum(weights[i, t - 1] for i in rows) / t,
        "punct": sum(weights[i, j] for i in rows for j in range(t) if punct(tokens[j])) / t,
        "prev": sum(weights[i, i - 1] for i in range(1, t)) / (t - 1),
        "next": sum(weights[i, i + 1] for i in range(t - 1)) / (t - 1),
        "self": sum(weights[i, i] for i in rows) / t,
        "entropy": sum(-sum(p * np.log(p) for p in weights[i] if p > 0) for i in rows) / t,
    }


def test_head_stats_on_a_handmade_case() -> None:
    """Two layers of one head on [CLS] a , b [SEP]: every column equals the hand-computed value."""
    tokens = ["[CLS]", "a", ",", "b", "[SEP]"]
    previous = np.eye(5, k=-1)
    previous[0, 0] = 1.0  # layer 1: every token looks at the one before ([CLS] at itself)
    uniform = np.full((5, 5), 0.2)  # layer 2: spread evenly
    table = head_stats_of(np.stack([previous[None], uniform[None]]), tokens)
    assert list(table.columns) == ["layer", "head", *HEAD_STAT_COLUMNS]
    assert table[["layer", "head"]].values.tolist() == [[1, 1], [2, 1]]
    first = table.iloc[0]
    assert (first.cls, first.sep, first.punct, first.prev, first.next, first.self, first.entropy) == pytest.approx(
        (0.4, 0.0, 0.2, 1.0, 0.0, 0.2, 0.0)  # rows 0, 1 on [CLS]; row 3 ("b") on ","; row 0 on itself
    )
    second = table.iloc[1]
    assert (second.cls, second.sep, second.punct, second.prev, second.next, second.self) == pytest.approx(
        (0.2, 0.2, 0.2, 0.2, 0.2, 0.2)
    )
    assert second.entropy == pytest.approx(np.log(5))


def test_head_stats_on_the_model_match_direct_sums(traces) -> None:
    """One row per head, layer-major and 1-based; each row equals the loops for that head."""
    trace = traces["trained"]
    table = head_stats(trace)
    assert len(table) == 6 * 12
    assert table["layer"].tolist() == [l for l in range(1, 7) for _ in range(12)]
    assert table["head"].tolist() == list(range(1, 13)) * 6
    for layer, head in [(0, 0), (0, 2), (3, 9), (5, 11)]:
        row = table.iloc[layer * 12 + head]
        expected = stats_by_hand(trace.attentions[layer, head].astype(np.float64), trace.tokens)
        assert {k: row[k] for k in HEAD_STAT_COLUMNS} == pytest.approx(expected, abs=1e-5)
    assert table.loc[table.layer == 1, "prev"].max() > 0.9  # layer 1 has a previous-token head on this text


def test_head_stats_of_refuses_mismatched_tokens(traces) -> None:
    """Maps and tokens must agree on T."""
    with pytest.raises(ValueError, match="T=16"):
        head_stats_of(traces["trained"].attentions, traces["trained"].tokens[:-1])


# ---------------------------------------------------------------------------------------
# token_importance and which explanation agrees with leave-one-out
# ---------------------------------------------------------------------------------------


def test_token_importance_rows_and_leave_one_out(encoder, hf_model, sentence_table) -> None:
    """One row per piece between [CLS] and [SEP], in order; leave_one_out equals transformers on the deleted ids."""
    trace = encoder.trace(SENTENCE)
    table = sentence_table
    assert table["token"].tolist() == trace.tokens[1:-1]
    assert list(table.columns) == ["token", "leave_one_out", *EXPLANATIONS]
    intact = encoder.embed([SENTENCE])[0]
    ids = trace.ids.tolist()
    for k in (1, 2, 8, len(ids) - 2):  # the first piece, "animal", a middle one, the last piece
        deleted = torch.tensor([ids[:k] + ids[k + 1 :]])
        with torch.inference_mode():
            states = hf_model(input_ids=deleted).last_hidden_state[0]  # (T-1, D)
        pooled = torch.nn.functional.normalize(states.mean(0), dim=0).numpy()
        assert table["leave_one_out"].iloc[k - 1] == pytest.approx(1 - float(intact @ pooled), abs=2e-6)
    assert table.loc[table.token == "animal", "leave_one_out"].item() > table.loc[table.token == "the", "leave_one_out"].max()


def test_explanations_follow_their_definitions(encoder, sentence_table) -> None:
    """Each explanation column equals its docstring definition computed from the trace."""
    trace = encoder.trace(SENTENCE)
    last = trace.attentions[-1]
    rolled = rollout(trace.attentions)[-1]
    weighted = value_weighted(encoder, trace)[-1]
    pieces = slice(1, trace.T - 1)
    expected = {
        "attention": last[:, 0, pieces].mean(0),
        "attention_mean": last[:, :, pieces].mean((0, 1)),
        "rollout": rolled[0, pieces],
        "rollout_mean": rolled[:, pieces].mean(0),
        "value_weighted": weighted[:, 0, pieces].mean(0),
        "value_weighted_mean": weighted[:, :, pieces].mean((0, 1)),
    }
    for name, values in expected.items():
        np.testing.assert_allclose(sentence_table[name], values, atol=1e-6, err_msg=name)


def test_spearman_scores_rank_the_explanations(sentence_table) -> None:
    """Each score is scipy's Spearman correlation with leave_one_out; best first."""
    scores = spearman_scores(sentence_table)
    assert set(scores.index) == set(EXPLANATIONS)
    for name, value in scores.items():
        expected = stats.spearmanr(sentence_table[name], sentence_table["leave_one_out"]).statistic
        assert value == pytest.approx(expected)
    assert scores.is_monotonic_decreasing
    assert scores.iloc[0] > 0.5  # on this sentence some explanation agrees well with leave-one-out


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("", 0),  # no pieces: an empty table
        ("hello", 1),  # one piece: one row, its deletion leaves [CLS] [SEP]
        ("hi there", 2),  # two pieces: Spearman is ±1 or undefined
    ],
)
def test_short_texts_give_nan_scores_without_warnings(encoder, text: str, rows: int) -> None:
    """Fewer than two rows make every score NaN, quietly; the table still has every column."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = token_importance(encoder, text)
        scores = spearman_scores(table)
    assert len(table) == rows and list(table.columns) == ["token", "leave_one_out", *EXPLANATIONS]
    assert table.drop(columns="token").notna().all().all()
    if rows < 2:
        assert scores.isna().all()
    else:
        assert scores.dropna().abs().round(6).isin([1.0]).all()


def test_constant_column_scores_nan_and_sorts_last(sentence_table) -> None:
    """A constant explanation has no rank order: NaN, placed after every defined score, no warning."""
    table = sentence_table.copy()
    table["attention"] = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = spearman_scores(table)
    assert np.isnan(scores["attention"]) and scores.index[-1] == "attention"
    assert scores.iloc[:-1].notna().all()
    with pytest.raises(ValueError, match="leave_one_out"):
        spearman_scores(table.drop(columns="leave_one_out"))


# ---------------------------------------------------------------------------------------
# Caps, sizes from the config, frozen results
# ---------------------------------------------------------------------------------------


def test_long_text_is_capped_loudly_not_hung(encoder) -> None:
    """Past their caps the batched measures use the first pieces, and capped() says so."""
    assert capped(encoder, LONG_TEXT) and not capped(encoder, SENTENCE)
    middle = " ".join(["word"] * 100)  # 102 tokens: under the knockout cap, over the leave-one-out one
    assert not capped(encoder, middle) and capped(encoder, middle, MAX_TOKENS_FOR_LEAVE_ONE_OUT)
    table = token_importance(encoder, LONG_TEXT)
    assert len(table) == MAX_TOKENS_FOR_LEAVE_ONE_OUT - 2
    assert table["token"].tolist() == encoder.tokenize(LONG_TEXT).tokens[1 : MAX_TOKENS_FOR_LEAVE_ONE_OUT - 1]
    cut = encoder.tokenize(LONG_TEXT, MAX_TOKENS_FOR_KNOCKOUT)
    intact = encoder.embed([encoder.tokenizer.decode(cut.ids[1:-1].tolist())])[0]
    alone = encoder.embed([encoder.tokenizer.decode(cut.ids[1:-1].tolist())], head_mask=mask_with((6, 12), [(5, 0)]))[0]
    importance = head_importance(encoder, LONG_TEXT)  # measured on the first 128 tokens
    assert importance.shape == (6, 12)
    assert importance[5, 0] == pytest.approx(1 - float(intact @ alone), abs=2e-6)
    result = knockout(encoder, LONG_TEXT, {(0, 0)})  # the lab follows embed's own cut (256 tokens)
    assert result.truncated and len(result.tokens) == encoder.embed_max_tokens == len(result.movement)


def test_everything_works_on_the_tiny_model(tiny) -> None:
    """Shapes follow the 2-layer, 4-head, width-64 config; nothing assumes 6 × 12 × 384."""
    layers, heads = TINY_SIZES["n_layers"], TINY_SIZES["n_heads"]
    text = "a tiny model, with random weights."
    trace = tiny.trace(text)
    t = trace.T
    assert value_weighted(tiny, trace).shape == (layers, heads, t, t)
    assert rollout(trace.attentions).shape == (layers, t, t)
    assert head_stats(trace).shape == (layers * heads, 2 + len(HEAD_STAT_COLUMNS))
    importance = head_importance(tiny, text)
    assert importance.shape == (layers, heads)
    alone = tiny.embed([text], head_mask=mask_with((layers, heads), [(1, 3)]))[0]
    assert importance[1, 3] == pytest.approx(1 - float(tiny.embed([text])[0] @ alone), abs=2e-6)
    assert len(token_importance(tiny, text)) == t - 2
    assert knockout(tiny, text, {(1, 3)}).cosine == pytest.approx(1 - importance[1, 3], abs=2e-6)
    with pytest.raises(ValueError, match="head"):
        knockout(tiny, text, {(0, 4)})  # head 5 exists in the bundled model, not here


def test_results_are_frozen(encoder) -> None:
    """Knockout is a frozen dataclass with read-only arrays, like the rest of qkv_core."""
    result = knockout(encoder, SENTENCE, [(0, 1)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.cosine = 1.0  # type: ignore[misc]
    assert not result.movement.flags.writeable
    assert "streamlit" not in explain.__dict__


def test_normalise_rows_gives_shares_and_keeps_empty_rows_zero() -> None:
    """Rows sum to 1 after normalising; an all-zero row (a masked head) stays all zero, no NaN."""
    maps = np.array([[[1.0, 3.0], [0.0, 0.0]]])  # (1, 2, 2): one row of norms, one empty row
    out = explain.normalise_rows(maps)
    np.testing.assert_allclose(out, [[[0.25, 0.75], [0.0, 0.0]]])
    assert out.dtype == np.float32 and not out.flags.writeable
    np.testing.assert_array_equal(maps, [[[1.0, 3.0], [0.0, 0.0]]])  # the input is untouched


def test_importing_explain_leaves_scipy_stats_out() -> None:
    """The heads view imports patterns, hence explain: scipy.stats (~44 MB) loads only when scores are asked for."""
    import json
    import subprocess
    import sys

    script = "import json, sys, qkv_core.patterns, qkv_core.explain; print(json.dumps('scipy.stats' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False


def test_spare_question_offers_the_extremes_in_layer_major_order():
    importance = np.array([[0.05, 0.001, 0.02], [0.3, 0.004, 0.01]])  # least (0, 1), most (1, 0)
    q = explain.spare_question(importance)
    assert q.options == tuple(sorted(q.options)) and len(q.options) == 4
    assert (0, 1) in q.options and (1, 0) in q.options
    assert q.answer == (0, 1) and q.largest == (1, 0)
    assert q.change == tuple(importance[o] for o in q.options)
    with pytest.raises(ValueError, match="shape"):
        explain.spare_question(np.array([0.1, 0.2]))

"""qkv_core.patterns: what each head does, the layer survey of the heads view, and joining the heads.

Hand-built maps whose answers are known, and the real all-MiniLM-L6-v2 trace.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qkv_core.encoder import Encoder, Trace
from qkv_core.explain import head_stats
from qkv_core.patterns import (
    PATTERN_KINDS,
    HeadPattern,
    describe_head,
    describe_heads,
    head_concat,
    layer_variety,
    project_output,
    survey_layer,
)
from tests.trace_texts import TOL


# ---------------------------------------------------------------------------------------
# 3) Head patterns
# ---------------------------------------------------------------------------------------

EIGHT = ["[CLS]", "w1", "w2", "w3", "w4", "w5", "w6", "[SEP]"]


def _shifted(t: int, offset: int) -> np.ndarray:
    """(T, T) map where row i puts all its weight on i + offset (clipped to the ends)."""
    weights = np.zeros((t, t))
    weights[np.arange(t), np.clip(np.arange(t) + offset, 0, t - 1)] = 1
    return weights


def _column(t: int, col: int) -> np.ndarray:
    """(T, T) map where every row puts all its weight on one column."""
    weights = np.zeros((t, t))
    weights[:, col] = 1
    return weights


def _mixed(t: int) -> np.ndarray:
    """Rows split 0.35 previous / 0.35 next / 0.3 self: no share reaches 0.4, entropy is low."""
    return 0.35 * _shifted(t, -1) + 0.35 * _shifted(t, 1) + 0.3 * np.eye(t)


PATTERN_CASES = [
    # weights, tokens, word_ids, expected kind, expected score, fragment of the text.
    # Shares are head_stats' measured means over every query row (T = 8 here), specials' rows included.
    pytest.param(_shifted(8, -1), EIGHT, None, "previous", 1.0, "previous token (100 %", id="previous"),  # i -> i-1
    pytest.param(_shifted(8, 1), EIGHT, None, "next", 1.0, "next token (100 %", id="next"),  # i -> i+1
    pytest.param(np.eye(8), EIGHT, None, "self", 1.0, "itself (100 %", id="self"),  # i -> i
    pytest.param(_column(8, 0), EIGHT, None, "cls", 1.0, "parked: 100 % of its weight on [CLS]", id="cls"),
    pytest.param(_column(8, 7), EIGHT, None, "sep", 1.0, "parked: 100 % of its weight on [SEP]", id="sep"),
    pytest.param(
        0.81 * _column(8, 7) + 0.19 * np.eye(8), EIGHT, None, "sep", 0.81 + 0.19 / 8,
        "parked: 83 % of its weight on [SEP]", id="sep-81",
    ),  # [SEP]'s own row adds its self-weight 0.19 / 8; the share is rounded into the text
    pytest.param(
        0.3 * _column(8, 0) + 0.3 * _column(8, 7) + 0.4 * np.eye(8), EIGHT, None, "cls", 0.7,
        "parked: 70 % of its weight on [CLS] and [SEP]", id="cls-and-sep",
    ),  # each marker 0.3 + 0.4 / 8 = 0.35, under 0.4 alone; together 0.7, more than "itself" (0.475): parked
    pytest.param(
        0.1 * _column(8, 0) + 0.2 * _column(8, 7) + 0.7 * np.eye(8), EIGHT, None, "self", 0.7 + 0.3 / 8,
        "itself (74 %", id="habit-beats-parking",
    ),  # [CLS] + [SEP] = 0.3 + 2 · 0.7 / 8 = 0.475, under half: the head's habit (itself, 0.74) names it
    pytest.param(
        _shifted(6, 2) * np.array([0, 1, 1, 0, 0, 0])[:, None] + _shifted(6, -2) * np.array([0, 0, 0, 1, 1, 0])[:, None]
        + np.diag([1, 0, 0, 0, 0, 1.0]),
        ["[CLS]", "a", "b", "a", "b", "[SEP]"], None, "same_word", 4 / 6, "same word elsewhere (67 %)",
        id="repeated-token",
    ),  # a -> the other a, b -> the other b, two positions away: 4 of the 6 rows
    pytest.param(np.full((8, 8), 1 / 8), EIGHT, None, "broad", 1.0, "entropy 2.1 of 2.1 nats", id="uniform"),
    pytest.param(_mixed(8), EIGHT, None, "mixed", 0.3 + 0.7 / 8, "top share 39 % to itself", id="mixed"),
    # ^ the end rows' clipped neighbours land on themselves: self = 0.3 + 2 · 0.35 / 8, previous = next = 0.35
    pytest.param(
        0.6 * _column(6, 3) + 0.4 * np.eye(6), ["[CLS]", "a", "b", ",", "c", "[SEP]"], None, "punct", 0.6 + 0.4 / 6,
        "punctuation (67 %", id="punctuation",
    ),  # every row on the comma (Clark et al.'s punctuation heads)
]


@pytest.mark.parametrize(("weights", "tokens", "word_ids", "kind", "score", "fragment"), PATTERN_CASES)
def test_describe_head_cases(
    weights: np.ndarray, tokens: list[str], word_ids: list[int | None] | None, kind: str, score: float, fragment: str
) -> None:
    """Each hand-built map is named for the pattern it was built with, with the deciding share in the text."""
    pattern = describe_head(weights, tokens, word_ids)
    assert isinstance(pattern, HeadPattern)
    assert pattern.kind == kind
    assert pattern.score == pytest.approx(score)
    assert fragment in pattern.text
    assert pattern.kind in PATTERN_KINDS


def test_describe_head_pieces_of_one_word_via_word_ids() -> None:
    """Pieces of one word (same word_id, different strings) count as "same word"; without word_ids they do not."""
    tokens = ["[CLS]", "new", "and", "##york", "[SEP]"]
    weights = np.array(
        [
            [0, 0, 1.0, 0, 0],  # [CLS] -> and
            [0, 0, 0, 1.0, 0],  # new -> ##york
            [0.2, 0.2, 0.2, 0.2, 0.2],  # and spreads out
            [0, 1.0, 0, 0, 0],  # ##york -> new
            [0, 0, 1.0, 0, 0],  # [SEP] -> and
        ]
    )
    with_ids = describe_head(weights, tokens, [None, 0, 1, 0, None])
    assert with_ids.kind == "same_word" and with_ids.score == pytest.approx(2 / 5)  # 2 of the 5 rows
    assert describe_head(weights, tokens).kind != "same_word"


@pytest.mark.parametrize(
    "tokens",
    [
        pytest.param(["[CLS]", "[SEP]"], id="T2-only-specials"),  # no word rows: every row is used
        pytest.param(["[CLS]", "hi", "[SEP]"], id="T3-one-word"),  # one word row, no neighbours beyond specials
        pytest.param(["x"], id="T1"),  # a single token: log(T) = 0
    ],
)
def test_describe_head_tiny_maps_give_no_nan(tokens: list[str]) -> None:
    """Tiny texts still give a pattern with finite numbers."""
    t = len(tokens)
    for weights in (np.full((t, t), 1 / t), np.eye(t)):
        pattern = describe_head(weights, tokens)
        assert pattern.kind in PATTERN_KINDS
        assert math.isfinite(pattern.score) and math.isfinite(pattern.entropy)
        assert all(math.isfinite(share) for _, share in pattern.shares)
        assert "nan" not in pattern.text.lower()


def test_describe_heads_on_the_real_model(traces: dict[str, Trace]) -> None:
    """Layer 0, head 2 of MiniLM is a previous-token head; describe_heads equals describe_head per head."""
    trace = traces["trained"]
    patterns = describe_heads(trace.attentions[0], trace.tokens, trace.word_ids)
    assert len(patterns) == trace.n_heads
    assert patterns[2].kind == "previous" and patterns[2].score > 0.9
    for head in (0, 2, 8):
        alone = describe_head(trace.attentions[0, head], trace.tokens, trace.word_ids)
        assert (alone.kind, alone.text) == (patterns[head].kind, patterns[head].text)
        assert alone.score == pytest.approx(patterns[head].score, abs=1e-9)
    layer4 = describe_heads(trace.attentions[4], trace.tokens, trace.word_ids)
    assert sum(p.kind == "cls" for p in layer4) >= 6  # most of layer 4 parks on [CLS]


def test_describe_head_shares_by_hand(traces: dict[str, Trace]) -> None:
    """The shares are head_stats' measured means over every row, computed here directly."""
    trace = traces["trained"]
    weights = trace.attentions[1, 8].astype(np.float64)
    pattern = describe_head(weights, trace.tokens)
    shares = dict(pattern.shares)
    rows = np.arange(trace.T)
    assert shares["previous"] == pytest.approx(weights[rows[1:], rows[1:] - 1].mean(), abs=1e-6)
    assert shares["next"] == pytest.approx(weights[rows[:-1], rows[:-1] + 1].mean(), abs=1e-6)
    assert shares["cls"] == pytest.approx(weights[:, 0].mean(), abs=1e-6)
    assert shares["sep"] == pytest.approx(weights[:, -1].mean(), abs=1e-6)
    comma = [j for j, tok in enumerate(trace.tokens) if tok in {"'", "."}]  # the only punctuation pieces
    assert shares["punct"] == pytest.approx(weights[:, comma].sum(1).mean(), abs=1e-6)
    row = head_stats(trace).iloc[1 * 12 + 8]  # layer 2, head 9: the same numbers as the explain table
    assert (shares["previous"], shares["self"], pattern.entropy) == pytest.approx((row.prev, row.self, row.entropy))


def test_describe_head_rejects_bad_shapes() -> None:
    """One (T, T) map for describe_head, (H, T, T) for describe_heads, T matching the tokens."""
    with pytest.raises(ValueError, match=r"\(T, T\)"):
        describe_head(np.ones((2, 3, 3)), ["a"] * 3)
    with pytest.raises(ValueError, match=r"\(H, T, T\)"):
        describe_heads(np.ones((3, 3)), ["a"] * 3)
    with pytest.raises(ValueError, match="tokens has 2"):
        describe_head(np.eye(3), ["a", "b"])


# ---------------------------------------------------------------------------------------
# Merging heads and the output projection
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [0, 3, 5])
def test_head_concat_equals_the_encoders_context(traces: dict[str, Trace], layer: int) -> None:
    """Per-head A V laid side by side is the (T, D) context the encoder fed to W_o."""
    trace = traces["trained"]
    per_head, concat = head_concat(trace, layer)
    d_head = per_head.shape[-1]
    assert per_head.shape == (trace.n_heads, trace.T, d_head) and concat.shape == trace.contexts[layer].shape
    np.testing.assert_allclose(concat, trace.contexts[layer], rtol=0, atol=TOL)
    np.testing.assert_array_equal(concat[:, 2 * d_head : 3 * d_head], per_head[2])


@pytest.mark.parametrize(("variant", "layer"), [("trained", 0), ("trained", 4), ("causal", 2), ("scale1", 5)])
def test_project_output_rebuilds_the_whole_layer(
    encoder: Encoder, traces: dict[str, Trace], variant: str, layer: int
) -> None:
    """LayerNorm(x + proj) then the feed-forward block gives exactly the layer's output hidden state."""
    trace, c = traces[variant], encoder.config
    proj = torch.from_numpy(project_output(encoder, trace, layer).copy())  # (T, D)
    assert tuple(proj.shape) == (trace.T, c.d_model)
    w = encoder.layer_weights(layer)
    x = torch.from_numpy(trace.hidden_states[layer].copy())
    h = F.layer_norm(x + proj, (c.d_model,), w.ln_attn_w, w.ln_attn_b, c.layer_norm_eps)
    assert torch.isfinite(h).all()
    ff = F.gelu(F.linear(h, w.w_ff_in, w.b_ff_in))
    out = F.layer_norm(h + F.linear(ff, w.w_ff_out, w.b_ff_out), (c.d_model,), w.ln_ff_w, w.ln_ff_b, c.layer_norm_eps)
    np.testing.assert_allclose(out.numpy(), trace.hidden_states[layer + 1], rtol=0, atol=1e-4)


def test_project_output_is_not_the_identity(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """W_o really mixes the heads: the projection differs from the raw context."""
    trace = traces["trained"]
    assert np.abs(project_output(encoder, trace, 1) - trace.contexts[1]).max() > 0.1


# ---------------------------------------------------------------------------------------
# survey_layer: the heads view's one call
# ---------------------------------------------------------------------------------------


def _clearest_by_hand(trace: Trace) -> list[tuple[str, float, int, int]]:
    """Per kind, the largest share over every layer and head (first of equals), best first."""
    best: dict[str, tuple[float, int, int]] = {}
    for layer in range(trace.n_layers):
        for head, p in enumerate(describe_heads(trace.attentions[layer], trace.tokens, trace.word_ids)):
            if p.kind not in ("broad", "mixed", "cls", "sep") and p.score > best.get(p.kind, (0.0,))[0]:
                best[p.kind] = (p.score, layer, head)
    return [(kind, *rest) for kind, rest in sorted(best.items(), key=lambda kv: -kv[1][0])]


@pytest.mark.parametrize(("variant", "layer", "head"), [("trained", 0, 2), ("trained", 3, 1), ("causal", 5, 11)])
def test_survey_layer_describes_picks_and_joins(
    encoder: Encoder, traces: dict[str, Trace], variant: str, layer: int, head: int
) -> None:
    """Patterns are describe_heads'; clearest spans every layer; shown starts at the chosen head with distinct kinds."""
    trace = traces[variant]
    survey = survey_layer(encoder, trace, layer, head)
    expected = describe_heads(trace.attentions[layer], trace.tokens, trace.word_ids)
    assert [p.text for p in survey.patterns] == [p.text for p in expected]
    assert [(e.kind, e.score, e.layer, e.head) for e in survey.clearest] == _clearest_by_hand(trace)
    assert survey.shown[0] == head and len(survey.shown) == len(set(survey.shown)) <= 3
    kinds = [survey.patterns[h].kind for h in survey.shown]
    assert len(set(kinds)) == len(kinds)  # every head shown does something else
    np.testing.assert_array_equal(survey.maps, trace.attentions[layer, list(survey.shown)])
    per_head, joined = head_concat(trace, layer)
    np.testing.assert_array_equal(survey.joined, joined)
    np.testing.assert_array_equal(survey.projected, project_output(encoder, trace, layer))
    assert (survey.n_heads, survey.d_head) == (trace.n_heads, per_head.shape[-1]) == (12, 32)


def test_survey_layer_hides_specials_in_the_maps_it_shows(encoder: Encoder, traces: dict[str, Trace]) -> None:
    """With hide_specials, the maps to draw have [CLS]/[SEP] columns at 0 and rows summing to 1."""
    survey = survey_layer(encoder, traces["trained"], 4, 1, hide_specials=True)
    np.testing.assert_array_equal(survey.maps[..., [0, -1]], 0)
    np.testing.assert_allclose(survey.maps.sum(axis=-1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="read-only"):
        survey.maps[0, 0, 0] = 1.0


@pytest.mark.parametrize(
    ("layer", "head", "fragment"), [(6, 0, r"layer must be in 0\.\.5"), (0, 12, r"first_head must be in 0\.\.11")]
)
def test_survey_layer_rejects_bad_indices(
    encoder: Encoder, traces: dict[str, Trace], layer: int, head: int, fragment: str
) -> None:
    """A layer or head outside the trace is a ValueError naming it."""
    with pytest.raises(ValueError, match=fragment):
        survey_layer(encoder, traces["trained"], layer, head)


def test_parked_heads_are_named_parked_and_left_out_of_the_clearest_habits(
    encoder: Encoder, traces: dict[str, Trace]
) -> None:
    """Layer 5 of MiniLM mostly parks on [CLS]: the survey counts those heads and never offers them as habits."""
    survey = survey_layer(encoder, traces["trained"], 4, 0)
    parked = [p for p in survey.patterns if p.parked]
    assert survey.n_parked == len(parked) >= 6
    assert all(p.kind in ("cls", "sep") and p.text.startswith("parked:") for p in parked)
    assert all(e.kind not in ("cls", "sep") for e in survey.clearest)
    others = {p.kind for p in survey.patterns if not p.parked} - {survey.patterns[0].kind}
    shown = [survey.patterns[h] for h in survey.shown[1:]]
    assert [p.parked for p in shown] == sorted(p.parked for p in shown)  # unparked heads come first
    assert sum(not p.parked for p in shown) == min(len(others), len(shown))  # one per other kind, before parked


def _variety_by_hand(attentions: np.ndarray, tokens: list[str]) -> np.ndarray:
    """Mean total-variation distance over head pairs and word-piece rows, special columns zeroed."""
    special = np.array([t in ("[CLS]", "[SEP]") for t in tokens])
    rows = np.flatnonzero(~special)
    out = []
    for layer in attentions.astype(np.float64):
        kept = layer[:, rows, :].copy()
        kept[..., special] = 0
        h = kept.shape[0]
        pairs = [0.5 * np.abs(kept[i] - kept[j]).sum(-1).mean() for i in range(h) for j in range(i + 1, h)]
        out.append(np.mean(pairs))
    return np.array(out)


def test_layer_variety_by_hand_and_its_limits(traces: dict[str, Trace]) -> None:
    """Real maps agree with a direct loop; identical heads give 0, heads on different words give 1, parked count as alike."""
    trace = traces["trained"]
    np.testing.assert_allclose(layer_variety(trace.attentions, trace.tokens), _variety_by_hand(
        trace.attentions, trace.tokens), atol=1e-5)
    same = np.stack([np.stack([_shifted(8, -1)] * 3)])  # (1, 3, 8, 8) three previous-token heads
    assert layer_variety(same, EIGHT)[0] == pytest.approx(0.0)
    apart = np.stack([np.stack([_shifted(8, -1), _shifted(8, 1)])])  # previous vs next: never the same key
    # rows w2..w5 differ fully (1); w1's previous and w6's next are [CLS] / [SEP], left out (½): (4 + 2 · ½) / 6
    assert layer_variety(apart, EIGHT)[0] == pytest.approx(5 / 6)
    parked = np.stack([np.stack([_column(8, 0), _column(8, 7)])])  # all on [CLS] vs all on [SEP]
    assert layer_variety(parked, EIGHT)[0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match=r"\(L, H, T, T\)"):
        layer_variety(np.eye(3), ["a"] * 3)


def test_the_most_varied_layer_of_the_default_text_is_the_first(
    encoder: Encoder, traces: dict[str, Trace]
) -> None:
    """On the heads view's text the first layer (no parked head) differs most; layer 4, mostly parked, does not."""
    trace = encoder.trace("The animal didn't cross the street because it was too tired.")
    survey = survey_layer(encoder, trace, 3, 1)
    assert survey.most_varied == int(np.argmax(survey.variety)) == 0
    assert survey.variety[3] < survey.variety[0] and survey.n_parked >= 6
    assert survey_layer(encoder, trace, 0, 2).n_parked == 0

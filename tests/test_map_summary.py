"""qkv_core.heads: the map view's summary and one query compared across two sentences, on the real model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qkv_core import steps
from qkv_core.encoder import Encoder, Trace
from qkv_core.heads import PARKING_SHARE, compare_query, map_summary, matching_token
from tests.trace_texts import SENTENCE

WIDE = SENTENCE.replace("tired", "wide")


@pytest.fixture(scope="module")
def wide(encoder: Encoder) -> Trace:
    return encoder.trace(WIDE)


def test_map_summary_numbers_come_from_the_trace(traces: dict[str, Trace]) -> None:
    trace = traces["trained"]
    s = map_summary(trace, 3, 1, 10, hide_specials=False, window_size=80)
    np.testing.assert_array_equal(s.weights, trace.attentions[3, 1])
    assert (s.start, s.stop, s.before, s.after) == (0, 16, 10, 5)
    assert s.top == int(trace.attentions[3, 1, 10].argmax()) and s.top_weight == pytest.approx(
        trace.attentions[3, 1, 10].max())
    shares = steps.special_share(trace.attentions, trace.tokens)
    assert s.special_share == pytest.approx(shares[3, 1])
    assert s.n_parking == int((shares > PARKING_SHARE).sum()) and s.n_heads_total == shares.size
    assert s.row_special_share == pytest.approx(trace.attentions[3, 1, 10, [0, 15]].sum())
    assert not s.binned and s.blocks.shape == (*trace.attentions.shape[:2], 16, 16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.top = 0  # type: ignore[misc]
    assert not s.weights.flags.writeable


def test_map_summary_hides_specials_but_reports_the_real_share(traces: dict[str, Trace]) -> None:
    trace = traces["trained"]
    s = map_summary(trace, 3, 1, 10, hide_specials=True, window_size=80)
    assert s.weights[:, [0, 15]].sum() == 0
    np.testing.assert_allclose(s.weights.sum(-1), 1, atol=1e-6)
    assert s.special_share > 0.1  # the real share, not the hidden one


@pytest.mark.parametrize("token, expected", [(0, (0, 6, 0, 5)), (15, (10, 16, 5, 0)), (8, (5, 11, 3, 2))])
def test_map_summary_window_says_where_it_is(traces: dict[str, Trace], token: int, expected: tuple) -> None:
    s = map_summary(traces["trained"], 0, 0, token, hide_specials=False, window_size=6)
    assert (s.start, s.stop, s.before, s.after) == expected


def test_map_summary_rejects_bad_indices(traces: dict[str, Trace]) -> None:
    with pytest.raises(ValueError, match="token"):
        map_summary(traces["trained"], 0, 0, 16, hide_specials=False, window_size=6)


def test_matching_token_takes_the_same_occurrence() -> None:
    a = ["[CLS]", "the", "cat", "the", "dog", "[SEP]"]
    assert matching_token(a, 3, ["[CLS]", "the", "x", "the", "[SEP]"]) == 3
    assert matching_token(a, 3, ["[CLS]", "the", "[SEP]"]) == 1  # only one: the first
    assert matching_token(a, 2, ["[CLS]", "dog", "[SEP]"]) is None


def test_flagship_head_follows_the_same_word_in_both_sentences(traces: dict[str, Trace], wide: Trace) -> None:
    tired = traces["trained"]
    c = compare_query(tired, wide, 3, 1, tired.tokens.index("it"))
    assert c is not None and c.word == "it" and c.tokens == (10, 10)
    rows = tired.attentions[3, 1, 10], wide.attentions[3, 1, 10]
    for top, row, trace in zip(c.top, rows, (tired, wide)):
        assert [k.index for k in top] == list(np.argsort(-row, kind="stable")[:3])
        assert [k.token for k in top] == [trace.tokens[k.index] for k in top]
    # what the issue measured: 'animal' 0.68 in 'tired'; in 'wide' [CLS] first, then 'animal' over 'street'
    assert c.top[0][0].token == "animal" and c.top[0][0].weight == pytest.approx(rows[0][2])
    assert c.top[1][0].token == "[CLS]"
    assert c.same_word and c.word_top[1].token == "animal"
    assert c.word_top[1].weight > wide.attentions[3, 1, 10, wide.tokens.index("street")]
    assert c.special[1] == pytest.approx(rows[1][[0, 15]].sum())


def test_compare_query_reports_a_change_of_word(encoder: Encoder, traces: dict[str, Trace]) -> None:
    tired = traces["trained"]
    other = encoder.trace("it")  # only [CLS], it, [SEP]: no other word, so the fallback is a marker
    c = compare_query(tired, other, 3, 1, 10)
    assert c is not None and not c.same_word and c.tokens == (10, 1)
    assert c.cross[0] == 0.0  # 'animal' is absent from the other text
    assert compare_query(tired, encoder.trace("no such pronoun"), 3, 1, 10) is None


# ---------------------------------------------------------------- the map's question: the most attended key


def test_most_attended_is_the_rows_argmax_and_the_maps_top(encoder: Encoder):
    from qkv_core.heads import most_attended

    trace = encoder.trace(SENTENCE)
    for layer, head, token in ((3, 1, 2), (0, 2, 5), (5, 11, 1)):
        top = most_attended(trace, layer, head, token)
        row = trace.attentions[layer, head, token]
        assert top.index == int(np.argmax(row)) and top.weight == pytest.approx(float(row.max()))
        assert top.index == map_summary(trace, layer, head, token, False, 80).top
        hidden = most_attended(trace, layer, head, token, hide_specials=True)
        assert hidden.token not in ("[CLS]", "[SEP]")
        assert hidden.index == map_summary(trace, layer, head, token, True, 80).top
    with pytest.raises(ValueError, match="head must be in"):
        most_attended(trace, 0, trace.n_heads, 0)

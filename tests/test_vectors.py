"""qkv_core.vectors: finding a word in a trace and following its vector through the layers."""

from __future__ import annotations


import numpy as np
import pytest

from qkv_core.encoder import Encoder, Trace
from qkv_core.vectors import (
    WordSpan,
    compare_with_control,
    compare_word,
    find_word,
    layerwise_cosine,
    nearest_tokens,
    word_spans,
    word_vectors,
)
from tests.trace_texts import RIVER, SENTENCE


# ---------------------------------------------------------------------------------------
# 4) Contextual embeddings
# ---------------------------------------------------------------------------------------


def test_word_spans_cover_the_words(encoder: Encoder) -> None:
    """Pieces of one word form one span with the word as written; specials are left out."""
    trace = encoder.trace("Tokenization is unbelievably hard!")
    spans = word_spans(trace)
    assert [s.text for s in spans] == ["Tokenization", "is", "unbelievably", "hard", "!"]
    assert spans[0].pieces == (1, 2)  # token ##ization
    assert spans[2].pieces == (4, 5, 6, 7, 8)  # un ##bel ##ie ##va ##bly
    assert [s.word_index for s in spans] == [0, 1, 2, 3, 4]
    assert all(0 not in s.pieces and trace.T - 1 not in s.pieces for s in spans)


FIND_CASES = [
    # text, query, expected (text, pieces) of each match
    pytest.param(RIVER, "bank", [("bank", (5,))], id="plain"),  # one match
    pytest.param(RIVER, "BANK", [("bank", (5,))], id="case-insensitive"),  # case is ignored
    pytest.param(RIVER, " bank,", [("bank", (5,))], id="punctuation-stripped"),  # typed with a comma
    pytest.param(RIVER, "the", [("the", (4,)), ("the", (7,)), ("the", (11,))], id="three-times"),  # every occurrence
    pytest.param(RIVER, "ban", [], id="no-partial-words"),  # a prefix is not the word
    pytest.param(RIVER, "money", [], id="absent"),  # nothing found
    pytest.param(SENTENCE, "didn't", [("didn't", (3, 4, 5))], id="apostrophe"),  # spans the tokenizer's 3 words
    pytest.param("Tokenization rocks.", "tokenization", [("Tokenization", (1, 2))], id="two-pieces"),  # 2 pieces
]


@pytest.mark.parametrize(("text", "query", "expected"), FIND_CASES)
def test_find_word(encoder: Encoder, text: str, query: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    """Matches are whole written words, case-insensitive, with the token positions of their pieces."""
    found = find_word(encoder.trace(text), query)
    assert [(s.text, s.pieces) for s in found] == expected


def test_find_word_skips_occurrences_cut_off_by_truncation(encoder: Encoder) -> None:
    """A word that only occurs past the 512-token limit has no pieces, so it is not found."""
    trace = encoder.trace("river " * 600 + "zebra")
    assert trace.truncated
    assert find_word(trace, "zebra") == []
    assert len(find_word(trace, "river")) == trace.T - 2


@pytest.mark.parametrize("bad", ["", "   ", "...", 42])
def test_find_word_rejects_empty_queries(traces: dict[str, Trace], bad: object) -> None:
    """A query with no letters or digits (or not a string) is a ValueError."""
    with pytest.raises(ValueError, match="word must"):
        find_word(traces["trained"], bad)  # type: ignore[arg-type]


def test_word_vectors_average_the_pieces(encoder: Encoder) -> None:
    """(L+1, D): the mean of the pieces' hidden states at every layer."""
    trace = encoder.trace("Tokenization rocks.")
    span = find_word(trace, "tokenization")[0]
    vectors = word_vectors(trace, span)
    assert vectors.shape == (trace.n_layers + 1, encoder.config.d_model)
    np.testing.assert_allclose(vectors, trace.hidden_states[:, [1, 2]].mean(axis=1), atol=1e-6)
    single = word_vectors(trace, find_word(trace, "rocks")[0])
    np.testing.assert_allclose(single, trace.hidden_states[:, 3], atol=1e-7)
    with pytest.raises(ValueError, match="piece position"):
        word_vectors(trace, WordSpan(word_index=0, text="x", pieces=(99,)))


def test_layerwise_cosine_basics() -> None:
    """Row-by-row cosine: 1 for equal rows, 0 for orthogonal or zero rows, -1 for opposite."""
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    b = np.array([[3.0, 0.0], [1.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(layerwise_cosine(a, b), [1.0, 0.0, 0.0, -1.0], atol=1e-12)
    with pytest.raises(ValueError, match=r"\(4, 2\) and \(3, 2\)"):
        layerwise_cosine(a, b[:3])


def _bank_curve(traces: dict[str, Trace], one: str, two: str) -> np.ndarray:
    """Layer-by-layer cosine between "bank" in two sentences, (L+1,)."""
    vectors = [word_vectors(traces[name], find_word(traces[name], "bank")[0]) for name in (one, two)]
    return layerwise_cosine(*vectors)


def test_context_pulls_the_two_banks_apart(bank_traces: dict[str, Trace]) -> None:
    """River bank vs money bank: identical embeddings at layer 0, clearly apart after the last layer."""
    curve = _bank_curve(bank_traces, "river", "loan")
    assert curve.shape == (7,)
    assert curve[0] == pytest.approx(1.0, abs=1e-6)  # same word, same position: same input vector
    assert curve[0] > curve[-1] + 0.1


def test_two_river_banks_stay_closer_than_river_and_money(bank_traces: dict[str, Trace]) -> None:
    """At the last layer, bank (river) vs bank (stream) is more alike than bank (river) vs bank (loan)."""
    same_sense = _bank_curve(bank_traces, "river", "river_too")
    other_sense = _bank_curve(bank_traces, "river", "loan")
    assert same_sense[-1] > other_sense[-1] + 0.05


def test_nearest_tokens(bank_traces: dict[str, Trace]) -> None:
    """A token's own state is its nearest neighbour; exclusions and specials are skipped; best first."""
    trace = bank_traces["river"]
    own = trace.hidden_states[6, 5]
    found = nearest_tokens(trace, own, 6, k=4)
    assert found[0][:2] == (5, "bank") and found[0][2] == pytest.approx(1.0, abs=1e-6)
    sims = [sim for _, _, sim in found]
    assert sims == sorted(sims, reverse=True) and len(found) == 4
    without = nearest_tokens(trace, own, 6, k=100, exclude=(5,))
    positions = [p for p, _, _ in without]
    assert 5 not in positions and 0 not in positions and trace.T - 1 not in positions
    assert len(without) == trace.T - 3  # every word but the excluded one
    across = nearest_tokens(bank_traces["loan"], own, 6, k=1)
    assert across[0][1] == "bank"  # the river "bank" still finds "bank" in the loan sentence


@pytest.mark.parametrize(
    ("layer", "k", "vector_size", "fragment"),
    [(7, 5, 384, "layer"), (0, 0, 384, "k must"), (0, 5, 383, r"shape \(384,\)")],
)
def test_nearest_tokens_rejects_bad_input(
    bank_traces: dict[str, Trace], layer: int, k: int, vector_size: int, fragment: str
) -> None:
    """Bad layer, k or vector size is a ValueError naming it."""
    with pytest.raises(ValueError, match=fragment):
        nearest_tokens(bank_traces["river"], np.ones(vector_size), layer, k=k)


def test_compare_word_is_vectors_cosines_and_neighbours(bank_traces: dict[str, Trace]) -> None:
    """The context view's one call equals word_vectors, layerwise_cosine and nearest_tokens, each text's own word left out."""
    pair = [bank_traces["river"], bank_traces["loan"]]
    spans = [find_word(trace, "bank")[0] for trace in pair]
    found = compare_word(pair, spans, k=5)
    vectors = [word_vectors(trace, span) for trace, span in zip(pair, spans)]
    np.testing.assert_array_equal(found.cosines, layerwise_cosine(*vectors))
    for trace, vector, span, near in zip(pair, vectors, spans, found.nearest):
        assert near == nearest_tokens(trace, vector[-1], trace.n_layers, k=5, exclude=span.pieces)
        assert all(position not in span.pieces for position, _, _ in near)
    assert found.nearest[0][0][1] == "river" and found.nearest[1][0][1] == "loan"
    with pytest.raises(ValueError, match="two traces and two spans"):
        compare_word(pair[:1], spans[:1])


@pytest.mark.parametrize(
    ("other", "same_position"),
    [
        ("I went to the bank to ask for a loan.", True),  # "bank" at position 5, as in RIVER
        ("The bank said no to my loan.", False),  # "bank" at position 2
    ],
)
def test_layer_0_is_1_exactly_when_the_positions_match(
    encoder: Encoder, bank_traces: dict[str, Trace], other: str, same_position: bool
) -> None:
    """The embedding adds a position vector: the same word has cosine 1 at layer 0 only at the same position."""
    pair = [bank_traces["river"], encoder.trace(other)]
    found = compare_word(pair, [find_word(trace, "bank")[0] for trace in pair])
    assert found.same_position is same_position
    assert found.positions[0] == (5,)
    if same_position:
        assert found.cosines[0] == pytest.approx(1.0, abs=1e-6)
    else:
        assert found.positions[1] == (2,) and found.cosines[0] < 0.99


def test_compare_with_control_is_two_comparisons_against_sentence_a(bank_traces: dict[str, Trace]) -> None:
    """A vs B and A vs the control C are compare_word's; the same-sense control stays closer after the last layer."""
    texts = [bank_traces[name] for name in ("river", "loan", "river_too")]
    spans = [find_word(trace, "bank")[0] for trace in texts]
    found = compare_with_control(texts, spans)
    np.testing.assert_array_equal(found.pair.cosines, compare_word(texts[:2], spans[:2]).cosines)
    np.testing.assert_array_equal(found.control.cosines, compare_word(texts[::2], spans[::2]).cosines)
    assert found.control.cosines[-1] > found.pair.cosines[-1] + 0.1
    np.testing.assert_allclose(found.gap, found.control.cosines - found.pair.cosines)
    without = compare_with_control(texts, [*spans[:2], None])
    assert without.control is None and without.gap is None
    with pytest.raises(ValueError, match="three traces"):
        compare_with_control(texts[:2], spans[:2])
    with pytest.raises(ValueError, match="A and B"):
        compare_with_control(texts, [spans[0], None, spans[2]])

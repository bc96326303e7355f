"""Contextual word vectors: the same word in two texts, followed layer by layer.

Letter legend used in shape comments:

    L        encoder layers (hidden states have L+1 rows: the embeddings, then each layer's output)
    T        tokens (word pieces, [CLS] and [SEP] included)
    D        model width
    n        word pieces of one word

A word split into several pieces is followed as the mean of its pieces' hidden states.
The embedding (layer 0) is the word's vector plus its position's vector, so the same word has
cosine 1 at layer 0 only where it sits at the same positions in both texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from qkv_core.checks import check_index, is_int
from qkv_core.encoder import Trace, special_mask
from qkv_core.numerics import cosine

__all__ = [
    "ControlledComparison",
    "WordComparison",
    "WordSpan",
    "compare_word",
    "compare_with_control",
    "find_word",
    "layerwise_cosine",
    "nearest_tokens",
    "word_spans",
    "word_vectors",
]

_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


@dataclass(frozen=True)
class WordSpan:
    """One written word and the token positions of its pieces."""

    word_index: int  # the tokenizer's word id of the first piece
    text: str  # the word as written in trace.text
    pieces: tuple[int, ...]  # token positions, in order


def word_spans(trace: Trace) -> list[WordSpan]:
    """Every word of the trace (as the tokenizer splits words; punctuation is its own word), specials excluded."""
    groups: dict[int, list[int]] = {}
    for position, word in enumerate(trace.word_ids):
        if word is not None:
            groups.setdefault(word, []).append(position)
    spans = []
    for word, positions in groups.items():
        start, end = trace.offsets[positions[0]][0], trace.offsets[positions[-1]][1]
        spans.append(WordSpan(word_index=word, text=trace.text[start:end], pieces=tuple(positions)))
    return spans


def find_word(trace: Trace, word: str) -> list[WordSpan]:
    """Every occurrence of ``word`` in the trace's text (case-insensitive, punctuation around it ignored)."""
    if not isinstance(word, str):
        raise ValueError(f"word must be a str, got {type(word).__name__}")
    needle = _EDGE_PUNCT.sub("", word.strip())
    if not needle:
        raise ValueError(f"word must contain a letter or digit, got {word!r}")
    pattern = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)", re.IGNORECASE)
    found = []
    for match in pattern.finditer(trace.text):
        pieces = tuple(
            position
            for position, ((start, end), wid) in enumerate(zip(trace.offsets, trace.word_ids))
            if wid is not None and start < match.end() and end > match.start()
        )
        if pieces:  # an occurrence cut off by truncation has no pieces
            found.append(WordSpan(word_index=trace.word_ids[pieces[0]], text=match.group(), pieces=pieces))
    return found


def word_vectors(trace: Trace, span: WordSpan) -> np.ndarray:
    """The word's vector at every layer: mean of its pieces' hidden states, (L+1, D)."""
    _check_span(trace, span)
    return _word_vectors(trace, span)


def _check_span(trace: Trace, span: WordSpan) -> None:
    """A span with at least one piece, every piece a token position of ``trace``."""
    if not span.pieces:
        raise ValueError(f"span {span.text!r} has no pieces")
    for position in span.pieces:
        check_index("piece position", position, trace.T)


def _word_vectors(trace: Trace, span: WordSpan) -> np.ndarray:
    """``word_vectors`` of a checked span."""
    pieces = list(span.pieces)
    return trace.hidden_states[:, pieces, :].mean(axis=1, dtype=np.float64)  # (L+1, n, D) -> (L+1, D)


def layerwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of two (L+1, D) stacks, row by row: (L+1,)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"layerwise_cosine needs two (L+1, D) arrays of one shape, got {a.shape} and {b.shape}")
    return cosine(a, b)  # (L+1,)


def nearest_tokens(
    trace: Trace, vector: np.ndarray, layer: int, k: int = 5, exclude: Iterable[int] = ()
) -> list[tuple[int, str, float]]:
    """The k positions whose hidden state at ``layer`` is most cosine-similar to ``vector``, best first.

    ``layer`` indexes hidden states (0 = embeddings .. L); specials and ``exclude`` are skipped.
    Returns (position, token, cosine) triples.
    """
    layer = check_index("layer", layer, trace.hidden_states.shape[0])
    _check_k(k)
    vector = np.asarray(vector)
    d = trace.hidden_states.shape[-1]
    if vector.shape != (d,):
        raise ValueError(f"vector must have shape ({d},), got {vector.shape}")
    exclude = [check_index("excluded position", position, trace.T) for position in exclude]
    return _nearest_tokens(trace, vector, layer, k, exclude)


def _check_k(k: object) -> None:
    """k must be a positive int."""
    if not is_int(k) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")


def _nearest_tokens(
    trace: Trace, vector: np.ndarray, layer: int, k: int, exclude: Iterable[int]
) -> list[tuple[int, str, float]]:
    """``nearest_tokens`` on checked arguments."""
    states = trace.hidden_states[layer]  # (T, D)
    sims = cosine(states, vector[None, :])  # (T,)
    allowed = ~special_mask(trace.tokens)  # (T,)
    allowed[list(exclude)] = False
    order = [int(i) for i in np.argsort(-sims, kind="stable") if allowed[i]]
    return [(i, trace.tokens[i], float(sims[i])) for i in order[:k]]


@dataclass(frozen=True, eq=False)
class WordComparison:
    """One word in two texts: its vectors at every layer, how alike they are, and its neighbours in each text."""

    vectors: tuple[np.ndarray, np.ndarray]  # each (L+1, D): the word's vector in text A, in text B
    cosines: np.ndarray  # (L+1,) cosine of the two vectors at each layer (0 = the embeddings)
    nearest: tuple[list[tuple[int, str, float]], list[tuple[int, str, float]]]  # per text, after the last layer
    positions: tuple[tuple[int, ...], tuple[int, ...]]  # the word's token positions in text A, in text B

    @property
    def same_position(self) -> bool:
        """True when the word's pieces sit at the same positions in both texts (then layer 0 has cosine 1)."""
        return self.positions[0] == self.positions[1]


def compare_word(traces: Sequence[Trace], spans: Sequence[WordSpan], k: int = 5) -> WordComparison:
    """Follow one word through two traces: ``word_vectors``, ``layerwise_cosine``, and ``nearest_tokens``.

    Steps:
        1) vectors    the word's (L+1, D) vector in each text (the mean of its pieces)
        2) compare    cosine of the two at every layer                               (L+1,)
        3) neighbours in each text, the k tokens nearest its own vector after the last layer,
                      its own pieces and [CLS]/[SEP] left out
    """
    if len(traces) != 2 or len(spans) != 2:
        raise ValueError(f"compare_word needs two traces and two spans, got {len(traces)} and {len(spans)}")
    if traces[0].hidden_states.shape[::2] != traces[1].hidden_states.shape[::2]:
        raise ValueError(f"compare_word needs two traces of one model, got hidden states "
                         f"{traces[0].hidden_states.shape} and {traces[1].hidden_states.shape}")
    for trace, span in zip(traces, spans):
        _check_span(trace, span)
    _check_k(k)
    pair = tuple(_word_vectors(trace, span) for trace, span in zip(traces, spans))  # 1) 2 x (L+1, D)
    cosines = cosine(*pair)  # 2) (L+1,)
    last = len(cosines) - 1
    nearest = tuple(  # 3)
        _nearest_tokens(trace, vector[last], last, k, span.pieces)
        for trace, vector, span in zip(traces, pair, spans)
    )
    positions = (tuple(spans[0].pieces), tuple(spans[1].pieces))
    return WordComparison(vectors=pair, cosines=cosines, nearest=nearest, positions=positions)


@dataclass(frozen=True, eq=False)
class ControlledComparison:
    """One word in text A against text B, and against a control text C that uses it in A's sense."""

    pair: WordComparison  # A vs B
    control: WordComparison | None  # A vs C; None when C does not hold the word

    @property
    def gap(self) -> np.ndarray | None:
        """(L+1,) how much further apart A and B are than A and the control, per layer."""
        return None if self.control is None else self.control.cosines - self.pair.cosines


def compare_with_control(
    traces: Sequence[Trace], spans: Sequence[WordSpan | None], k: int = 5
) -> ControlledComparison:
    """``compare_word`` for texts A and B, and for A and a control C (same sense as A) when its span is given.

    ``traces`` and ``spans`` hold A, B, C in that order; C's span may be None (word not in C).
    The control tells a change of sense from the drift every context causes: a same-sense pair
    drifts too, less.
    """
    if len(traces) != 3 or len(spans) != 3:
        raise ValueError(f"compare_with_control needs three traces and three spans, got {len(traces)} and {len(spans)}")
    if spans[0] is None or spans[1] is None:
        raise ValueError("texts A and B must both hold the word")
    pair = compare_word(traces[:2], spans[:2], k)
    control = None if spans[2] is None else compare_word([traces[0], traces[2]], [spans[0], spans[2]], k)
    return ControlledComparison(pair=pair, control=control)

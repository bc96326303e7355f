"""Hard lookup (a Python dict) versus soft attention retrieval over the same store.

A dict answers only for an exact key and raises KeyError otherwise. Soft retrieval
scores the query against every key, turns the scores into weights with a softmax
and returns the weighted mix of the values:

    weights = softmax(score(query, keys) / T)      output = weights @ values

As T -> 0 the weights collapse onto the best-scoring key (a nearest-key lookup);
as T -> inf they spread evenly and the output becomes the plain mean of the values.

Letters: n keys in the store, d key (embedding) width, dv value width.

The softmax and the entropy are ``qkv_core.numerics``'; the store itself (presets, a user-edited
table, a store in a link) is ``qkv_core.store``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from qkv_core import numerics
from qkv_core.checks import is_int, is_real, short
from qkv_core.numerics import read_only

__all__ = [
    "SIMILARITIES",
    "WEAK_MATCH",
    "Scored",
    "dict_transcript",
    "effective_keys",
    "entropy",
    "format_mix",
    "hard_lookup",
    "is_collapsed",
    "keys_with_weight",
    "score_keys",
    "similarity",
    "soft_lookup",
    "soft_lookup_scores",
    "softmax",
    "store_dict",
]

SIMILARITIES = ("dot", "scaled_dot", "cosine")
# Below this best cosine, no key matches the query well. Measured on the shipped stores with
# all-MiniLM-L6-v2: queries on a key's topic score >= 0.43 ("how to make dinner fast" 0.44,
# "funny kittens" 0.75, "a dozen" -> "twelve" 0.76), off-topic ones <= 0.22 on the videos
# ("quarterly tax filing deadline" 0.15, "hello" 0.18, "7" 0.22); 0.3 sits between the two.
# Short number words are all alike (any two score >= 0.5), so there a stray word can reach 0.35.
WEAK_MATCH = 0.3
_WEIGHT_SUM_TOL = 1e-6

V = TypeVar("V")


# ---------------------------------------------------------------- validation


def _check_temperature(temperature: float) -> float:
    """Return temperature as a float, or raise unless it is finite and > 0."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number, got {temperature!r}") from None
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}")
    return t


def _as_float_array(x: Any, name: str) -> np.ndarray:
    """Convert to a float64 array, raising ValueError on non-numeric or non-finite data."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {arr.size} values with "
                         f"{int(np.sum(~np.isfinite(arr)))} non-finite")
    return arr


def _check_query_keys(query: Any, keys: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (d,) query against (n, d) keys; return both as float64."""
    q = _as_float_array(query, "query")
    k = _as_float_array(keys, "keys")
    if q.ndim != 1:
        raise ValueError(f"query must be 1-D with shape (d,), got shape {q.shape}")
    if k.ndim != 2:
        raise ValueError(f"keys must be 2-D with shape (n, d), got shape {k.shape}")
    if k.shape[0] == 0:
        raise ValueError(f"the store is empty: keys has shape {k.shape}, need at least one key")
    if k.shape[1] != q.shape[0]:
        raise ValueError(f"query width does not match key width: query shape {q.shape}, "
                         f"keys shape {k.shape}")
    if q.shape[0] == 0:
        raise ValueError(f"keys and query have width 0: query shape {q.shape}, keys shape {k.shape}")
    return q, k


def _check_weights(weights: Any) -> np.ndarray:
    """Validate a 1-D probability vector (non-empty, finite, >= 0, sums to 1)."""
    w = _as_float_array(weights, "weights")
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D array, got shape {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"weights must be >= 0, got minimum {w.min()}")
    if abs(w.sum() - 1.0) > _WEIGHT_SUM_TOL:
        raise ValueError(f"weights must sum to 1, got sum {w.sum()}")
    return w


def _check_values(values: Any, n: int, keys_shape: str) -> np.ndarray:
    """Validate (n,) or (n, dv) values, one per key; ``keys_shape`` names the keys in the message."""
    v = _as_float_array(values, "values")
    if v.ndim not in (1, 2):
        raise ValueError(f"values must have shape (n,) or (n, dv), got shape {v.shape}")
    if v.shape[0] != n:
        raise ValueError(f"one value per key needed: {keys_shape}, values shape {v.shape}")
    return v


def _check_scores(scores: Any) -> np.ndarray:
    """Validate non-empty, finite (n,) scores."""
    s = np.asarray(scores)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D with shape (n,), got shape {s.shape}")
    if s.size == 0:
        raise ValueError("the store is empty: need at least one key to look up")
    if s.dtype.kind in "fc" and not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite (no NaN or inf); did the similarity overflow?")
    return _as_float_array(s, "scores")


# ---------------------------------------------------------------- soft lookup


def softmax(scores: Any, temperature: float = 1.0) -> np.ndarray:
    """Numerically stable softmax of scores / temperature along the last axis (float64)."""
    t = _check_temperature(temperature)
    s = _as_float_array(scores, "scores")
    if s.ndim == 0 or s.shape[-1] == 0:
        raise ValueError(f"scores must have at least one entry on the last axis, got shape {s.shape}")
    return numerics.softmax(s, t)


def similarity(query: Any, keys: Any, kind: str) -> np.ndarray:
    """Score a (d,) query against (n, d) keys with one of SIMILARITIES; returns (n,)."""
    if kind not in SIMILARITIES:
        raise ValueError(f"unknown similarity {kind!r}; valid kinds are {', '.join(SIMILARITIES)}")
    return _similarity(*_check_query_keys(query, keys), kind)


def _similarity(q: np.ndarray, k: np.ndarray, kind: str) -> np.ndarray:
    """``similarity`` on a checked (d,) query and (n, d) keys."""
    _, d = k.shape
    if kind == "cosine":
        q, k = _unit(q), _unit(k)                # (d,), (n, d); zero rows stay zero
    # row-wise sum rather than BLAS: identical keys get bit-identical scores (exact ties)
    with np.errstate(over="ignore", invalid="ignore"):
        scores = (k * q).sum(axis=-1)            # (n, d) * (d,) -> (n,)
    if kind == "scaled_dot":
        scores = scores / math.sqrt(d)
    elif kind == "cosine":
        scores = np.clip(scores, -1.0, 1.0)
    return scores


@dataclass(frozen=True, eq=False)
class Scored:
    """A query scored against every key, with what the page needs to read the scores honestly."""

    scores: np.ndarray  # (n,) the chosen similarity
    bound: float  # no score of this kind can pass ±bound for these vectors (Cauchy–Schwarz): a fixed axis
    best_cosine: float  # the best cosine similarity, whatever kind was chosen
    weak: bool  # best_cosine < WEAK_MATCH: nothing matches well, yet the softmax still blends


def score_keys(query: Any, keys: Any, kind: str) -> Scored:
    """Score a (d,) query against (n, d) keys with one of SIMILARITIES, and say how strong the best match is.

    1) score    s = similarity(query, keys, kind)                          (n,)
    2) bound    |s| <= |query|·max|key| (÷ √d when scaled), 1 for cosine    ()
    3) cosine   the best cosine, compared with WEAK_MATCH                   ()
    """
    if kind not in SIMILARITIES:
        raise ValueError(f"unknown similarity {kind!r}; valid kinds are {', '.join(SIMILARITIES)}")
    q, k = _check_query_keys(query, keys)
    scores = _similarity(q, k, kind)  # 1) (n,)
    if kind == "cosine":  # 2)
        bound = 1.0
    else:
        bound = float(np.linalg.norm(q) * np.linalg.norm(k, axis=-1).max())
        bound = bound / math.sqrt(k.shape[1]) if kind == "scaled_dot" else bound
        if not math.isfinite(bound):  # norms too large for float64: the scores' own extent
            bound = float(np.abs(scores).max())
    best = float(_similarity(q, k, "cosine").max())  # 3)
    return Scored(scores=read_only(scores), bound=bound, best_cosine=best, weak=best < WEAK_MATCH)


def _unit(x: np.ndarray) -> np.ndarray:
    """Scale vectors (last axis) to unit length without overflow; zero vectors stay zero."""
    peak = np.abs(x).max(axis=-1, keepdims=True)           # pre-scale so squares cannot overflow
    safe_peak = np.where(peak > 0, peak, 1.0)
    y = x / safe_peak
    norm = np.sqrt((y * y).sum(axis=-1, keepdims=True))
    return np.where(norm > 0, y / np.where(norm > 0, norm, 1.0), 0.0)


def soft_lookup_scores(scores: Any, values: Any,
                       temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Soft retrieval from precomputed (n,) scores: returns (weights @ values, weights)."""
    s = _check_scores(scores)
    v = _check_values(values, s.shape[0], f"scores shape {s.shape}")
    return _mix(s, v, _check_temperature(temperature))


def soft_lookup(query: Any, keys: Any, values: Any,
                temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Attention over a store: softmax(keys @ query / T) mixes values; returns (output, weights).

    1) score   s = keys @ query                       (n,)
    2) weigh   w = softmax(s / T)                     (n,)
    3) mix     output = w @ values                    () or (dv,)
    """
    q, k = _check_query_keys(query, keys)
    v = _check_values(values, k.shape[0], f"keys shape {k.shape}")
    t = _check_temperature(temperature)
    scores = _check_scores(_similarity(q, k, "dot"))      # 1) (n,)
    return _mix(scores, v, t)                             # 2) + 3)


def _mix(scores: np.ndarray, values: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Checked (n,) scores and (n,) or (n, dv) values -> (weights @ values, weights)."""
    weights = numerics.softmax(scores, temperature)          # (n,)
    output = np.asarray(weights @ values)                    # (n,) @ (n,) -> ();  (n,) @ (n, dv) -> (dv,)
    return output, weights


# ---------------------------------------------------------------- hard lookup


def hard_lookup(store: Mapping[str, V], query: str) -> V:
    """Dict lookup as shown on the page: store[query] for an exact key, else KeyError."""
    return store[query]


def store_dict(keys: Sequence[str], values: Any, value_columns: Sequence[str]) -> dict[str, Any]:
    """The store as the dict a hard lookup reads: key -> number (one column) or key -> {column: number}."""
    v = _as_float_array(values, "values")
    if v.shape != (len(keys), len(value_columns)):
        raise ValueError(f"values must have shape (n keys, n columns) = ({len(keys)}, {len(value_columns)}), "
                         f"got shape {v.shape}")
    if len(set(keys)) != len(keys):
        raise ValueError("keys must be unique (validate_store keeps the last of duplicates)")
    if len(value_columns) == 1:
        return {k: float(row[0]) for k, row in zip(keys, v)}
    return {k: {c: float(x) for c, x in zip(value_columns, row)} for k, row in zip(keys, v)}


def dict_transcript(store: Mapping[str, Any], query: str, max_chars: int = 80) -> tuple[bool, str]:
    """What Python shows for store[query]: (True, repr of the value) or (False, "KeyError: 'query'").

    The query is quoted as Python would (repr) and cut to ``max_chars`` characters.
    """
    try:
        value = hard_lookup(store, query)
    except KeyError:
        return False, f"KeyError: {short(query, max_chars)}"
    return True, repr(value)


# ---------------------------------------------------------------- reading the weights


def is_collapsed(weights: Any, tol: float = 1e-3) -> bool:
    """True when one weight is >= 1 - tol: the soft answer has become the nearest-key lookup."""
    if not is_real(tol) or not 0 <= tol < 1:
        raise ValueError(f"tol must be in [0, 1), got {tol!r}")
    w = _check_weights(weights)
    return bool(w.max() >= 1.0 - tol)


def keys_with_weight(scores: Any, temperature: float, share: float = 0.01) -> int:
    """How many keys get more than ``share`` of the weight in softmax(scores / T)."""
    if not is_real(share) or not 0 <= share < 1:
        raise ValueError(f"share must be in [0, 1), got {share!r}")
    weights = numerics.softmax(_check_scores(scores), _check_temperature(temperature))  # (n,)
    return int((weights > share).sum())


def entropy(weights: Any) -> float:
    """Shannon entropy of the weights in nats, with 0 * log 0 = 0."""
    return _entropy(_check_weights(weights))


def effective_keys(weights: Any) -> float:
    """exp(entropy): how many keys the answer really blends (1 = one key, n = uniform)."""
    return float(math.exp(_entropy(_check_weights(weights))))


def _entropy(w: np.ndarray) -> float:
    """``entropy`` of checked weights; never below 0 (rounding)."""
    return max(0.0, float(numerics.entropy(w)))


def format_mix(weights_or_profile: Any, labels: Sequence[str], top: int = 3) -> str:
    """Caption such as '70 % cats, 20 % music, 10 % science' (largest first, < 1 % omitted)."""
    w = _as_float_array(weights_or_profile, "weights")
    if w.ndim != 1:
        raise ValueError(f"weights must be 1-D, got shape {w.shape}")
    if len(labels) != w.size:
        raise ValueError(f"one label per weight needed: {w.size} weights, {len(labels)} labels")
    if np.any(w < 0):
        raise ValueError(f"weights must be >= 0, got minimum {w.min()}")
    if not is_int(top) or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")
    order = sorted(range(w.size), key=lambda i: (-w[i], i))  # largest first, ties keep label order
    parts = [f"{100 * w[i]:.0f} % {labels[i]}" for i in order[:top] if w[i] >= 0.01]
    return ", ".join(parts) if parts else "spread thin: no item reaches 1 %"

"""Tests for qkv_core.retrieval: dict lookup versus soft attention retrieval."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qkv_core.retrieval import (
    SIMILARITIES,
    WEAK_MATCH,
    score_keys,
    dict_transcript,
    effective_keys,
    entropy,
    format_mix,
    hard_lookup,
    is_collapsed,
    similarity,
    soft_lookup,
    soft_lookup_scores,
    softmax,
    store_dict,
)
from qkv_core.store import TOPICS, validate_store, video_preset


def _store(n: int = 5, d: int = 4, dv: int | None = None, seed: int = 0):
    """A random (query, keys, values) triple; values are (n,) when dv is None."""
    rng = np.random.default_rng(seed)
    shape = (n,) if dv is None else (n, dv)
    return rng.normal(size=d), rng.normal(size=(n, d)), rng.normal(size=shape)


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize("scores, temperature", [
    ([1.0, 2.0, 3.0], 1.0),                 # ordinary scores
    ([-5.0, 0.0, 5.0, 5.0], 0.3),           # sharpened, with a tie
    ([1e4, -1e4, 0.0], 1e-6),               # extreme gap at tiny T
    ([7.0], 2.0),                            # one key only
])
def test_softmax_weights_are_a_distribution(scores, temperature):
    w = softmax(scores, temperature)
    assert np.all(np.isfinite(w))
    assert np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("temperature", [0.1, 1.0, 3.7])
def test_softmax_matches_torch(temperature):
    scores = np.random.default_rng(1).normal(size=(3, 9)) * 4
    ref = torch.softmax(torch.tensor(scores) / temperature, dim=-1).numpy()
    np.testing.assert_allclose(softmax(scores, temperature), ref, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- soft_lookup


@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0, 10.0])
@pytest.mark.parametrize("dv", [None, 1, 3])
def test_soft_lookup_matches_torch_reference(temperature, dv):
    q, k, v = _store(n=7, d=6, dv=dv, seed=3)
    qt, kt, vt = map(torch.tensor, (q, k, v))
    w_ref = torch.softmax(kt @ qt / temperature, dim=0)
    out_ref = w_ref @ vt
    out, w = soft_lookup(q, k, v, temperature)
    np.testing.assert_allclose(w, w_ref.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(out, out_ref.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dv, out_shape", [
    (None, ()),     # one number per key -> a single number
    (1, (1,)),      # a one-column table -> a length-1 vector
    (4, (4,)),      # topic profiles -> a profile
])
def test_soft_lookup_output_shape(dv, out_shape):
    q, k, v = _store(dv=dv)
    out, w = soft_lookup(q, k, v)
    assert out.shape == out_shape
    assert w.shape == (k.shape[0],)


@pytest.mark.parametrize("dv", [None, 3])
def test_cold_limit_is_nearest_key_lookup(dv):
    q, k, v = _store(n=6, dv=dv, seed=5)
    best = int(np.argmax(k @ q))
    out, w = soft_lookup(q, k, v, temperature=1e-6)
    expected = np.zeros(6)
    expected[best] = 1.0
    np.testing.assert_array_equal(w, expected)
    np.testing.assert_allclose(out, v[best], rtol=0, atol=1e-12)


@pytest.mark.parametrize("dv", [None, 3])
def test_hot_limit_is_plain_mean(dv):
    q, k, v = _store(n=6, dv=dv, seed=6)
    out, w = soft_lookup(q, k, v, temperature=1e9)
    np.testing.assert_allclose(w, np.full(6, 1 / 6), rtol=1e-8)
    np.testing.assert_allclose(out, v.mean(axis=0), rtol=1e-7, atol=1e-9)


def test_exact_ties_split_evenly_at_tiny_temperature():
    q = np.array([0.3, -1.2, 0.7])
    best = np.array([2.0, -1.0, 1.0])
    keys = np.stack([best, -best, best, np.zeros(3)])   # rows 0 and 2 are identical best keys
    values = np.array([10.0, 99.0, 20.0, 50.0])
    out, w = soft_lookup(q, keys, values, temperature=1e-6)
    np.testing.assert_array_equal(w, [0.5, 0.0, 0.5, 0.0])
    assert out == pytest.approx(15.0)


def test_huge_scores_at_tiny_temperature_stay_finite():
    scores = np.array([1e4, 1e4 - 1.0, -1e4])
    out, w = soft_lookup_scores(scores, np.array([1.0, 2.0, 3.0]), temperature=1e-6)
    assert np.all(np.isfinite(w)) and np.isfinite(out)
    np.testing.assert_array_equal(w, [1.0, 0.0, 0.0])


def test_soft_lookup_is_soft_lookup_scores_on_dot_scores():
    q, k, v = _store(n=5, dv=2, seed=9)
    out_a, w_a = soft_lookup(q, k, v, 0.7)
    out_b, w_b = soft_lookup_scores(similarity(q, k, "dot"), v, 0.7)
    np.testing.assert_array_equal(w_a, w_b)
    np.testing.assert_array_equal(out_a, out_b)


def test_lower_temperature_concentrates_weight():
    q, k, v = _store(n=8, seed=11)
    spreads = [effective_keys(soft_lookup(q, k, v, t)[1]) for t in (10.0, 1.0, 0.1, 0.01)]
    assert spreads == sorted(spreads, reverse=True)
    assert spreads[0] > 7.5 and spreads[-1] < 1.1


_Q, _K, _V = _store(n=4, d=3)

ERROR_CASES = [
    # (function, args, message substring)
    (soft_lookup, (_Q, _K, _V, 0.0), "temperature must be finite and > 0"),           # T = 0
    (soft_lookup, (_Q, _K, _V, -1.0), "temperature must be finite and > 0"),          # negative T
    (soft_lookup, (_Q, _K, _V, math.nan), "temperature must be finite and > 0"),      # NaN T
    (soft_lookup, (_Q, _K, _V, math.inf), "temperature must be finite and > 0"),      # infinite T
    (soft_lookup, (_Q, _K, _V, "hot"), "temperature must be a number"),               # text T
    (soft_lookup, (np.ones(5), _K, _V), r"query shape \(5,\), keys shape \(4, 3\)"),  # width mismatch
    (soft_lookup, (_Q, _K, np.ones(6)), r"keys shape \(4, 3\), values shape \(6,\)"),  # too many values
    (soft_lookup, (_Q, _K, np.ones((3, 2))), r"values shape \(3, 2\)"),               # too few value rows
    (soft_lookup, (_Q, np.empty((0, 3)), np.empty(0)), "store is empty"),             # n = 0
    (soft_lookup, (np.ones((1, 3)), _K, _V), "query must be 1-D"),                    # batched query
    (soft_lookup, (_Q, _Q, _V), "keys must be 2-D"),                                  # keys as a vector
    (soft_lookup, (_Q, _K, np.ones((4, 2, 2))), "values must have shape"),            # 3-D values
    (soft_lookup, (np.array([1.0, np.nan, 0.0]), _K, _V), "query must be finite"),    # NaN query
    (soft_lookup, (_Q, np.where(np.eye(4, 3) > 0, np.inf, _K), _V), "keys must be finite"),  # inf key
    (soft_lookup, (_Q, _K, np.array([1.0, np.nan, 2.0, 3.0])), "values must be finite"),     # NaN value
    (soft_lookup, (_Q, _K, ["a", "b", "c", "d"]), "values must be numeric"),          # text values
    (soft_lookup, (np.full(3, 1e200), np.full((4, 3), 1e200), _V), "overflow"),       # scores overflow
    (soft_lookup_scores, ([], []), "store is empty"),                                  # no scores
    (soft_lookup_scores, ([[1.0, 2.0]], [1.0]), "scores must be 1-D"),                # 2-D scores
    (soft_lookup_scores, ([1.0, 2.0], [1.0]), r"scores shape \(2,\), values shape \(1,\)"),  # count mismatch
    (soft_lookup_scores, ([1.0, np.inf], [1.0, 2.0]), "scores must be finite"),        # inf score
    (softmax, ([],), "at least one entry"),                                            # empty softmax
    (similarity, (_Q, _K, "euclid"), "valid kinds are dot, scaled_dot, cosine"),      # unknown kind
    (similarity, (_Q, np.ones((4, 2)), "cosine"), r"query shape \(3,\), keys shape \(4, 2\)"),  # mismatch
]


@pytest.mark.parametrize("func, args, match", ERROR_CASES)
def test_bad_input_raises_specific_error(func, args, match):
    with pytest.raises(ValueError, match=match):
        func(*args)


# ---------------------------------------------------------------- similarity


@pytest.mark.parametrize("kind, expected", [
    ("dot", [12.0, 0.0, -6.0, 24.0]),                  # raw dot products
    ("scaled_dot", [6.0, 0.0, -3.0, 12.0]),            # divided by sqrt(d) = 2
    ("cosine", [1.0, 0.0, -1.0, 1.0]),                 # direction only; zero key -> 0
])
def test_similarity_kinds(kind, expected):
    q = np.array([3.0, 0.0, 0.0, 0.0])                 # d = 4
    keys = np.array([[4.0, 0.0, 0.0, 0.0],
                     [0.0, 0.0, 0.0, 0.0],             # zero vector
                     [-2.0, 0.0, 0.0, 0.0],
                     [8.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(similarity(q, keys, kind), expected, atol=1e-15)


def test_cosine_of_zero_query_is_zero_not_nan():
    sims = similarity(np.zeros(3), np.eye(3), "cosine")
    np.testing.assert_array_equal(sims, [0.0, 0.0, 0.0])


def test_cosine_ignores_length_and_survives_huge_vectors():
    q, k, _ = _store(n=5, d=4, seed=2)
    base = similarity(q, k, "cosine")
    np.testing.assert_allclose(similarity(q * 1e200, k * 1e-200, "cosine"), base, rtol=1e-12)
    manual = (k @ q) / (np.linalg.norm(k, axis=1) * np.linalg.norm(q))
    np.testing.assert_allclose(base, manual, rtol=1e-12)
    assert np.all(np.abs(base) <= 1.0)


def test_similarities_constant_lists_all_kinds():
    assert SIMILARITIES == ("dot", "scaled_dot", "cosine")


# ---------------------------------------------------------------- hard lookup


STORE = {"seven": 7.0, "twelve": 12.0, "kitten learns to play piano": 3.0}


@pytest.mark.parametrize("query, expected", [
    ("seven", 7.0),                                    # exact key
    ("kitten learns to play piano", 3.0),              # exact long key
])
def test_hard_lookup_exact_key(query, expected):
    assert hard_lookup(STORE, query) == expected


@pytest.mark.parametrize("query", [
    "Seven",                                           # case differs
    "seven ",                                          # trailing space
    "a dozen",                                         # same meaning, different words
    "kitten learns piano",                             # near-paraphrase
])
def test_hard_lookup_misses_raise_keyerror(query):
    with pytest.raises(KeyError):
        hard_lookup(STORE, query)


# ---------------------------------------------------------------- reading the weights


@pytest.mark.parametrize("weights, tol, expected", [
    ([1.0, 0.0, 0.0], 1e-3, True),                     # one-hot
    ([0.9995, 0.0005], 1e-3, True),                    # within tolerance
    ([0.99, 0.01], 1e-3, False),                       # visibly mixed
    ([0.99, 0.01], 0.02, True),                        # looser tolerance
    ([0.5, 0.5], 1e-3, False),                         # even split is not collapsed
    ([0.5, 0.5], 0.5, True),                           # boundary: max == 1 - tol counts
])
def test_is_collapsed(weights, tol, expected):
    assert is_collapsed(weights, tol) is expected


def test_is_collapsed_follows_temperature():
    q, k, v = _store(n=6, seed=4)
    assert is_collapsed(soft_lookup(q, k, v, 1e-4)[1])
    assert not is_collapsed(soft_lookup(q, k, v, 10.0)[1])


@pytest.mark.parametrize("weights, nats", [
    ([1.0, 0.0, 0.0], 0.0),                            # one-hot: 0 log 0 counts as 0
    ([0.5, 0.5, 0.0], math.log(2)),                    # two keys
    ([0.25] * 4, math.log(4)),                         # uniform over 4
])
def test_entropy_and_effective_keys(weights, nats):
    assert entropy(weights) == pytest.approx(nats, abs=1e-12)
    assert effective_keys(weights) == pytest.approx(math.exp(nats), abs=1e-12)


def test_effective_keys_limits():
    q, k, v = _store(n=9, seed=8)
    assert effective_keys(soft_lookup(q, k, v, 1e-6)[1]) == pytest.approx(1.0, abs=1e-9)
    assert effective_keys(soft_lookup(q, k, v, 1e9)[1]) == pytest.approx(9.0, rel=1e-6)


@pytest.mark.parametrize("func, args, match", [
    (entropy, ([0.5, 0.4],), "sum to 1"),              # not a distribution
    (entropy, ([1.5, -0.5],), ">= 0"),                 # negative weight
    (entropy, ([],), "non-empty"),                     # nothing to measure
    (effective_keys, ([np.nan, 1.0],), "finite"),      # NaN weight
    (is_collapsed, ([1.0], 1.0), "tol must be in"),    # tolerance that accepts anything
    (is_collapsed, ([1.0], -0.1), "tol must be in"),   # negative tolerance
])
def test_weight_readers_reject_bad_weights(func, args, match):
    with pytest.raises(ValueError, match=match):
        func(*args)


# ---------------------------------------------------------------- format_mix


@pytest.mark.parametrize("weights, labels, top, expected", [
    ([0.1, 0.7, 0.2], ["science", "cats", "music"], 3,
     "70 % cats, 20 % music, 10 % science"),           # sorted largest first
    ([0.6, 0.3, 0.095, 0.005], list("abcd"), 3,
     "60 % a, 30 % b, 10 % c"),                        # rounding; 0.5 % omitted
    ([0.4, 0.3, 0.2, 0.1], list("abcd"), 2, "40 % a, 30 % b"),  # top cuts the tail
    ([0.0, 1.0], ["x", "y"], 3, "100 % y"),            # one-hot
    ([0.5, 0.5], ["first", "second"], 3, "50 % first, 50 % second"),  # ties keep label order
    ([0.004] * 250, [f"k{i}" for i in range(250)], 3,
     "spread thin: no item reaches 1 %"),              # everything below 1 %
])
def test_format_mix(weights, labels, top, expected):
    assert format_mix(np.array(weights), labels, top) == expected


@pytest.mark.parametrize("args, match", [
    (([0.5, 0.5], ["a"]), "2 weights, 1 labels"),      # label count mismatch
    (([0.5, 0.5], ["a", "b"], 0), "top must be"),      # nothing to show
    (([1.5, -0.5], ["a", "b"]), ">= 0"),               # negative share
])
def test_format_mix_errors(args, match):
    with pytest.raises(ValueError, match=match):
        format_mix(*args)


# ---------------------------------------------------------------- store_dict / dict_transcript


def test_store_dict_one_column_maps_keys_to_numbers():
    assert store_dict(["one", "two"], [[1.0], [2.0]], ["value"]) == {"one": 1.0, "two": 2.0}


def test_store_dict_many_columns_maps_keys_to_profiles():
    d = store_dict(["a", "b"], np.array([[0.9, 0.1], [0.0, 1.0]]), ["cats", "music"])
    assert d == {"a": {"cats": 0.9, "music": 0.1}, "b": {"cats": 0.0, "music": 1.0}}
    assert all(type(x) is float for profile in d.values() for x in profile.values())  # plain floats


def test_store_dict_of_a_validated_preset_matches_the_preset_rows():
    df = video_preset()
    check = validate_store(df, "title", list(TOPICS))
    d = store_dict(check.keys, check.values, list(TOPICS))
    assert list(d) == df["title"].tolist()
    assert d[df["title"][0]] == {t: float(df[t][0]) for t in TOPICS}


@pytest.mark.parametrize("keys, values, columns, match", [
    (["a", "b"], [[1.0]], ["v"], r"shape \(n keys, n columns\) = \(2, 1\), got shape \(1, 1\)"),  # a row short
    (["a"], [[1.0, 2.0]], ["v"], r"= \(1, 1\), got shape \(1, 2\)"),                           # a column too many
    (["a", "a"], [[1.0], [2.0]], ["v"], r"keys must be unique"),                                # duplicates
    (["a"], [["x"]], ["v"], r"values must be numeric"),                                           # text value
])
def test_store_dict_rejects_inconsistent_input(keys, values, columns, match):
    with pytest.raises(ValueError, match=match):
        store_dict(keys, values, columns)


@pytest.mark.parametrize("query, found, text", [
    ("seven", True, "7.0"),                                     # exact key: the value's repr
    ("Seven", False, "KeyError: 'Seven'"),                      # case differs: what Python prints
    ("seven ", False, "KeyError: 'seven '"),                    # a trailing space is part of the key
    ("", False, "KeyError: ''"),                                # empty query
    ("it's", False, 'KeyError: "it\'s"'),                       # quoted the way repr quotes
    ("<script>alert(1)</script>", False, "KeyError: '<script>alert(1)</script>'"),  # text, unchanged
])
def test_dict_transcript_reads_like_python(query, found, text):
    assert dict_transcript(STORE, query) == (found, text)


def test_dict_transcript_matches_python_keyerror_text():
    query = "a dozen"
    with pytest.raises(KeyError) as err:
        STORE[query]
    assert dict_transcript(STORE, query)[1] == f"KeyError: {err.value}"


def test_dict_transcript_cuts_a_long_query():
    found, text = dict_transcript(STORE, "x" * 10_000, max_chars=80)
    assert not found
    assert len(text) == len("KeyError: ") + 80 and text.endswith("…")


def test_dict_transcript_shows_a_profile_value():
    store = {"a": {"cats": 0.9, "music": 0.1}}
    assert dict_transcript(store, "a") == (True, "{'cats': 0.9, 'music': 0.1}")


# ---------------------------------------------------------------- how strong the best match is


@pytest.mark.parametrize("kind", SIMILARITIES)
def test_score_keys_gives_the_similarity_and_a_bound_no_score_passes(kind):
    query, keys, _ = _store(n=50, d=8, seed=3)
    got = score_keys(query, keys, kind)
    np.testing.assert_array_equal(got.scores, similarity(query, keys, kind))
    assert np.abs(got.scores).max() <= got.bound
    # The bound is reached: by a key pointing along the query (cosine 1, dot |q|·|k|).
    along = np.vstack([keys, query * np.linalg.norm(keys, axis=1).max() / np.linalg.norm(query)])
    assert score_keys(query, along, kind).scores.max() == pytest.approx(score_keys(query, along, kind).bound)


def test_score_keys_bound_for_unit_vectors_is_one_or_one_over_root_d():
    rng = np.random.default_rng(0)
    keys = rng.normal(size=(10, 16))
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    bounds = {kind: score_keys(keys[0], keys, kind).bound for kind in SIMILARITIES}
    assert bounds == pytest.approx({"cosine": 1.0, "dot": 1.0, "scaled_dot": 0.25})


@pytest.mark.parametrize("kind", SIMILARITIES)
def test_a_weak_best_match_is_flagged_by_its_cosine_whatever_the_similarity(kind):
    e = np.eye(4)
    near = score_keys(e[0], np.vstack([e[0] + 0.1 * e[1], e[2]]), kind)   # cosine 0.995 with the first key
    far = score_keys(e[0], np.vstack([e[1], 0.2 * e[0] + e[2]]), kind)    # best cosine 0.196
    assert not near.weak and near.best_cosine == pytest.approx(0.995, abs=1e-3)
    assert far.weak and far.best_cosine == pytest.approx(0.2 / math.sqrt(1.04)) and far.best_cosine < WEAK_MATCH


def test_score_keys_refuses_an_unknown_similarity():
    with pytest.raises(ValueError, match="unknown similarity"):
        score_keys(np.ones(3), np.ones((2, 3)), "manhattan")


# ---------------------------------------------------------------- how many keys share the weight


@pytest.mark.parametrize("scores, temperature, expected", [
    ([0.9, 0.8, 0.1], 0.01, 1),  # a gap of 0.1 at T = 0.01 is e^10: the runner-up gets 0.005 %
    ([0.9, 0.88, 0.1], 0.01, 2),  # a gap of 0.02 is e^2: the runner-up keeps 12 %
    ([0.9, 0.8, 0.1], 100.0, 3),  # every key near 1/3
    (np.linspace(0, 1, 150), 100.0, 0),  # 150 keys near 1/150 each: none above 1 %
])
def test_keys_with_weight_counts_keys_above_the_share(scores, temperature, expected):
    from qkv_core.retrieval import keys_with_weight

    assert keys_with_weight(scores, temperature) == expected


def test_keys_with_weight_refuses_a_bad_share_or_temperature():
    from qkv_core.retrieval import keys_with_weight

    with pytest.raises(ValueError, match="share"):
        keys_with_weight([1.0, 2.0], 1.0, share=1.5)
    with pytest.raises(ValueError, match="temperature"):
        keys_with_weight([1.0, 2.0], 0.0)

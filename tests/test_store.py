"""Tests for qkv_core.store: the presets, a user-edited store made usable, and a store carried in a link."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from qkv_core import store
from qkv_core.retrieval import soft_lookup_scores
from qkv_core.store import (
    LONG_KEY_CHARS,
    PRESETS,
    TOPICS,
    StoreCheck,
    numbers_preset,
    validate_store,
    video_preset,
)


# ---------------------------------------------------------------- presets


def test_video_preset_shape_and_profiles():
    df = video_preset()
    assert list(df.columns) == ["title", *TOPICS]
    assert len(df) >= 14
    assert df["title"].is_unique
    assert all(isinstance(t, str) and t.strip() == t and t for t in df["title"])
    profiles = df[list(TOPICS)].to_numpy(dtype=float)
    assert np.all(profiles >= 0)
    np.testing.assert_allclose(profiles.sum(axis=1), 1.0, atol=1e-12)
    assert set(profiles.argmax(axis=1)) == set(range(len(TOPICS)))   # every topic leads somewhere
    assert np.sum(profiles.max(axis=1) < 1.0) >= len(df) // 2         # many are genuine blends


def test_video_preset_has_a_clear_funny_cat_video():
    df = video_preset()
    lowered = df["title"].str.lower()
    hits = df[lowered.str.contains("funny") & lowered.str.contains("kitten")]
    assert len(hits) == 1 and hits["cats"].iloc[0] >= 0.8


def test_numbers_preset():
    df = numbers_preset()
    assert list(df.columns) == ["key", "value"]
    assert len(df) >= 12 and df["key"].is_unique
    lookup = dict(zip(df["key"], df["value"]))
    assert lookup["seven"] == 7.0 and lookup["twelve"] == 12.0


@pytest.mark.parametrize("name, key_column, value_columns", [
    ("videos", "title", list(TOPICS)),                 # topic profiles as values
    ("numbers", "key", ["value"]),                     # one number per key
])
def test_presets_pass_validation_cleanly(name, key_column, value_columns):
    df = PRESETS[name]()
    check = validate_store(df, key_column, value_columns)
    assert check.problems == [] and check.dropped_rows == 0
    assert check.keys == list(df[key_column])
    assert check.values.shape == (len(df), len(value_columns))


def test_presets_return_fresh_copies():
    df = video_preset()
    df.loc[0, "title"] = "edited"
    assert video_preset().loc[0, "title"] != "edited"


# ---------------------------------------------------------------- validate_store


def _check(rows: list[tuple], value_columns=("value",)) -> StoreCheck:
    """validate_store on a small (key, values...) table."""
    df = pd.DataFrame(rows, columns=["key", *value_columns], dtype=object)
    return validate_store(df, "key", list(value_columns))


@pytest.mark.parametrize("rows, keys, values, dropped, message", [
    ([("  seven ", 7.0)], ["seven"], [7.0], 0, None),                      # key stripped
    ([("a", " 3.5 "), ("b", "1e3")], ["a", "b"], [3.5, 1000.0], 0, None),  # numeric text parsed
    ([("", 1.0), ("ok", 2.0)], ["ok"], [2.0], 1, "row 1: key is blank"),  # empty key
    ([("   ", 1.0), ("ok", 2.0)], ["ok"], [2.0], 1, "row 1: key is blank"),  # whitespace key
    ([(None, 1.0), ("ok", 2.0)], ["ok"], [2.0], 1, "row 1: key is blank"),  # None key
    ([(np.nan, 1.0), ("ok", 2.0)], ["ok"], [2.0], 1, "row 1: key is blank"),  # NaN key
    ([("a", 1.0), ("b", 2.0), ("a", 3.0)], ["a", "b"], [3.0, 2.0], 1,
     "key 'a' appears in rows 1, 3; keeping the last (row 3)"),           # duplicate: last wins
    ([("a", 1.0), (" a", 3.0)], ["a"], [3.0], 1, "key 'a' appears"),      # duplicate after stripping
    ([("a", 1.0), ("a", "oops")], ["a"], [1.0], 1,
     "row 2 ('a'): 'value' is not a number ('oops')"),                    # invalid later copy ignored
    ([("x", "abc"), ("y", 1.0)], ["y"], [1.0], 1,
     "row 1 ('x'): 'value' is not a number ('abc')"),                     # non-numeric text
    ([("x", None), ("y", 1.0)], ["y"], [1.0], 1, "'value' is empty"),     # missing value
    ([("x", np.nan), ("y", 1.0)], ["y"], [1.0], 1, "'value' is empty"),   # NaN value
    ([("x", "nan"), ("y", 1.0)], ["y"], [1.0], 1, "is not a number ('nan')"),  # NaN typed as text
    ([("x", np.inf), ("y", 1.0)], ["y"], [1.0], 1, "'value' is not finite"),  # inf value
    ([("x", "-inf"), ("y", 1.0)], ["y"], [1.0], 1, "is not finite"),      # inf typed as text
    ([("x", "1e999"), ("y", 1.0)], ["y"], [1.0], 1, "is not finite"),     # overflows float
    ([("x", 10**400), ("y", 1.0)], ["y"], [1.0], 1, "is not finite"),     # huge integer
    ([("x", True), ("y", 1.0)], ["y"], [1.0], 1, "is not a number (True)"),  # checkbox value
    ([("x", [1.0]), ("y", 1.0)], ["y"], [1.0], 1, "is not a number"),     # list in a cell
    ([("x", 1 + 2j), ("y", 1.0)], ["y"], [1.0], 1, "is not a number"),    # complex number
    ([("🐱 cats", 1.0)], ["🐱 cats"], [1.0], 0, None),                     # emoji key kept
    ([("<script>alert(1)</script>", 2.0)], ["<script>alert(1)</script>"], [2.0], 0, None),  # HTML verbatim
    ([(7, 1.0)], ["7"], [1.0], 0, None),                                  # numeric key becomes text
    ([("k" * 300, 1.0)], ["k" * 300], [1.0], 0, "key is 300 characters long (kept)"),  # long key
    ([("", "x"), (None, None)], [], [], 2, "the store is empty"),          # nothing usable
])
def test_validate_store_cases(rows, keys, values, dropped, message):
    check = _check(rows)
    assert check.keys == keys
    np.testing.assert_array_equal(check.values, np.array(values, dtype=float).reshape(-1, 1))
    assert check.dropped_rows == dropped
    if message is None:
        assert check.problems == []
    else:
        assert any(message in p for p in check.problems), check.problems


def test_validate_store_multi_column_names_the_bad_column():
    check = _check([("a", 0.5, 0.5), ("b", 0.2, "lots")], value_columns=("cats", "music"))
    assert check.keys == ["a"]
    assert check.values.shape == (1, 2)
    assert check.problems == ["row 2 ('b'): 'music' is not a number ('lots'); row dropped"]


@pytest.mark.parametrize("df, message", [
    (pd.DataFrame({"key": [], "value": []}), "the store is empty: add at least one row"),  # no rows
    (pd.DataFrame({"key": ["a"]}), "column 'value' is missing"),             # value column deleted
    (pd.DataFrame({"value": [1.0]}), "column 'key' is missing"),             # key column deleted
])
def test_validate_store_empty_or_broken_tables(df, message):
    check = validate_store(df, "key", ["value"])
    assert check.keys == [] and check.values.shape == (0, 1)
    assert message in check.problems
    assert any("the store is empty" in p for p in check.problems)


def test_validate_store_duplicate_column_uses_first():
    df = pd.DataFrame([["a", 1.0, 9.0]], columns=["key", "value", "value"])
    check = validate_store(df, "key", ["value"])
    assert check.values.tolist() == [[1.0]]
    assert "column 'value' appears 2 times; using the first" in check.problems


def test_validate_store_caps_the_message_list_but_keeps_empty_notice():
    df = pd.DataFrame({"key": [""] * 100, "value": [1.0] * 100})
    check = validate_store(df, "key", ["value"])
    assert check.dropped_rows == 100
    assert len(check.problems) == 25
    assert check.problems[0].startswith("the store is empty")
    assert re.fullmatch(r"… and \d+ more problems", check.problems[-1])


def test_validate_store_matches_dict_from_pairs():
    rows = [("b", 2.0), ("a", 1.0), ("b", 5.0), ("c", 3.0), ("a", 4.0)]
    check = _check(rows)
    expected = dict(rows)
    assert check.keys == list(expected)
    assert check.values[:, 0].tolist() == list(expected.values())


def test_validate_store_rejects_programming_errors():
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        validate_store([("a", 1.0)], "key", ["value"])
    with pytest.raises(ValueError, match="non-empty list of column names"):
        validate_store(pd.DataFrame({"key": ["a"]}), "key", [])


class _Weird:
    """An object whose str() raises."""

    def __str__(self) -> str:
        raise RuntimeError("no")


HOSTILE_CELLS = [
    None, np.nan, pd.NA, pd.NaT, np.inf, -np.inf, "", "   ", "\n\t", "nan", "inf", "1e400",
    "3.25", " 42 ", "-0", 0, -1.5, 10**30, 10**400, 10**5000, True, np.float32(2.5), np.int64(3),
    "🐱🎹", "<b>bold</b>", "<script>alert('x')</script>", "x" * 5000, "1" * 500,
    "a\x00b", "‮reversed", [1, 2], {"a": 1}, (1,), b"bytes", 1 + 1j, _Weird(), object(),
    pd.Timestamp("2024-01-01"), "a", "a ", "A",
]


def test_validate_store_fuzz_never_raises_and_keeps_invariants():
    rng = np.random.default_rng(1234)
    for _ in range(300):
        n = int(rng.integers(0, 12))
        cells = [[HOSTILE_CELLS[int(rng.integers(len(HOSTILE_CELLS)))] for _ in range(3)]
                 for _ in range(n)]
        df = pd.DataFrame(cells, columns=["key", "v1", "v2"], dtype=object)
        check = validate_store(df, "key", ["v1", "v2"])
        assert check.values.shape == (len(check.keys), 2)
        assert check.values.dtype == np.float64 and np.all(np.isfinite(check.values))
        assert len(set(check.keys)) == len(check.keys)
        assert all(isinstance(k, str) and k and k == k.strip() for k in check.keys)
        assert check.dropped_rows + len(check.keys) == n
        assert all(isinstance(p, str) and len(p) < 400 for p in check.problems)
        if not check.keys:
            assert any("the store is empty" in p for p in check.problems)
        else:
            soft_lookup_scores(np.zeros(len(check.keys)), check.values)   # store usable as-is


@pytest.mark.parametrize("dtype", [
    "object",               # editor output with mixed cells
    "string",               # pandas string dtype (NA for missing)
])
def test_validate_store_handles_string_dtypes(dtype):
    df = pd.DataFrame({"key": ["a", None, "b"], "value": ["1", "2", None]}, dtype=dtype)
    check = validate_store(df, "key", ["value"])
    assert check.keys == ["a"] and check.values.tolist() == [[1.0]]
    assert check.dropped_rows == 2


def test_long_key_limit_constant():
    check = _check([("k" * LONG_KEY_CHARS, 1.0), ("j" * (LONG_KEY_CHARS + 1), 2.0)])
    assert len(check.problems) == 1 and "201 characters" in check.problems[0]


# ---------------------------------------------------------------- a store in a link


def test_store_code_round_trips_exactly_and_is_url_safe():
    rng = np.random.default_rng(7)
    keys = ["funny cats", "🙂 emoji key", "ключ", "a \"quoted\" key", "x" * 300]
    values = rng.normal(size=(5, 5)) * 10.0 ** rng.integers(-300, 300, size=(5, 5))
    code = store.encode_store(keys, values, video_preset())
    assert re.fullmatch(r"1\.[A-Za-z0-9_-]+", code)
    back = store.decode_store(code, video_preset())
    assert back["title"].tolist() == keys
    assert np.array_equal(back[list(TOPICS)].to_numpy(), values)  # bit for bit, not approximately


def test_store_code_is_short_for_a_lightly_edited_preset():
    base = video_preset()
    keys, values = base["title"].tolist(), base[list(TOPICS)].to_numpy()
    assert len(store.encode_store(keys, values, base)) < 50  # the preset itself: almost nothing to say
    edited = values.copy()
    edited[3] = [0.2, 0.2, 0.2, 0.2, 0.2]
    assert len(store.encode_store([*keys, "my new video"], np.vstack([edited, [0, 0, 1, 0, 0]]), base)) < 120
    full = store.encode_store(keys, values, pd.DataFrame(columns=base.columns))  # no shared dictionary
    assert len(full) > 400


def test_store_code_refuses_non_finite_values():
    with pytest.raises(ValueError, match="finite"):
        store.encode_store(["a"], [[float("nan")]], numbers_preset())


@pytest.mark.parametrize("cut", [1, 2, 5, 10])
def test_a_cut_store_code_is_damaged_not_misread(cut):
    base = numbers_preset()
    code = store.encode_store(["one", "two", "three"], [[1.0], [2.0], [3.0]], base)
    with pytest.raises(ValueError, match="damaged"):
        store.decode_store(code[:-cut], base)


def test_a_store_code_names_its_preset():
    code = store.encode_store(["one"], [[1.0]], numbers_preset())
    with pytest.raises(ValueError, match="another preset"):
        store.decode_store(code, video_preset())


def test_a_store_code_over_the_row_limit_is_refused():
    base = numbers_preset()
    n = store.MAX_STORE_ROWS + 1
    code = store.encode_store([f"k{i}" for i in range(n)], np.ones((n, 1)), base)
    with pytest.raises(ValueError, match=f"more than {store.MAX_STORE_ROWS} rows"):
        store.decode_store(code, base)

"""Series sources: synthetic, the shipped real series, and hostile CSV uploads."""

import numpy as np
import pandas as pd
import pytest

from qkv_core.series import (
    REAL_SERIES_NAME,
    SERIES_KINDS,
    ParsedSeries,
    SeriesError,
    load_real_series,
    numeric_column,
    read_uploaded_csv,
    series_from_csv,
    synthetic_series,
)
from qkv_core.smoothing import content_aware_smooth, smooth

# ----------------------------------------------------------------- synthetic


@pytest.mark.parametrize("kind", SERIES_KINDS)
def test_synthetic_is_deterministic_per_seed(kind: str) -> None:
    a = synthetic_series(kind, n=250, noise=0.3, seed=7)
    assert a.shape == (250,) and a.dtype == np.float64 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, synthetic_series(kind, n=250, noise=0.3, seed=7))
    assert not np.array_equal(a, synthetic_series(kind, n=250, noise=0.3, seed=8))


@pytest.mark.parametrize("kind", SERIES_KINDS)
def test_noise_zero_is_the_clean_signal_of_the_same_seed(kind: str) -> None:
    clean = synthetic_series(kind, n=300, noise=0.0, seed=3)
    noisy = synthetic_series(kind, n=300, noise=0.5, seed=3)
    residual = noisy - clean
    assert 0.4 < residual.std() < 0.6  # exactly the added noise, nothing else moved


def test_kinds_look_like_their_names() -> None:
    sine = synthetic_series("sine", n=400, noise=0.0)
    assert np.sum(np.diff(np.sign(sine[1:])) != 0) in (3, 4)  # two periods cross zero ~4 times
    steps = synthetic_series("steps", n=300, noise=0.0)
    jumps = np.abs(np.diff(steps))
    assert np.count_nonzero(jumps) == 4 and jumps.max() >= 1.0  # 5 flat levels, sharp edges
    walk = synthetic_series("random_walk", n=300, noise=0.0)
    assert np.count_nonzero(np.diff(walk)) == 299  # every step moves


def test_steps_is_where_content_aware_smoothing_wins() -> None:
    clean = synthetic_series("steps", n=300, noise=0.0, seed=0)
    noisy = synthetic_series("steps", n=300, noise=0.2, seed=0)
    edges = np.flatnonzero(np.diff(clean)) + 1
    near = np.concatenate([np.arange(e - 5, e + 5) for e in edges])
    gauss = np.abs(smooth(noisy, 4.0) - clean)[near].max()
    aware = np.abs(content_aware_smooth(noisy, 4.0, 0.4) - clean)[near].max()
    assert aware < 0.5 * gauss


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(kind="square"), ["sine", "steps", "random_walk"]),  # unknown kind lists valid ones
        (dict(kind="sine", n=1), ["n must be"]),  # one point is not a series
        (dict(kind="sine", n=10.0), ["n must be"]),  # float length
        (dict(kind="sine", noise=-0.1), ["noise"]),  # negative noise
        (dict(kind="sine", noise=float("nan")), ["noise"]),  # NaN noise
        (dict(kind="sine", seed=-1), ["seed"]),  # negative seed
    ],
)
def test_synthetic_errors(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        synthetic_series(**kwargs)
    for word in words:
        assert word in str(info.value)


# ---------------------------------------------------------------------- real


def test_real_series_loads() -> None:
    df = load_real_series()
    assert list(df.columns) == ["month", "co2_ppm"]
    assert len(df) > 100
    assert df["co2_ppm"].between(300, 420).all()
    assert df["month"].iloc[0] == "1958-03" and df["month"].iloc[-1] == "2001-12"
    months = pd.PeriodIndex(df["month"], freq="M")
    assert (np.diff(months.asi8) == 1).all()  # one row per month, none missing
    assert df["co2_ppm"].iloc[-12:].mean() > df["co2_ppm"].iloc[:12].mean() + 40  # the Keeling rise
    assert "CO₂" in REAL_SERIES_NAME


def test_real_series_does_not_depend_on_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert len(load_real_series()) > 100


# -------------------------------------------------------------------- upload

HOSTILE = [
    (b"", ["empty"]),  # zero bytes
    (b"  \n\n\t\n", ["empty"]),  # only whitespace
    (b"\x89PNG\r\n\x1a\n" + bytes(64), ["PNG", "not a CSV"]),  # an image
    (b"PK\x03\x04" + bytes(64), ["zip", "CSV"]),  # an .xlsx workbook
    (b"%PDF-1.7\n", ["PDF"]),  # a PDF
    (b"a,b\n1,\x002\n", ["binary", "not a CSV"]),  # NUL bytes
    (bytes(range(1, 32)) * 20, ["binary"]),  # control characters, no NUL
    (b"<!DOCTYPE html><html><body>1,2</body></html>", ["web page", "HTML"]),  # a saved web page
    (b"  <html>\n<p>3</p></html>", ["HTML"]),  # HTML without doctype
    (b"name\nalice\nbob\n", ["No numeric column", "'name'"]),  # a one-column text CSV
    (b"city,country\nParis,France\nLima,Peru\n", ["No numeric column", "'city'", "'country'"]),  # text only
    (b"x\n1\n", ["only 1 data row", "at least 2"]),  # one value
    (b"x,y\n", ["no data", "at least 2"]),  # header only
    (b"x\n1\ninf\n3\n", ["infinite", "row 2"]),  # inf refused
    (b"x\n1\n1e999\n3\n", ["infinite"]),  # overflows to inf
    (b"a,b\n1,2\n3,4,5\n", ["could not be read", "line 3"]),  # ragged row
    (b'a,b\n"1,2\n3,4\n', ["could not be read"]),  # unclosed quote
    (b"x\n1\n2\n# only comments\n", None),  # comment lines are fine (a happy case kept here as a guard)
    (b"# just a comment\n", ["no data lines"]),  # nothing but comments
    (b"x\n" + b"1\n" * 20_001, ["more than 20,000 rows"]),  # too many rows
    (b"x\n" + b"1.5\n" * 1_600_000, ["is 6.4 MB", "the limit is 5 MB"]),  # too big
    (b",".join(b"c%d" % i for i in range(1500)) + b"\n" + b"1," * 1499 + b"1\n", ["1500 columns", "limit"]),  # too wide
]


@pytest.mark.parametrize(("data", "words"), HOSTILE)
def test_hostile_uploads_give_clear_errors(data: bytes, words: list[str] | None) -> None:
    if words is None:
        assert isinstance(series_from_csv(data), ParsedSeries)
        return
    with pytest.raises(SeriesError) as info:
        series_from_csv(data, "upload.csv")
    message = str(info.value)
    for word in words:
        assert word in message, message


def test_error_names_the_file() -> None:
    with pytest.raises(SeriesError, match="prices.csv is empty"):
        read_uploaded_csv(b"", "prices.csv")


def test_series_error_is_a_value_error() -> None:
    assert issubclass(SeriesError, ValueError)


def test_non_bytes_input_is_a_series_error() -> None:
    with pytest.raises(SeriesError, match="bytes"):
        read_uploaded_csv("x\n1\n2\n")  # type: ignore[arg-type]


def test_random_bytes_never_raise_anything_else() -> None:
    rng = np.random.default_rng(0)
    alphabet = np.frombuffer(b"0123456789.,;\t\n\r\"' -eE+abcinfNA|#\x00\xff", dtype=np.uint8)
    for k in range(400):
        size = int(rng.integers(0, 400))
        if k % 3 == 0:
            data = rng.integers(0, 256, size).astype(np.uint8).tobytes()  # any bytes
        elif k % 3 == 1:
            data = rng.choice(alphabet, size).tobytes()  # CSV-ish punctuation soup
        else:
            data = rng.integers(32, 127, size).astype(np.uint8).tobytes()  # printable ASCII
        try:
            parsed = series_from_csv(data)
        except SeriesError as exc:
            assert str(exc)  # every refusal says something
        else:
            assert parsed.values.size >= 2 and np.isfinite(parsed.values).all()


# ------------------------------------------------------------- happy paths

HAPPY = [
    (b"t,value\n1,2.5\n2,3.5\n3,4.5\n", "value", [2.5, 3.5, 4.5]),  # plain comma CSV
    (b"a;b\n1,5;2\n2,5;3\n", "a", [1.5, 2.5]),  # semicolons with decimal commas
    (b"a\tb\n1\t2\n3\t4\n", "b", [2.0, 4.0]),  # tab separated
    (b'x,y\n"1,234.5",1\n"2,000",2\n', "x", [1234.5, 2000.0]),  # thousands separators in quotes
    (b"x;y\n1.234,5;1\n2.000,0;2\n", "x", [1234.5, 2000.0]),  # European thousands and decimals
    (b"1\n2\n3\n", "column 1", [1.0, 2.0, 3.0]),  # no header row
    ("\ufeffx\n1\n2\n".encode(), "x", [1.0, 2.0]),  # UTF-8 byte-order mark
    ("x,y\n1,2\n3,4\n".encode("utf-16"), "y", [2.0, 4.0]),  # UTF-16 from Excel
    ("temp \xb0C,n\n1,2\n3,4\n".encode("latin-1"), "temp °C", [1.0, 3.0]),  # Latin-1 header
    (b"x\r1\r2\r", "x", [1.0, 2.0]),  # old Mac line endings
    (b"# NOAA-style preamble\n# more\nyear,co2\n1958,315.7\n1959,316.0\n", "co2", [315.7, 316.0]),  # comments
    (b"a,a,\n1,2,3\n4,5,6\n", "a (2)", [2.0, 5.0]),  # duplicate and blank header names
]


@pytest.mark.parametrize(("data", "column", "expected"), HAPPY)
def test_happy_uploads(data: bytes, column: str, expected: list[float]) -> None:
    parsed = series_from_csv(data, "ok.csv", column=column)
    assert parsed.column == column
    np.testing.assert_allclose(parsed.values, expected)
    assert column in parsed.columns


def test_blank_and_text_cells_are_dropped_with_a_note() -> None:
    data = b"day,sales,city\n1,10,Paris\n2,,Lima\n3,abc,Rome\n4,12.5,Oslo\n5,NA,Bern\n6,14,Kyiv\n"
    parsed = series_from_csv(data, column="sales")
    np.testing.assert_allclose(parsed.values, [10, 12.5, 14])
    assert parsed.dropped == 3
    assert any("Dropped 3 of 6 rows" in note and "'sales'" in note for note in parsed.notes)
    assert parsed.columns == ("day", "sales")  # 'city' is text, not offered


def test_default_column_is_the_first_numeric_one_and_says_so() -> None:
    parsed = series_from_csv(b"label,a,b\nx,1,5\ny,2,6\n")
    assert parsed.column == "a"
    assert parsed.dropped == 0
    assert any("first numeric column" in note for note in parsed.notes)


def test_values_are_read_only() -> None:
    parsed = series_from_csv(b"x\n1\n2\n")
    with pytest.raises(ValueError):
        parsed.values[0] = 5.0


def test_unknown_column_lists_the_numeric_ones() -> None:
    with pytest.raises(SeriesError, match=r"no numeric column 'z'.*'a', 'b'"):
        series_from_csv(b"a,b\n1,2\n3,4\n", column="z")


def test_column_with_one_usable_value_is_refused() -> None:
    with pytest.raises(SeriesError, match="1 usable value.*at least 2"):
        series_from_csv(b"a,b\n1,2\n3,\n4,\n", column="b")


def test_read_uploaded_csv_then_numeric_column() -> None:
    df = read_uploaded_csv(b"when,level,note\n2020-01,1.5,ok\n2020-02,,late\n2020-03,2.5,ok\n")
    assert list(df.columns) == ["level"]  # dates and notes are not numbers
    assert df["level"].dtype == np.float64
    np.testing.assert_allclose(numeric_column(df, "level"), [1.5, 2.5])


def test_limits_are_parameters() -> None:
    with pytest.raises(SeriesError, match="more than 3 rows"):
        read_uploaded_csv(b"x\n1\n2\n3\n4\n", max_rows=3)
    with pytest.raises(SeriesError, match="is 10 bytes; the limit is 9 bytes"):
        read_uploaded_csv(b"x\n1\n2\n3\n4\n", max_bytes=9)


def test_real_series_round_trips_through_the_upload_path() -> None:
    csv = load_real_series().to_csv(index=False).encode()
    parsed = series_from_csv(csv, "co2.csv")
    assert parsed.column == "co2_ppm" and parsed.values.size == len(load_real_series())

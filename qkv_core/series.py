"""Series to smooth: synthetic ones, a real one shipped with the app, and user CSV uploads.

Letters: T series length.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from qkv_core.checks import is_int, is_real

__all__ = [
    "SERIES_KINDS",
    "REAL_SERIES_NAME",
    "REAL_SERIES_PATH",
    "MAX_COLUMNS",
    "MAX_ABS_VALUE",
    "SeriesError",
    "ParsedSeries",
    "synthetic_series",
    "load_real_series",
    "read_uploaded_csv",
    "numeric_column",
    "series_from_csv",
]

SERIES_KINDS: tuple[str, ...] = ("sine", "steps", "random_walk")

REAL_SERIES_NAME = "Mauna Loa CO₂, monthly mean (ppm), 1958–2001"
REAL_SERIES_PATH = Path(__file__).resolve().parent.parent / "data" / "co2_mauna_loa_monthly.csv"

MAX_COLUMNS = 1000
MAX_ABS_VALUE = 1e100  # beyond this, squares and sums in the smoothing arithmetic can overflow to inf / NaN

# Cell texts read as "no value" (compared after stripping, case-insensitively).
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "?", "#n/a"})

# Leading bytes of common non-CSV files people upload by mistake.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one; save it as CSV instead)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file (save it as CSV instead)"),
    (b"\x1f\x8b", "a gzip archive"),
)

_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,234,567.8
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")  # 1.234.567,8
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")  # 3,14


class SeriesError(ValueError):
    """A series could not be built; the message is meant for the person who uploaded it."""


@dataclass(frozen=True, eq=False)
class ParsedSeries:
    """One numeric column taken from an uploaded CSV, with what was done to it."""

    values: np.ndarray  # (T,) float64, finite, read-only
    column: str  # the column the values came from
    dropped: int  # blank or non-numeric cells left out
    notes: tuple[str, ...]  # sentences for the user about choices made
    columns: tuple[str, ...]  # every usable numeric column, for a column picker


# ----------------------------------------------------------------- synthetic


def synthetic_series(kind: str, n: int = 300, noise: float = 0.3, seed: int = 0) -> np.ndarray:
    """A noisy synthetic series of length n, the same for the same (kind, n, noise, seed).

    The clean signal is drawn before the noise, so noise=0 gives the clean
    version of the same series.
    """
    if kind not in SERIES_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SERIES_KINDS)}; got {kind!r}")
    if not is_int(n) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not is_real(noise) or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    n = int(n)
    rng = np.random.default_rng(int(seed))
    t = np.arange(n)
    if kind == "sine":
        clean = np.sin(2 * np.pi * 2.0 * t / n)  # two full periods
    elif kind == "steps":
        levels = rng.permutation(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))  # neighbours differ by >= 1
        clean = levels[np.minimum(t * levels.size // n, levels.size - 1)]  # 5 equal plateaus
    else:  # random_walk
        clean = np.cumsum(rng.standard_normal(n)) * (2.0 / math.sqrt(n))  # spread ~2 for any n
    return clean + float(noise) * rng.standard_normal(n)


# ---------------------------------------------------------------------- real


def load_real_series() -> pd.DataFrame:
    """The shipped Mauna Loa CO₂ monthly means: columns month ('YYYY-MM', str) and co2_ppm (float)."""
    return pd.read_csv(REAL_SERIES_PATH, dtype={"month": str, "co2_ppm": float})


# -------------------------------------------------------------------- upload


def _size(nbytes: int, exact: bool = True) -> str:
    """A byte count for people: '6.4 MB', '12.0 KB', '9 bytes' ('5 MB' when exact=False)."""
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if nbytes >= scale:
            number = f"{nbytes / scale:.1f}"
            return f"{number if exact else number.removesuffix('.0')} {unit}"
    return f"{nbytes} bytes"


def _decode(data: bytes, filename: str) -> tuple[str, list[str]]:
    """Bytes → text, refusing files that are not text; returns (text, notes)."""
    head = data[:8192]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise SeriesError(f"{filename} looks like {what}, not a CSV text file.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), ["Read the file as UTF-16 text."]
        except UnicodeDecodeError:
            raise SeriesError(f"{filename} starts like UTF-16 text but could not be decoded.") from None
    if b"\x00" in head:
        raise SeriesError(f"{filename} looks like a binary file (it contains NUL bytes), not a CSV text file.")
    # utf-8-sig also reads plain UTF-8; latin-1 accepts any bytes, so text is always set.
    for encoding, note in (("utf-8-sig", None), ("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        notes = [f"The file is not UTF-8; read it as {note} text."] if note else []
        break
    sample = text[:8192]
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n") or 127 <= ord(ch) < 160)
    if control > 0.02 * len(sample):
        raise SeriesError(f"{filename} looks like a binary file (many control characters), not a CSV text file.")
    return text, notes


def _choose_separator(lines: list[str]) -> str:
    """The delimiter that splits the first lines into a steady number of fields (default ',')."""
    for sep in ("\t", ";", ",", "|"):
        counts = [line.count(sep) for line in lines]
        if counts[0] >= 1 and sum(c == counts[0] for c in counts) >= 0.8 * len(counts):
            return sep
    return ","


def _parse_numbers(cells: pd.Series, sep: str) -> tuple[pd.Series, int]:
    """Text cells → floats (NaN where blank or not a number); returns (numbers, count of numbers)."""
    text = cells.fillna("").astype(str).str.strip()
    missing = text.str.lower().isin(_MISSING_TOKENS)
    numbers_ = pd.to_numeric(text.where(~missing), errors="coerce").astype(np.float64)
    retry = numbers_.isna() & ~missing
    if retry.any():
        fixed = text[retry]
        if sep != ",":  # commas are free to be decimal marks: 3,14 and 1.234,5
            fixed = fixed.where(~fixed.str.match(_THOUSANDS_DOT), fixed.str.replace(".", "", regex=False))
            fixed = fixed.where(~fixed.str.match(_DECIMAL_COMMA), fixed.str.replace(",", ".", regex=False))
        else:
            fixed = fixed.where(~fixed.str.match(_THOUSANDS_COMMA), fixed.str.replace(",", "", regex=False))
        numbers_[retry] = pd.to_numeric(fixed, errors="coerce").astype(np.float64)
    return numbers_, int(numbers_.notna().sum())


def _is_number(cell: object) -> bool:
    """Whether one header cell reads as a number (then the file has no header row)."""
    try:
        float(str(cell).strip().replace(",", "."))
    except ValueError:
        return False
    return True


def _unique_names(raw: list[object]) -> list[str]:
    """Header cells → distinct, non-blank column names."""
    names: list[str] = []
    for k, cell in enumerate(raw, start=1):
        name = "" if cell is None or (isinstance(cell, float) and math.isnan(cell)) else str(cell).strip()
        name = name or f"column {k}"
        base, m = name, 2
        while name in names:
            name, m = f"{base} ({m})", m + 1
        names.append(name)
    return names


def _parse_csv(
    data: bytes, filename: str, max_bytes: int, max_rows: int
) -> tuple[pd.DataFrame, list[str]]:
    """The checks and parsing behind read_uploaded_csv; returns (numeric columns, notes)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SeriesError(f"expected the uploaded file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise SeriesError(
            f"{filename} is {_size(len(data))}; the limit is {_size(max_bytes, exact=False)}. "
            "Upload a shorter series."
        )
    if not data.strip():
        raise SeriesError(f"{filename} is empty.")
    text, notes = _decode(data, filename)
    all_lines = text.splitlines()
    comment = [line.lstrip().startswith("#") for line in all_lines]
    if any(comment):  # e.g. NOAA's files open with '#' comment lines; blank them to keep line numbers
        notes.append(f"Skipped {sum(comment)} comment line(s) starting with '#'.")
        text = "\n".join("" if c else line for line, c in zip(all_lines, comment))
    lines = [line for line, c in zip(all_lines, comment) if line.strip() and not c][:50]
    if not lines:
        raise SeriesError(f"{filename} has no data lines.")
    if lines[0].lstrip().lower().startswith(("<!doctype html", "<html", "<?xml")):
        raise SeriesError(f"{filename} looks like a web page (HTML/XML), not a CSV file.")
    sep = _choose_separator(lines)
    if lines[0].count(sep) + 1 > MAX_COLUMNS:
        raise SeriesError(f"{filename} has {lines[0].count(sep) + 1} columns; the limit is {MAX_COLUMNS}.")
    try:
        # Everything is read as text; numbers are parsed per column below.
        table = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            nrows=max_rows + 2,  # header + max_rows + 1 is enough to know it is too long
        )
    except Exception as exc:  # pandas raises many types (ParserError, EmptyDataError, ...): all mean "bad CSV"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = detail.removeprefix("Error tokenizing data. C error: ")
        raise SeriesError(f"{filename} could not be read as a CSV file: {detail}") from None
    if table.shape[1] > MAX_COLUMNS:
        raise SeriesError(f"{filename} has {table.shape[1]} columns; the limit is {MAX_COLUMNS}.")

    first_row = table.iloc[0].tolist()
    has_header = not all(_is_number(c) for c in first_row if str(c).strip())
    if has_header:
        names, body = _unique_names(first_row), table.iloc[1:]
    else:
        names, body = _unique_names([None] * table.shape[1]), table
        notes.append("The first row holds numbers, so it was read as data, not as column names.")
    body = body.reset_index(drop=True)
    body.columns = names
    if len(body) > max_rows:
        raise SeriesError(f"{filename} has more than {max_rows:,} rows; the limit is {max_rows:,}.")
    if len(body) == 0:
        raise SeriesError(f"{filename} has a header row but no data; at least 2 values are needed.")
    if len(body) == 1:
        raise SeriesError(f"{filename} has only 1 data row; at least 2 values are needed.")

    columns: dict[str, pd.Series] = {}
    for name in names:
        parsed, count = _parse_numbers(body[name], sep)
        non_blank = int((body[name].fillna("").astype(str).str.strip() != "").sum())
        if count >= 1 and count >= 0.5 * non_blank:  # mostly numbers: stray text counts as missing
            columns[name] = parsed
    if not columns:
        found = ", ".join(repr(n) for n in names[:20]) + (" …" if len(names) > 20 else "")
        raise SeriesError(f"No numeric column found in {filename}. Columns found: {found}.")
    return pd.DataFrame(columns), notes


def read_uploaded_csv(
    data: bytes, filename: str = "upload.csv", max_bytes: int = 5_000_000, max_rows: int = 20_000
) -> pd.DataFrame:
    """Parse uploaded CSV bytes into a DataFrame of its usable numeric columns (float64, NaN for gaps).

    Any problem with the bytes raises SeriesError with a message for the user;
    nothing else escapes, whatever the bytes are.
    """
    return _parse_csv(data, filename, max_bytes, max_rows)[0]


def _column_values(df: pd.DataFrame, column: str) -> tuple[np.ndarray, int]:
    """The finite values of one numeric column and how many blank cells were dropped."""
    if column not in df.columns:
        found = ", ".join(repr(str(c)) for c in df.columns)
        raise SeriesError(f"There is no numeric column {column!r}. Numeric columns: {found}.")
    raw = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)  # (rows,)
    infinite = np.isinf(raw)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0]) + 1
        raise SeriesError(
            f"Column {column!r} contains {int(infinite.sum())} infinite value(s) (first in data row {row}); "
            "remove them and upload again."
        )
    huge = np.abs(raw) > MAX_ABS_VALUE  # (rows,), False for NaN
    if huge.any():
        row = int(np.flatnonzero(huge)[0]) + 1
        raise SeriesError(
            f"Column {column!r} holds {int(huge.sum())} value(s) beyond ±{MAX_ABS_VALUE:.0e} (first in data row "
            f"{row}); numbers that large overflow the smoothing arithmetic. Rescale the column (e.g. change its "
            "units) and upload again."
        )
    keep = ~np.isnan(raw)
    values = raw[keep]
    if values.size < 2:
        raise SeriesError(f"Column {column!r} has {values.size} usable value(s); at least 2 are needed.")
    return values, int((~keep).sum())


def numeric_column(df: pd.DataFrame, column: str) -> np.ndarray:
    """Finite values of one column of read_uploaded_csv's result, blanks dropped, shape (T,)."""
    return _column_values(df, column)[0]


def series_from_csv(
    data: bytes,
    filename: str = "upload.csv",
    column: str | None = None,
    max_bytes: int = 5_000_000,
    max_rows: int = 20_000,
) -> ParsedSeries:
    """Uploaded CSV bytes → one numeric series, plus notes on what was dropped or assumed.

    column=None takes the first numeric column.  Raises only SeriesError.
    """
    df, notes = _parse_csv(data, filename, max_bytes, max_rows)
    if column is None:
        column = str(df.columns[0])
        if df.shape[1] > 1:
            notes.append(f"Using the first numeric column, {column!r}.")
    values, dropped = _column_values(df, column)
    if dropped:
        notes.append(
            f"Dropped {dropped} of {len(df)} rows whose {column!r} cell was blank or not a number."
        )
    values.flags.writeable = False
    return ParsedSeries(
        values=values, column=column, dropped=dropped, notes=tuple(notes), columns=tuple(map(str, df.columns))
    )

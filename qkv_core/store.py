"""The /lookup store: shipped presets, a user-edited table made usable, and a store carried in a link.

A store is a table of keys (text) and values (one or more numbers per key). ``validate_store``
turns whatever a person typed into a table into usable keys and an (n, dv) value matrix, with
a message for every row it had to drop; ``encode_store`` / ``decode_store`` pack a store into a
short URL-safe code, deflated against the preset it was edited from.

Letters: n keys in the store, dv value columns.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from qkv_core.checks import is_real, short

__all__ = [
    "LONG_KEY_CHARS",
    "MAX_STORE_ROWS",
    "PRESETS",
    "TOPICS",
    "StoreCheck",
    "decode_store",
    "encode_store",
    "numbers_preset",
    "validate_store",
    "video_preset",
]

TOPICS = ("cats", "cooking", "music", "science", "sport")
LONG_KEY_CHARS = 200
_MAX_PROBLEMS = 25  # messages listed before the rest are summarised in one line


# ---------------------------------------------------------------- store presets

# (title, {topic: share}); shares in each row add up to 1, missing topics are 0
_VIDEOS: tuple[tuple[str, dict[str, float]], ...] = (
    ("funny cat compilation: kittens doing silly things", {"cats": 0.9, "music": 0.1}),
    ("kitten learns to play piano", {"cats": 0.6, "music": 0.4}),
    ("my cat judges my cooking", {"cats": 0.6, "cooking": 0.4}),
    ("why cats always land on their feet", {"cats": 0.5, "science": 0.5}),
    ("easy weeknight pasta in twenty minutes", {"cooking": 1.0}),
    ("the physics of a perfect pizza toss", {"science": 0.6, "cooking": 0.4}),
    ("sourdough bread from scratch for beginners", {"cooking": 0.9, "science": 0.1}),
    ("what to eat the night before a big race", {"sport": 0.6, "cooking": 0.4}),
    ("guitar chords for absolute beginners", {"music": 1.0}),
    ("piano cover of a classic film theme", {"music": 0.9, "cats": 0.1}),
    ("why some songs get stuck in your head", {"music": 0.6, "science": 0.4}),
    ("why the sky is blue", {"science": 1.0}),
    ("how black holes bend light", {"science": 1.0}),
    ("marathon training for beginners", {"sport": 0.9, "science": 0.1}),
    ("best goals of the football season", {"sport": 0.9, "music": 0.1}),
    ("ten minute morning stretch routine", {"sport": 0.8, "music": 0.2}),
)

_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six",
                 "seven", "eight", "nine", "ten", "eleven", "twelve")


def video_preset() -> pd.DataFrame:
    """Video titles with a topic profile (one float column per TOPICS entry, rows sum to 1)."""
    rows = [{"title": title, **{t: float(mix.get(t, 0.0)) for t in TOPICS}} for title, mix in _VIDEOS]
    return pd.DataFrame(rows, columns=["title", *TOPICS])


def numbers_preset() -> pd.DataFrame:
    """Number words and their values ('one' -> 1.0 ... 'twelve' -> 12.0)."""
    return pd.DataFrame({"key": list(_NUMBER_WORDS),
                         "value": [float(i) for i in range(1, len(_NUMBER_WORDS) + 1)]})


PRESETS: Mapping[str, Callable[[], pd.DataFrame]] = MappingProxyType({
    "videos": video_preset,
    "numbers": numbers_preset,
})


# ---------------------------------------------------------------- user-edited store


@dataclass(frozen=True)
class StoreCheck:
    """A user-edited store after validation: usable keys and values plus what was fixed."""

    keys: list[str]
    values: np.ndarray          # (n, dv) float64
    problems: list[str]         # human-readable, one line each
    dropped_rows: int


def _is_missing(cell: Any) -> bool:
    """True for None, NaN, pd.NA, NaT (scalars only; containers are never 'missing')."""
    if cell is None:
        return True
    try:
        return bool(pd.api.types.is_scalar(cell) and pd.isna(cell))
    except (TypeError, ValueError):
        return False


def _clean_key(cell: Any) -> str | None:
    """Stripped key text, or None when the cell is missing or blank."""
    if _is_missing(cell):
        return None
    try:
        text = cell if isinstance(cell, str) else str(cell)
    except Exception:  # a hostile __str__ must not break validation
        return None
    text = text.strip()
    return text or None


def _parse_number(cell: Any) -> tuple[float | None, str | None]:
    """(value, None) for a usable number, else (None, reason)."""
    if _is_missing(cell):
        return None, "is empty"
    if isinstance(cell, (bool, np.bool_)) or not pd.api.types.is_scalar(cell):
        return None, f"is not a number ({short(cell)})"
    try:
        x = float(cell.strip()) if isinstance(cell, str) else float(cell)
    except OverflowError:
        return None, f"is not finite ({short(cell)})"
    except (TypeError, ValueError):
        return None, f"is not a number ({short(cell)})"
    if math.isnan(x):                            # text such as 'nan' (a real NaN is 'empty')
        return None, f"is not a number ({short(cell)})"
    if not math.isfinite(x):
        return None, f"is not finite ({short(cell)})"
    return x, None


def _column(df: pd.DataFrame, name: Any, problems: list[str]) -> pd.Series | None:
    """The first column called `name`, noting duplicates; None (with a message) if absent."""
    positions = [i for i, c in enumerate(df.columns) if c == name]
    if not positions:
        problems.append(f"column {short(name)} is missing")
        return None
    if len(positions) > 1:
        problems.append(f"column {short(name)} appears {len(positions)} times; using the first")
    return df.iloc[:, positions[0]]


def validate_store(df: pd.DataFrame, key_column: str, value_columns: Sequence[str]) -> StoreCheck:
    """Clean a user-edited store: drop unusable rows, keep the last of duplicate keys, never raise."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if isinstance(value_columns, str) or len(value_columns) == 0:
        raise ValueError(f"value_columns must be a non-empty list of column names, got {value_columns!r}")
    value_columns = list(value_columns)
    dv = len(value_columns)
    problems: list[str] = []

    key_col = _column(df, key_column, problems)
    value_cols = [_column(df, c, problems) for c in value_columns]
    if key_col is None or any(c is None for c in value_cols):
        problems.append("the store is empty: required columns are missing")
        return StoreCheck([], np.empty((0, dv)), problems, len(df))
    if len(df) == 0:
        problems.append("the store is empty: add at least one row")
        return StoreCheck([], np.empty((0, dv)), problems, 0)

    # 1) per row: a key and one finite number per value column, else drop the row
    kept: dict[str, tuple[int, list[float]]] = {}    # key -> (row number, values); dict order
    seen: dict[str, list[int]] = {}                   # key -> row numbers that carried it
    dropped = 0
    key_cells = key_col.tolist()
    value_cells = [c.tolist() for c in value_cols]
    for pos, key_cell in enumerate(key_cells):
        row = pos + 1
        key = _clean_key(key_cell)
        if key is None:
            problems.append(f"row {row}: key is blank; row dropped")
            dropped += 1
            continue
        parsed = [_parse_number(cells[pos]) for cells in value_cells]
        bad = [f"{short(name)} {reason}" for name, (_, reason) in zip(value_columns, parsed) if reason]
        if bad:
            problems.append(f"row {row} ({short(key)}): {'; '.join(bad)}; row dropped")
            dropped += 1
            continue
        if len(key) > LONG_KEY_CHARS:
            problems.append(f"row {row}: key is {len(key)} characters long (kept)")
        # 2) duplicates: the last row wins, as in dict(pairs)
        seen.setdefault(key, []).append(row)
        kept[key] = (row, [x for x, _ in parsed])

    for key, rows in seen.items():
        if len(rows) > 1:
            problems.append(f"key {short(key)} appears in rows {', '.join(map(str, rows))}; "
                            f"keeping the last (row {rows[-1]})")
            dropped += len(rows) - 1

    keys = list(kept)
    values = np.array([v for _, v in kept.values()], dtype=np.float64).reshape(len(keys), dv)  # (n, dv)
    if not keys:  # first, so the cap below can never hide it
        problems.insert(0, "the store is empty: no row has both a key and numeric values")
    if len(problems) > _MAX_PROBLEMS:
        extra = len(problems) - (_MAX_PROBLEMS - 1)
        problems = [*problems[: _MAX_PROBLEMS - 1], f"… and {extra} more problems"]
    return StoreCheck(keys, values, problems, dropped)


# ---------------------------------------------------------------- a store in a link

STORE_CODE_VERSION = "1"
MAX_STORE_ROWS = 500
_MAX_STORE_JSON = 200_000  # bytes once inflated: a code that inflates further is refused (a zip bomb)


def _store_json(keys: Sequence[str], values: np.ndarray) -> bytes:
    """Rows as compact JSON, ``[["key", 0.9, 0, ...], ...]``; whole numbers written without ".0"."""
    def number(x: float) -> float | int:
        return int(x) if x.is_integer() and abs(x) < 1e15 else x

    rows = [[key, *(number(float(x)) for x in row)] for key, row in zip(keys, np.asarray(values, dtype=np.float64))]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _reference_json(reference: pd.DataFrame) -> bytes:
    """The preset's own JSON: the dictionary the code is compressed against."""
    return _store_json(reference.iloc[:, 0].tolist(), reference.iloc[:, 1:].to_numpy(dtype=np.float64))


def encode_store(keys: Sequence[str], values: Any, reference: pd.DataFrame) -> str:
    """A short URL-safe code for a store (keys and finite values), e.g. ``"1.eNrLy..."``.

    The store is deflated against the preset it was edited from (``reference``: key column
    first, then the value columns), so a store that changes a few cells of its preset costs a
    few dozen characters, while a store typed from scratch costs about its compressed size.
    ``decode_store`` with the same reference reverses it exactly.
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(keys), -1)
    if not np.isfinite(values).all():
        raise ValueError("values must be finite")
    deflate = zlib.compressobj(9, zdict=_reference_json(reference))
    packed = deflate.compress(_store_json(keys, values)) + deflate.flush()
    return f"{STORE_CODE_VERSION}.{base64.urlsafe_b64encode(packed).decode().rstrip('=')}"


def decode_store(code: str, reference: pd.DataFrame) -> pd.DataFrame:
    """The store a code from ``encode_store`` carries, with the reference's columns.

    Raises ValueError, with a message that never repeats the code, for anything that is not a
    code made against this reference: a bad prefix or alphabet, damaged data, more than
    MAX_STORE_ROWS rows, rows of the wrong width, blank keys or keys that are not valid Unicode
    text (a lone surrogate), values that are not finite numbers.
    """
    version, _, body = code.partition(".")
    if version != STORE_CODE_VERSION or not body or not re.fullmatch(r"[A-Za-z0-9_-]+", body):
        raise ValueError("store is not a store code from this app")
    damaged = ValueError("store is damaged (cut short or altered?)")
    zdict = _reference_json(reference)
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error:
        raise damaged from None
    # A zlib stream made against a dictionary names it by checksum in bytes 2-5 (RFC 1950, FDICT).
    if len(packed) >= 6 and packed[1] & 0x20 and packed[2:6] != zlib.adler32(zdict).to_bytes(4, "big"):
        raise ValueError("store was made for another preset")
    try:
        inflate = zlib.decompressobj(zdict=zdict)
        raw = inflate.decompress(packed, _MAX_STORE_JSON)
    except zlib.error:
        raise damaged from None
    if inflate.unconsumed_tail:
        raise ValueError("store is too large")
    if not inflate.eof or inflate.unused_data:  # the checksum at the end is missing, or junk follows it
        raise damaged
    try:
        rows = json.loads(raw.decode(), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise damaged from None
    width = reference.shape[1]
    if not isinstance(rows, list) or not rows:
        raise ValueError("store must hold at least one row")
    if len(rows) > MAX_STORE_ROWS:
        raise ValueError(f"store has more than {MAX_STORE_ROWS} rows")
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise ValueError(f"store rows must have {width} cells for this preset")
        if not isinstance(row[0], str) or not row[0].strip():
            raise ValueError("store keys must be non-blank text")
        if not row[0].isascii():
            try:
                row[0].encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate, written as "\ud800" in the JSON
                raise ValueError("store keys must be valid Unicode text") from None
        if not all(_finite_number(x) for x in row[1:]):
            raise ValueError("store values must be finite numbers")
    return pd.DataFrame([[row[0], *map(float, row[1:])] for row in rows], columns=list(reference.columns))


def _finite_number(x: Any) -> bool:
    """True for a JSON int or float that is a finite float64 (not a bool, not 10**400)."""
    if not is_real(x):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")

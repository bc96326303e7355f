"""URL-bound controls: every widget's value lives in the query string.

A page declares its controls as ``Param`` objects. ``seed`` puts each value
into ``st.session_state`` (from the URL on first sight, else the default)
before the widgets are drawn; widgets then use the same ``key`` and no
``value``; ``publish`` writes the current values back to the URL, leaving
defaults out. Invalid or tampered values fall back to the default and are
listed by ``notices`` so the page can say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

_NOTICES = "_url_notices"
MAX_PARAM_CHARS = 4000  # longer values are refused as tampered / not shareable


@dataclass(frozen=True)
class Param:
    """One control bound to the URL parameter ``key``.

    ``source`` names the session-state entry ``publish`` writes, when the URL form is made
    elsewhere: the lookup store's link carries a code of the *edited* table, while
    ``st.session_state["store"]`` keeps the table the link opened with.
    """

    key: str
    default: Any
    parse: Callable[[str], Any]  # raises ValueError on a bad value
    dump: Callable[[Any], str] = str
    source: str | None = None  # session-state key publish reads (default: key)


def int_param(key: str, default: int, lo: int, hi: int) -> Param:
    """An integer in [lo, hi]."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{key} must be a whole number") from None
        if not lo <= value <= hi:
            raise ValueError(f"{key} must be between {lo} and {hi}")
        return value

    return Param(key, default, parse)


def float_param(key: str, default: float, lo: float, hi: float) -> Param:
    """A finite float in [lo, hi]."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{key} must be a number") from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ValueError(f"{key} must be between {lo:g} and {hi:g}")
        return value

    return Param(key, default, parse, lambda v: f"{v:g}")


def choice_param(key: str, default: str, options: Sequence[str]) -> Param:
    """One of a fixed set of strings."""

    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"{key} must be one of {', '.join(options)}")
        return raw

    return Param(key, default, parse)


def float_choice_param(key: str, default: float, options: Sequence[float]) -> Param:
    """One of a fixed set of numbers (e.g. a select_slider's stops); "0.10" and "1e-1" both read as 0.1."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{key} must be a number") from None
        for option in options:
            if math.isclose(value, option, rel_tol=1e-9):
                return option
        raise ValueError(f"{key} must be one of {', '.join(f'{o:g}' for o in options)}")

    return Param(key, default, parse, lambda v: f"{v:g}")


def flag_param(key: str, default: bool = False) -> Param:
    """A boolean written as 1 / 0."""

    def parse(raw: str) -> bool:
        if raw not in ("0", "1", "true", "false"):
            raise ValueError(f"{key} must be 1 or 0")
        return raw in ("1", "true")

    return Param(key, default, parse, lambda v: "1" if v else "0")


def text_param(key: str, default: str, max_chars: int = MAX_PARAM_CHARS) -> Param:
    """Free text up to ``max_chars`` characters."""

    def parse(raw: str) -> str:
        if len(raw) > max_chars:
            raise ValueError(f"{key} is longer than {max_chars:,} characters")
        return raw

    return Param(key, default, parse)


def seed(params: Sequence[Param]) -> None:
    """Put every control's starting value into session state (URL first, else default)."""
    notices = st.session_state.setdefault(_NOTICES, {})
    for p in params:
        if p.key in st.session_state:
            continue
        raw = st.query_params.get(p.key)
        value = p.default
        if raw is not None:
            try:
                if len(raw) > MAX_PARAM_CHARS:
                    raise ValueError(f"{p.key} is longer than {MAX_PARAM_CHARS:,} characters")
                value = p.parse(raw)
            except (ValueError, OverflowError) as err:
                notices[p.key] = refused(p.key, str(err))  # our parsers never echo the raw value
        st.session_state[p.key] = value


def refused(key: str, reason: str, instead: str = "the default") -> str:
    """The notice for a link value that is not used, e.g. "Ignored the link's `d` setting (…); using the default instead."

    ``reason`` is ours and must never echo the raw value: a link can carry markup.
    """
    return f"Ignored the link's `{key}` setting ({reason}); using {instead} instead."


def warn_refused(key: str, reason: str, instead: str = "the default", container: Any = st) -> None:
    """Show ``refused(...)`` as a warning now (in ``container``: a column, or the page)."""
    container.warning(refused(key, reason, instead), icon=":material/link_off:")


def publish(params: Sequence[Param]) -> list[str]:
    """Write current values to the URL; defaults are left out to keep links short.

    Returns the keys whose values are too long to carry in a link (they are left out).
    """
    too_long = []
    for p in params:
        value = st.session_state.get(p.source or p.key, p.default)
        encoded = None if value == p.default or value is None else p.dump(value)
        if encoded is not None and len(encoded) > MAX_PARAM_CHARS:
            too_long.append(p.key)
            encoded = None
        put(p.key, encoded)
    return too_long


def put(key: str, encoded: str | None) -> None:
    """Set one URL parameter, or remove it for None (writing only what changed)."""
    if encoded is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != encoded:
        st.query_params[key] = encoded


def notices() -> list[str]:
    """Messages about URL parameters that were refused in this session."""
    return list(st.session_state.get(_NOTICES, {}).values())


def show_notices() -> None:
    """Show refused URL parameters once, as a warning."""
    for message in notices():
        st.warning(message, icon=":material/link_off:")
    st.session_state[_NOTICES] = {}

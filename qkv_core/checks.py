"""Input checks shared by ``qkv_core``'s public entry points, and the text their messages quote.

Letter legend: T tokens, ... any leading dimensions.

A bool is a Python int, but ``True`` is never meant as a layer, a size or a σ: ``is_int`` and
``is_real`` say no to bools (and NumPy's), yes to NumPy's integer and float scalars. Only
public functions call these; the helpers behind them trust what they are given.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_index", "check_maps", "is_int", "is_real", "short"]


def is_int(x: object) -> bool:
    """True for a Python or NumPy integer that is not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_real(x: object) -> bool:
    """True for a Python or NumPy real number (integers included) that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_index(name: str, value: object, n: int) -> int:
    """``value`` as a Python int if it indexes 0..n-1, else a ValueError naming ``name`` and the range."""
    if not is_int(value):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"{name} must be in 0..{n - 1}, got {value}")
    return int(value)


def check_maps(weights: np.ndarray, tokens: Sequence[str], name: str = "weights") -> int:
    """Check that ``weights`` is (..., T, T) attention maps with T = len(tokens); return T."""
    if weights.ndim < 2 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"{name} must be (..., T, T), got shape {weights.shape}")
    if weights.shape[-1] != len(tokens):
        raise ValueError(f"{name} has T={weights.shape[-1]} columns but tokens has {len(tokens)} entries")
    return weights.shape[-1]


def short(x: Any, limit: int = 40) -> str:
    """A repr for messages (a str quoted, anything else as str()), one line, cut to ``limit`` characters."""
    try:
        text = repr(x) if isinstance(x, str) else str(x)
    except Exception:  # a hostile __str__ (or a 5000-digit int) must not break validation
        text = f"<{type(x).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"

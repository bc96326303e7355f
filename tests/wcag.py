"""WCAG 2 relative luminance and contrast ratio, for the tests that check one colour against another."""

from __future__ import annotations

import numpy as np


def luminance(rgb) -> np.ndarray:
    """Relative luminance of sRGB colours given as 0–255 channels in the last axis: (..., 3) -> (...)."""
    c = np.asarray(rgb, dtype=float) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ [0.2126, 0.7152, 0.0722]


def contrast(l1, l2) -> np.ndarray:
    """Contrast ratio of two relative luminances, in either order: from 1 to 21."""
    return (np.maximum(l1, l2) + 0.05) / (np.minimum(l1, l2) + 0.05)

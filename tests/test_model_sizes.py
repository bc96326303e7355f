"""Every page and view follows the model's config: a 2-layer, 4-head, width-64 random BERT served through
QKV_MODEL_PATH renders everywhere, and no caption or chart names the bundled model's 6 layers or 12 heads."""

from __future__ import annotations

import json
import re

import pytest
import streamlit as st

from qkv_core.encoder import MODEL_PATH_ENV, default_model_path
from qkv_ui.pages import ATTENTION, HOME, LOOKUP, SMOOTHING

from .apptest_util import all_text, assert_clean, chart_specs, open_page
from .tiny_bert import TINY_SIZES, save_tiny_bert

# Phrases that would only be true of all-MiniLM-L6-v2 (6 layers, 12 heads, width 384, d_head 32).
BUNDLED_ONLY = re.compile(
    r"\b6 layers\b|\b12 heads\b|\btwelve\b|\bsix layers\b|√384|\b19\.6\b|\b12 blocks\b|blocks of 32|1 … 6|30,522",
    re.IGNORECASE,
)
VIEWS = [
    (HOME, {}),
    (SMOOTHING, {}),
    (LOOKUP, {}),
    (LOOKUP, {"sim": "scaled_dot"}),
    *[(ATTENTION, {"view": view}) for view in ("map", "steps", "heads", "context", "scaling", "explain")],
    (ATTENTION, {"view": "explain", "off": "2.4,1.1", "layer": "2"}),  # the knockout lab on the model's own sizes
    (ATTENTION, {"view": "map", "weighting": "norm"}),
    (ATTENTION, {"view": "map", "sqrtd": "0", "causal": "1", "hide": "1"}),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """QKV_MODEL_PATH at a random tiny BERT for this module; cached models cleared before and after."""
    folder = save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), default_model_path())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODEL_PATH_ENV, str(folder))
        st.cache_resource.clear()
        st.cache_data.clear()
        yield folder
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize(("page", "params"), VIEWS, ids=lambda v: getattr(v, "url_path", None) or str(v))
def test_every_view_follows_the_models_sizes(tiny_model, page, params):
    at = open_page(page.script, params)
    assert_clean(at)
    assert not any("could not be loaded" in e.value for e in at.error)
    text = all_text(at) + "\n".join(json.dumps(spec, ensure_ascii=False) for spec in chart_specs(at))
    assert not BUNDLED_ONLY.search(text), BUNDLED_ONLY.search(text).group()


def test_attention_page_names_the_loaded_models_sizes(tiny_model):
    at = open_page(ATTENTION.script)
    assert f"{TINY_SIZES['n_layers']} layers × {TINY_SIZES['n_heads']} heads" in all_text(at)
    layer, head = at.slider(key="layer"), at.slider(key="head")
    assert (layer.max, head.max) == (TINY_SIZES["n_layers"], TINY_SIZES["n_heads"])


def test_lookup_caption_uses_the_models_width(tiny_model):
    at = open_page(LOOKUP.script)
    assert f"√{TINY_SIZES['d_model']} ≈ 8.0" in all_text(at)


@pytest.mark.parametrize("params", [{"layer": "3"}, {"head": "5"}])
def test_a_link_past_the_models_size_is_refused(tiny_model, params):
    """layer=3 is fine for the bundled model (6 layers) but not for this one: a notice, then the default."""
    at = open_page(ATTENTION.script, params)
    assert_clean(at)
    (key,) = params
    assert any(f"Ignored the link's `{key}` setting" in w.value for w in at.warning)

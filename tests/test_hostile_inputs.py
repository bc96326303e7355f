"""Hostile inputs through the real pages (AppTest): no exception, a clear message where refused.

The corpus is data, in ``tests/hostile/corpus.py``. Widget cases reuse one AppTest per
page (a fresh value each case, like one visitor typing on); URL cases open a fresh
session each, as a shared link does. Lone surrogates cannot arrive through a widget or
a URL; the last tests prove that and feed them to ``qkv_core`` directly.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter

import numpy as np
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from qkv_core import retrieval, series, store
from qkv_core.vectors import find_word
from qkv_core.encoder import load_pretrained
from qkv_ui.pages import ATTENTION, LOOKUP, SMOOTHING

from .apptest_util import APP, TIMEOUT, all_text, chart_specs, open_page
from .hostile.corpus import ANY, CASES, REQUIRED_KINDS, SAME, URL_KEYS, by_target

SCRIPTS = {"home": None, "smoothing": SMOOTHING.script, "lookup": LOOKUP.script, "attention": ATTENTION.script}
TITLES = {"home": "QKV Explainer", "smoothing": "Context matters", "lookup": "Search, softly",
          "attention": "Attention on your text"}
MARKDOWN_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
                  "toast")
# Strings the app's own text never contains: in rendered markdown they can only come from a payload.
FOREIGN = ("onerror", "onload", "<script", "javascript:", "evil.example", "alert(")
MARKUP_CHARS = set("<>[]()*_#$`|!:~\\{}")


def params(cases):
    """pytest params with readable ids; reported-but-unfixed cases are strict xfails."""
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.known_issue)]
                         if c.known_issue else []) for c in cases]


# ---------------------------------------------------------------- what a page shows


def markdown_text(at) -> str:
    """Everything rendered as markdown, where markup would turn into links, images or headings."""
    return "\n".join(str(el.value) for kind in MARKDOWN_KINDS for el in at.get(kind))


def visible_text(at) -> str:
    """All text a viewer reads: markdown, plain text, code, metrics."""
    parts = [all_text(at), *(t.value for t in at.text), *(f"{m.label} {m.value}" for m in at.metric)]
    return "\n".join(parts)


def check_page(at, case) -> None:
    """The checks every case shares: no exception, the page's title, no payload inside markdown."""
    assert not at.exception, [e.value for e in at.exception]
    assert TITLES[case.page] in [t.value for t in at.title], "the page did not render"
    md = markdown_text(at)
    for word in FOREIGN:
        assert word not in md.lower(), f"{word!r} reached rendered markdown"
    payload = case.payload[-1] if isinstance(case.payload, list) else case.payload
    if isinstance(payload, str):
        needle = payload.strip()[:60]
        if len(needle) >= 4 and MARKUP_CHARS & set(needle):
            assert needle not in md, "the payload was rendered as markdown"
    if case.says:
        assert case.says in visible_text(at), f"expected the page to say {case.says!r}"


# ---------------------------------------------------------------- typed into widgets


@pytest.fixture(scope="module")
def attention_map():
    return open_page(ATTENTION.script)


@pytest.fixture(scope="module")
def attention_context():
    return open_page(ATTENTION.script, {"view": "context"})


@pytest.fixture(scope="module")
def lookup_page():
    return open_page(LOOKUP.script)


@pytest.mark.parametrize("case", params(by_target("text:attention:text")))
def test_text_typed_on_attention(attention_map, case):
    at = attention_map
    at.text_area(key="text").set_value(case.payload).run()
    check_page(at, case)
    assert len(chart_specs(at)) == 3, "the three attention charts are drawn"
    strip = next(b for b in at.get("button_group") if b.key == "token")
    tokens = [o.content for o in strip.proto.options]
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and len(tokens) <= 512


@pytest.mark.parametrize("case", params(by_target("text:attention:s1") + by_target("text:attention:word")))
def test_text_typed_in_the_context_view(attention_context, case):
    at = attention_context
    at.text_input(key="s1").set_value(case.payload if case.key == "s1" else "We sat on the bank of the river.")
    at.text_input(key="word").set_value(case.payload if case.key == "word" else "bank")
    at.run()
    check_page(at, case)
    answered = bool(chart_specs(at)) or any("appears in both sentences" in i.value for i in at.info)
    assert answered, "the view draws the comparison or says what to type"


@pytest.mark.parametrize("case", params(by_target("text:lookup:q")))
def test_query_typed_on_lookup(lookup_page, case):
    at = lookup_page
    at.text_input(key="q").set_value(case.payload).run()  # set_value: past the box's 1,000-character limit
    check_page(at, case)
    if case.expect == "refused":
        assert not chart_specs(at), "a refused query draws nothing"
    else:
        assert "KeyError" in "\n".join(c.value for c in at.code) or at.success, "the dict side answers"
        assert len(chart_specs(at)) >= 2, "the soft side answers"


@pytest.mark.parametrize("case", params(by_target("store:lookup")))
def test_key_typed_into_the_lookup_store(case):
    at = open_page(LOOKUP.script)
    row = {"title": case.payload, **dict.fromkeys(store.TOPICS, 0.0), store.TOPICS[0]: 1.0}
    at.session_state["store-videos-0"] = {"edited_rows": {}, "added_rows": [row], "deleted_rows": []}
    at.text_input(key="q").set_value(case.payload)
    at.run()
    check_page(at, case)
    flagged = any("need attention" in w.value for w in at.warning)
    assert flagged or any("Exact match" in s.value for s in at.success), "the key is found or its row is flagged"


# ---------------------------------------------------------------- arriving in a link


def open_link(page: str, query: dict) -> AppTest:
    """A fresh session whose very first run is ``page`` with ``query``, as when a shared link is opened.

    (``open_page`` runs the home page first, and the frame's own parameters would be read, and
    answered, there. The story's url paths equal their file names, so switching before the first
    run finds the page.)
    """
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if SCRIPTS[page] is not None:
        at.switch_page(SCRIPTS[page])
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()

_DEFAULTS: dict[tuple, dict] = {}


def default_state(page: str, extra: tuple) -> dict:
    """Control values of the page opened with only the case's other parameters (cached)."""
    if (page, extra) not in _DEFAULTS:
        at = open_link(page, dict(extra))
        keys = {*URL_KEYS.get(page, ()), *URL_KEYS["home"]}
        _DEFAULTS[page, extra] = {k: at.session_state[k] for k in keys if k in at.session_state}
    return _DEFAULTS[page, extra]


@pytest.mark.parametrize("case", params(by_target("url:")))
def test_url_parameter(case):
    at = open_link(case.page, {case.key: case.payload, **dict(case.extra)})
    check_page(at, case)
    notices = [w.value for w in at.warning if "Ignored the link's" in w.value]
    mine = [n for n in notices if f"`{case.key}`" in n]
    if case.expect == "refused":
        assert mine and ("default" in mine[0] or "instead" in mine[0]), f"no notice about `{case.key}`: {notices}"
        default = default_state(case.page, case.extra)
        if case.key in default:
            assert at.session_state[case.key] == default[case.key]
    else:
        assert not mine, mine
        if case.value is not ANY:
            expected = case.payload[-1] if case.value is SAME and isinstance(case.payload, list) else \
                case.payload if case.value is SAME else case.value
            assert at.session_state[case.key] == expected
    for notice in notices:  # a notice names the parameter, never echoes its value
        assert "<" not in notice and "](" not in notice and "\x00" not in notice


# ---------------------------------------------------------------- uploaded files


@pytest.fixture(scope="module")
def upload_page():
    return open_page(SMOOTHING.script, {"src": "upload"})


@pytest.mark.parametrize("case", params(by_target("csv:")))
def test_csv_upload(upload_page, case):
    at = upload_page
    at.file_uploader(key="upload").upload(case.filename, case.payload, "text/csv").run()
    check_page(at, case)
    errors = [e.value for e in at.error]
    if case.expect == "refused":
        assert any("can't be used as a series" in e for e in errors), errors
        assert not chart_specs(at), "a refused file draws nothing"
    else:
        assert not errors, errors
        assert len(chart_specs(at)) == 7, "every chart is drawn"
        assert at.selectbox(key="col").value in at.selectbox(key="col").options


# ---------------------------------------------------------------- the corpus itself


def test_corpus_is_broad_and_covers_every_url_parameter():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES), "case ids are unique"
    kinds = Counter(c.kind for c in CASES)
    assert not [k for k in REQUIRED_KINDS if not kinds[k]], "every category has cases"
    assert {c.expect for c in CASES} == {"ok", "refused"}
    for page, keys in URL_KEYS.items():
        covered = {c.key for c in by_target(f"url:{page}:")}
        assert set(keys) <= covered, f"/{page} parameters without a case: {set(keys) - covered}"
    assert {c.page for c in CASES} == set(SCRIPTS)


# ---------------------------------------------------------------- lone surrogates (qkv_core level)

SURROGATES = ["\ud800", "a\udfffb", "\udbff\udc00 pair written as two halves", "x" + "\ud83d" * 50]


def test_a_lone_surrogate_cannot_arrive_through_a_widget_or_a_link():
    """Why the page-level corpus has no surrogates: no real client can send one."""
    with pytest.raises(UnicodeEncodeError):  # widget values travel as protobuf strings, UTF-8 only
        state = WidgetState(id="text")
        state.string_value = "a\ud800b"
        state.SerializeToString()
    # a link's percent-encoded surrogate decodes to U+FFFD (the corpus carries that instead)
    assert urllib.parse.parse_qs("text=%ED%A0%80x")["text"] == ["\ufffd\ufffd\ufffdx"]
    with pytest.raises(UnicodeEncodeError):  # and AppTest cannot even build such a query string
        urllib.parse.urlencode({"text": "\ud800"})


@pytest.fixture(scope="module")
def encoder():
    return load_pretrained()


@pytest.mark.parametrize("text", SURROGATES)
def test_the_encoder_takes_lone_surrogates(encoder, text):
    trace = encoder.trace(text)
    assert trace.tokens[0] == "[CLS]" and trace.tokens[-1] == "[SEP]"
    assert np.isfinite(trace.attentions).all()
    assert len(trace.text) == len(text)  # replaced one for one: offsets still index the caller's string
    vectors = encoder.embed([text, "plain"])
    assert np.isfinite(vectors).all()
    assert find_word(trace, "pair" if "pair" in text else "x") is not None


@pytest.mark.parametrize("text", SURROGATES)
def test_retrieval_and_series_take_lone_surrogates(text):
    found, transcript = retrieval.dict_transcript({"a": 1}, text)
    assert not found and transcript.startswith("KeyError")
    transcript.encode("utf-8")  # printable: repr escapes the surrogate
    with pytest.raises(series.SeriesError):  # a file name with a surrogate still gets a message
        series.series_from_csv(b"", text)


# ---------------------------------------------------------------- regressions found by the corpus


@pytest.mark.parametrize("cells, refused", [
    (b"1.7e308\n-1.7e308\n" * 15, True),  # crashed /smoothing: np.std overflowed to NaN, so σ_v was NaN
    (b"1e300\n-1e300\n1e300\n", True),  # the spread was inf and the content-aware sums overflowed
    (b"1e100\n-1e100\n1e100\n", False),  # at the limit: still smoothed, every number finite
])
def test_numbers_too_large_to_smooth_are_refused_at_upload(cells, refused):
    from qkv_core.smoothing import content_aware_smooth, smooth

    if refused:
        with pytest.raises(series.SeriesError, match="Rescale the column"):
            series.series_from_csv(b"x\n" + cells)
        return
    values = series.series_from_csv(b"x\n" + cells).values
    spread = float(np.std(values))
    assert np.isfinite(spread) and spread > 0
    assert np.isfinite(smooth(values, 4.0, 3.0)).all()
    assert np.isfinite(content_aware_smooth(values, 4.0, 0.3 * spread, 3.0)).all()

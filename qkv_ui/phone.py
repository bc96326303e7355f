"""Phone-width layout: the page never scrolls sideways, chart text stays at least 14 px, touch works.

Below ``PHONE_MAX_WIDTH`` px (Streamlit stacks ``st.columns`` there too) two things change, and
nothing at all above it (desktop and the projector keep their layout):

- ``CSS`` (the frame adds it to every page): a chart wider than the screen (the detail map, W, the
  products of matrices) scrolls sideways inside its own box instead of pushing the page wider; so does a
  displayed formula. The box's edge fades where there is more to scroll to: the hint that it scrolls.
  Charts are not scaled down: scaled text would be unreadable and Vega would map taps to the wrong cells.
- ``for_phone`` (``qkv_ui.export.show_chart`` applies it to every chart it draws): chart text that
  Streamlit's theme or our builders make 11–12 px becomes 14 px. The sizes are Vega expressions of the
  browser window's width (``on_phone``; chart builders use it too, e.g. for shorter labels), so the
  server needs no idea of the screen, and Vega lays the chart out around the larger labels.
"""

from __future__ import annotations

from typing import Any

PHONE_MAX_WIDTH = 640  # px: at most this wide, a screen is a phone's (Streamlit stacks columns below 640 px)
PHONE_TEXT_PX = 14  # the smallest chart text on a phone
DESK_AXIS_LABEL_PX = 12  # Streamlit's theme for axis and facet header labels (fontSizes.twoSm)
DESK_TEXT_PX = 11  # Vega's default size for text marks

_ON_PHONE = f"windowSize()[0] > 0 && windowSize()[0] <= {PHONE_MAX_WIDTH}"  # no window (a file export): desk sizes


def on_phone(phone: float, desk: float) -> dict:
    """A Vega expression (for any chart property that takes one): ``phone`` in a phone-width window, else ``desk``."""
    return {"expr": f"{_ON_PHONE} ? {phone} : {desk}"}


def phone_px(desk_px: float) -> dict:
    """A font size: at least ``PHONE_TEXT_PX`` in a phone-width window, ``desk_px`` elsewhere."""
    return on_phone(max(desk_px, PHONE_TEXT_PX), desk_px)


_PHONE_CONFIG = {
    "axis": {"labelFontSize": phone_px(DESK_AXIS_LABEL_PX)},
    "header": {"labelFontSize": phone_px(DESK_AXIS_LABEL_PX)},
    "text": {"fontSize": phone_px(DESK_TEXT_PX)},
}


_VIEWS_IN = ("layer", "hconcat", "vconcat", "concat", "spec")  # where a Vega-Lite view holds other views


def _marks_for_phone(node: Any) -> Any:
    """The view tree with every text mark's explicit font size (in px) an expression of the window's width.

    Only views are copied (shallowly): encodings, params and data are shared with the spec passed in.
    """
    if isinstance(node, list):
        return [_marks_for_phone(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {**node, **{k: _marks_for_phone(node[k]) for k in _VIEWS_IN if k in node}}
    mark = out.get("mark")
    if isinstance(mark, dict) and mark.get("type") == "text" and isinstance(mark.get("fontSize"), (int, float)):
        out["mark"] = {**mark, "fontSize": phone_px(mark["fontSize"])}
    return out


def for_phone(spec: dict) -> dict:
    """A copy of a chart whose text is at least ``PHONE_TEXT_PX`` when the window is phone-wide (unchanged above)."""
    out = _marks_for_phone(spec)
    config = dict(out.get("config", {}))
    for part, fonts in _PHONE_CONFIG.items():
        config[part] = {**fonts, **config.get(part, {})}  # a size the chart sets itself wins
    out["config"] = config
    return out


SCROLL_HINT_PX = 28  # how far the edge of a sideways-scrolling box fades while there is more to see that way

# Our own static CSS, never built from user input. The selectors read Streamlit 1.67's DOM;
# tests/browser/test_phone_browser.py checks the result on every view at 390 and 360 px.
# The edge fade of a scroll box follows its scroll position (a scroll-driven animation of two lengths): the right
# edge fades while there is more to the right, the left edge once there is more to the left. A box that fits has
# no scroll to drive it and no fade; a browser without scroll timelines keeps the plain box. The syntax "<length>" is
# written with a CSS escape (\3c is "<"): st.html's sanitizer drops a style element whose text holds "<" and a letter.
CSS = f"""
<style>
@property --qkv-fade-start {{ syntax: "\\3c length>"; inherits: false; initial-value: 0px; }}
@property --qkv-fade-end {{ syntax: "\\3c length>"; inherits: false; initial-value: 0px; }}
@keyframes qkv-scroll-hint {{
  from {{ --qkv-fade-start: 0px; --qkv-fade-end: {SCROLL_HINT_PX}px; }}
  8% {{ --qkv-fade-start: {SCROLL_HINT_PX}px; }}
  92% {{ --qkv-fade-end: {SCROLL_HINT_PX}px; }}
  to {{ --qkv-fade-start: {SCROLL_HINT_PX}px; --qkv-fade-end: 0px; }}
}}
@media (max-width: {PHONE_MAX_WIDTH}px) {{
  [data-testid="stMain"] [data-testid="stElementContainer"]:has([data-testid="stVegaLiteChart"]),
  [data-testid="stMain"] [data-testid="stFullScreenFrame"]:has([data-testid="stVegaLiteChart"]) {{
    max-width: 100%;
  }}
  [data-testid="stMain"] [data-testid="stFullScreenFrame"] > div:has(> [data-testid="stVegaLiteChart"]),
  [data-testid="stMain"] .katex-display {{
    max-width: 100%; overflow-x: auto; overflow-y: hidden;
    --qkv-fade: linear-gradient(to right, transparent, #000 var(--qkv-fade-start),
                                #000 calc(100% - var(--qkv-fade-end)), transparent);
    -webkit-mask-image: var(--qkv-fade); mask-image: var(--qkv-fade);
    animation: qkv-scroll-hint linear both; animation-timeline: scroll(self inline);
  }}
  [data-testid="stMain"] [data-testid="stFullScreenFrame"] > div:has(> [data-testid="stVegaLiteChart"]) {{
    overscroll-behavior-x: contain;
  }}
  [data-testid="stMain"] [data-testid="stFullScreenFrame"] > div::-webkit-scrollbar {{ height: 6px; }}
  [data-testid="stMain"] [data-testid="stFullScreenFrame"] > div::-webkit-scrollbar-thumb {{
    background: rgba(128, 128, 128, 0.55); border-radius: 3px;
  }}
  [data-testid="stMain"] .katex {{ font-size: 1.3em; }}
  [data-testid="stMain"] img {{ max-width: 100%; height: auto; }}
}}
</style>
"""

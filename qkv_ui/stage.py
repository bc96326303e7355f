"""Presenter mode's stage: the tour's banner above the page, its keys, and each step's chart brought into view.

``qkv_ui.frame`` calls ``banner`` before the page runs and ``say_changes`` after it; a page marks the
block a tour step talks about with ``focus(name)`` (``qkv_ui.presenter.Step.focus``).
"""

from __future__ import annotations

import json

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from qkv_ui import presenter, urlstate
from qkv_ui.pages import PageInfo

PREV, NEXT = "presenter-prev", "presenter-next"
STAGE_KEYS = frozenset({presenter.PRESENT, presenter.QR, PREV, NEXT})  # the session state a step change keeps

# Our own static CSS, never built from user input. On a wide screen presenter mode zooms the main area by 1.25
# (CSS zoom scales text and fixed-size charts alike; Vega still maps clicks correctly). Charts and
# tables set to the column's width measure it in screen pixels, which the zoom would inflate past
# the column's edge: those get the zoom undone (they already span the column). A column holding a
# fixed-size chart is kept at least as wide as the chart: when the row has no room for both, the
# next column wraps below instead of being drawn over. (The selectors read Streamlit 1.67's DOM, e.g.
# the width attribute of element containers; tests/browser/test_presenter_browser.py checks the result.)
# Hidden, as what a presenter says aloud instead: the paragraph under each page title (the
# narration takes its place), the "?" help icons of widget labels (not buttons that carry a help
# tooltip), anything a page wraps in st.container(key="fineprint-…"), and the download buttons under
# charts. Captions stay: they carry the claims a viewer can check. Below 1100 px (a projector at
# 150 % zoom is 853 px wide) there is no zoom: the tour's banner and one chart must share 480 px,
# and charts bring their own projector-size text (``qkv_ui.export.for_projector``).
PRESENTER_CSS = """
<style>
@media (min-width: 1100px) { [data-testid="stMain"] { zoom: 1.25; } }
@media (min-width: 1100px) {
  [data-testid="stMain"] [data-testid="stElementContainer"][width="100%"]:has(> [data-testid="stFullScreenFrame"]) {
    zoom: 0.8;
  }
}
[data-testid="stMain"] [data-testid="stColumn"]:has([data-testid="stElementContainer"][width="fit-content"]
  > [data-testid="stFullScreenFrame"]) { min-width: min-content; }
[data-testid="stMainBlockContainer"] { padding: 3rem 2rem 4rem; max-width: none; }
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]
  > [data-testid="stElementContainer"]:has(h1)
  + [data-testid="stElementContainer"]:has(> [data-testid="stMarkdown"]) { display: none; }
[data-testid="stMain"] [data-testid="stTooltipIcon"]:has(button[aria-label^="Help for"]) { display: none; }
[class*="st-key-fineprint"], [class*="st-key-export-"] { display: none; }
.st-key-presenter-narration p { font-size: 1.15rem; line-height: 1.4; }
.st-key-presenter-counter p { font-size: 0.9rem; }
@media (max-width: 1099px) {  /* a projector: the step's block shares 480 px with the banner */
  [class*="st-key-focus-"] h3 { font-size: 1.25rem; padding: 0.25rem 0; }
  [class*="st-key-focus-"] [data-testid="stMetricValue"] { font-size: 1.5rem; }
  [class*="st-key-focus-"] [data-testid="stVerticalBlock"] { gap: 0.5rem; }
}
[data-testid="stLayoutWrapper"]:has(> .st-key-presenter-banner) { position: sticky; top: 3.75rem; z-index: 100; }
[data-testid="stMain"] { overflow-anchor: none; }
</style>
"""


# The stage, in presenter mode (our own script, run by st.html): keys that move the tour whatever
# has focus (Page Down / Page Up, as presentation clickers send them) or wherever no control takes
# arrows (← / →), and, each time a step opens, the step's chart scrolled in under the banner (a new
# page never opens where the last one was scrolled to). It re-aligns while charts above it render.
STAGE_JS = """
<script>
(() => {
  const w = window, doc = document, STEP = "__STEP__", FOCUS = __FOCUS__;
  const DRAWN = '.vega-embed svg, .vega-embed canvas, [data-testid="stDataFrame"] canvas, pre, '
    + '[class*="st-key-predict-"] [data-testid="stButton"]';
  const TAKES_ARROWS = 'input, textarea, select, [contenteditable="true"], [role="slider"], [role="textbox"], '
    + '[role="radio"], [role="option"], [role="tab"], [role="grid"], [role="gridcell"], canvas';
  // The run is over and no stale element is left: until then the last run's elements may still stand above
  // a block, and removing them moves it up.
  const runOver = () => doc.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    && !doc.querySelector('[data-stale="true"]');
  // On-screen px to scrollTop px: the main area may be zoomed, its scrollTop is not.
  const zoomOf = (main) => parseFloat(getComputedStyle(main).zoom) || 1;
  if (!w.__qkvStageKeys) {
    w.__qkvStageKeys = true;
    w.addEventListener('keydown', (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || !doc.querySelector('.st-key-presenter-banner')) return;
      const page = e.key === 'PageDown' || e.key === 'PageUp';
      const arrow = e.key === 'ArrowRight' || e.key === 'ArrowLeft';
      if (!page && !(arrow && !(doc.activeElement && doc.activeElement.matches(TAKES_ARROWS)))) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      const next = e.key === 'PageDown' || e.key === 'ArrowRight';
      const button = doc.querySelector(`.st-key-presenter-${next ? 'next' : 'prev'} button`);
      if (button && !button.disabled) button.click();
    }, true);
  }
  if (!w.__qkvStageReveal) {  // Reveal on a predict box: once the answer is drawn, scroll it up into view
    w.__qkvStageReveal = true;
    doc.addEventListener('click', (e) => {
      const wrap = e.target.closest('[class*="st-key-predict-"][class*="-reveal"]');
      const name = wrap && [...wrap.classList].map(c => c.match(/^st-key-(predict-.+)-reveal$/)).find(Boolean);
      if (!name || !doc.querySelector('.st-key-presenter-banner')) return;
      const started = Date.now();
      let steady = 0;
      const reveal = () => {
        const main = doc.querySelector('[data-testid="stMain"]'), box = doc.querySelector(`.st-key-${name[1]}`);
        const banner = doc.querySelector('.st-key-presenter-banner');
        const answer = box && box.querySelector('[data-testid="stAlert"]');
        if (main && banner && runOver() && answer) {
          // up until the box's end (the answer and its why) is on screen, never the answer's top under the banner
          const below = box.getBoundingClientRect().bottom - (innerHeight - 8);
          const room = answer.getBoundingClientRect().top - banner.getBoundingClientRect().bottom - 8;
          const by = Math.max(0, Math.min(below, room));
          main.scrollTop += by / zoomOf(main);
          steady = by < 1 ? steady + 1 : 0;
        }
        if (steady < 3 && Date.now() - started < 30000) setTimeout(reveal, 100);
      };
      reveal();
    }, true);
  }
  if (w.__qkvStageStep === STEP) return;  // a rerun of the same step: the presenter's scroll stays
  w.__qkvStageStep = STEP;
  const started = Date.now();
  let steady = 0, lastTop = null;
  const place = () => {
    if (w.__qkvStageStep !== STEP) return;
    const main = doc.querySelector('[data-testid="stMain"]');
    const banner = doc.querySelector('.st-key-presenter-banner');
    const target = FOCUS ? doc.querySelector(FOCUS) : null;
    if (main && banner) {
      banner.style.backgroundColor = getComputedStyle(doc.querySelector('[data-testid="stApp"]')).backgroundColor;
      if (target) {  // the gap is measured on screen
        const gap = target.getBoundingClientRect().top - banner.getBoundingClientRect().bottom - 8;
        main.scrollTop += gap / zoomOf(main);
      } else {
        main.scrollTop = 0;
      }
      const drawn = !FOCUS || (target && target.querySelector(DRAWN));  // a chart or table has rendered in it
      steady = drawn && runOver() && lastTop !== null && Math.abs(main.scrollTop - lastTop) < 1 ? steady + 1 : 0;
      lastTop = main.scrollTop;
    }
    if (steady < 5 && Date.now() - started < 60000) setTimeout(place, 120);  // a cold server may take a while
  };
  place();
})();
</script>
"""


def focus(name: str) -> DeltaGenerator:
    """The block a tour step shows (``presenter.Step.focus``): in presenter mode it is scrolled in under the banner."""
    return st.container(key=f"{presenter.FOCUS_PREFIX}{name}")


def banner(info: PageInfo, pages: dict[PageInfo, st.Page]) -> tuple[presenter.Step, DeltaGenerator]:
    """Narration, counter and Previous / Next for the tour step on this page; a click moves to that step.

    Returns the step and an empty slot in the banner for ``say_changes``.
    """
    st.html(PRESENTER_CSS)
    urlstate.show_notices()
    index, problem = presenter.resolve_step(st.query_params.get(presenter.STEP), info, view_params())
    if problem:
        urlstate.warn_refused(presenter.STEP, problem, f"step {index + 1}")
    st.query_params[presenter.PRESENT] = "1"
    st.query_params[presenter.STEP] = str(index + 1)
    step, last = presenter.STEPS[index], len(presenter.STEPS) - 1
    with st.container(border=True, key="presenter-banner"):  # one row: ← | counter, narration | →
        with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
            back = st.button("Previous", key=PREV, icon=":material/arrow_back:", disabled=index == 0,
                             help="Keys: ← or Page Up")
            with st.container(gap="small"):
                with st.container(key="presenter-counter", horizontal=True, gap="small"):
                    st.markdown(f"**Step {presenter.counter(index)}** · {info.title}", width="content")
                    changed = st.empty()
                with st.container(key="presenter-narration"):
                    st.markdown(step.narration)  # our own fixed text
            forward = st.button("Next", key=NEXT, icon=":material/arrow_forward:", icon_position="right",
                                disabled=index == last, help="Keys: → or Page Down")
    # Our own script and data (step number, a container key): never user input.
    st.html(STAGE_JS.replace("__STEP__", str(index + 1)).replace("__FOCUS__", json.dumps(
        f".st-key-{presenter.FOCUS_PREFIX}{step.focus}" if step.focus else "")), unsafe_allow_javascript=True)
    if back or forward:
        _go_to(index - 1 if back else index + 1, pages)
    return step, changed


def say_changes(step: presenter.Step, slot: DeltaGenerator) -> None:
    """When the view no longer is the step's (the presenter moved a control), say which controls changed."""
    changed = presenter.changed_controls(step, view_params())
    if changed:
        slot.caption("· changed since this step's view: " + ", ".join(changed))


def _go_to(index: int, pages: dict[PageInfo, st.Page]) -> None:
    """Open tour step ``index``: a fresh view whose controls come from the step's URL alone."""
    for key in list(st.session_state):
        if key not in STAGE_KEYS and not key.startswith("_"):
            del st.session_state[key]  # else urlstate.seed would keep the values from the last visit
    st.switch_page(pages[presenter.STEPS[index].page], query_params=presenter.step_query(index))


def view_params() -> dict[str, str]:
    """The current URL parameters that describe the view (the presenter's own flags left out)."""
    return {k: v for k, v in st.query_params.to_dict().items() if k not in presenter.OWN_FLAGS}

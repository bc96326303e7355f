"""Helpers for driving a Streamlit page in Playwright: every read waits for the state it checks.

A Streamlit page changes in two steps: the browser sends the server a "rerun" message, the script
runs and streams the new page back. On a busy machine the run may start long after the action that
asked for it, so "the app says it is idle" proves nothing by itself. Every page made here carries a
tap on its websocket (``RUN_TAP``) that counts the rerun requests the page sends and the script runs
the server reports finished, so ``rerun()`` can wait for exactly the run an action caused, with no
guess about when it starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import Browser, Locator, Page, expect

TIMEOUT = 30_000  # ms: any state a test waits for (CI shares two cores with a server, a browser and the model)
SLOW_TIMEOUT = 90_000  # ms: a first run on a freshly started server (it loads the model), a 512-token text
REQUEST_WAIT = 2_000  # ms a submitted text box has to send its rerun request before we take it that none comes
QUIET = 250  # ms a page must stay idle (no rerun pending; charts not moving) before it counts as settled

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHARTS = '[data-testid="stVegaLiteChart"]'

# Field numbers from streamlit/proto (BackMsg.rerun_script = 11, ForwardMsg.script_finished = 6, and
# ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN = 2: a run cut short by a newer request, not the end).
# Only top-level fields are read; one protobuf message travels per websocket frame.
RUN_TAP = """
(() => {
  const fields = (bytes) => {  // top-level [field number, wire type, varint value] of a protobuf message
    const out = [];
    let i = 0;
    const varint = () => { let v = 0, shift = 0, b;
                           do { b = bytes[i++]; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
                           return v; };
    while (i < bytes.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag % 8;
      if (wire === 0) out.push([field, wire, varint()]);
      else if (wire === 2) { const n = varint(); out.push([field, wire, null]); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;  // groups: not used by Streamlit
    }
    return out;
  };
  // fields is shared: benchmarks/interaction.py's timer reads script_finished with it too
  const runs = window.__qkvRuns = {requested: 0, finished: 0, pending: false, quietSince: null, fields};
  const Native = window.WebSocket;
  class Tapped extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (!(e.data instanceof ArrayBuffer)) return;
        for (const [field, wire, value] of fields(new Uint8Array(e.data)))
          if (field === 6 && wire === 0 && value !== 2) { runs.finished += 1; runs.pending = false; }
      });
    }
    send(data) {
      try {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
                      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        if (fields(bytes).some(([field, wire]) => field === 11 && wire === 2)) {
          runs.requested += 1;
          runs.pending = true;
        }
      } catch (err) { /* not a protobuf we know: not a rerun */ }
      return super.send(data);
    }
  }
  window.WebSocket = Tapped;
})();
"""

# True once `requested` exceeds the given count, no requested run is still pending, the app shows it is
# idle, and all of that has held for QUIET ms (a run can ask for another as it ends, e.g. st.rerun).
_SETTLED = """([atLeast, quiet]) => {
  const runs = window.__qkvRuns;
  if (!runs) throw new Error('this page has no run tap: make it with helpers.new_page()');
  const idle = runs.requested >= atLeast && !runs.pending && document.querySelector('%s') !== null;
  if (!idle) { runs.quietSince = null; return false; }
  runs.quietSince ??= performance.now();
  return performance.now() - runs.quietSince >= quiet;
}""" % IDLE


def new_page(browser: Browser, **context_options) -> Page:
    """A page in a fresh browser context, with the run tap and a record of page errors and dialogs.

    Close it with ``page.context.close()``. ``page.errors`` collects uncaught errors and dialogs (dismissed).
    """
    context = browser.new_context(**context_options)
    context.add_init_script(RUN_TAP)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: (page.errors.append(f"dialog: {d.message}"), d.dismiss()))
    return page


def _requested(page: Page) -> int:
    count = page.evaluate("() => window.__qkvRuns && window.__qkvRuns.requested")
    assert count is not None, "this page has no run tap: make it with helpers.new_page()"
    return count


def settle(page: Page, at_least: int = 0, timeout: float = TIMEOUT) -> None:
    """Wait until every run this page asked for (at least ``at_least`` of them) has finished and stayed over.

    A timeout says which part never came: the request, the run's end, or the idle app.
    """
    try:
        page.wait_for_function(_SETTLED, arg=[at_least, QUIET], timeout=timeout, polling=50)
    except PlaywrightTimeoutError as err:
        state = page.evaluate(_RUN_STATE)
        raise AssertionError(f"the page did not settle in {timeout / 1000:g} s (waiting for {at_least} run "
                             f"requests): {state}") from err


_RUN_STATE = """() => {
  const runs = window.__qkvRuns || {};
  const app = document.querySelector('[data-testid="stApp"]');
  return `${runs.requested} requested, ${runs.finished} finished, a run pending: ${runs.pending}, ` +
         `script state: ${app && app.getAttribute('data-test-script-state')}, ` +
         `focus on: ${document.activeElement && document.activeElement.outerHTML.slice(0, 120)}`;
}"""


@contextmanager
def rerun(page: Page, timeout: float = TIMEOUT) -> Iterator[None]:
    """Wait for the script run that the action inside the block asks for, then for the page to settle.

        with rerun(page):
            slider.press("Home")

    Fails (after ``timeout``) if the action sends no rerun request: use it only for actions that must.
    """
    settle(page, timeout=timeout)  # nothing in flight: the next request is the action's
    before = _requested(page)
    yield
    settle(page, at_least=before + 1, timeout=timeout)


def submit(page: Page, box: Locator, text: str, key: str = "Enter") -> None:
    """Replace the text in ``box``, submit it with ``key`` and wait for the run it starts, if it starts one.

    Streamlit asks for a run only when the text differs from what the widget last sent, which the box's
    shown value does not always tell (it may still be hydrating): so wait for a request rather than
    predict one, and when none comes the page keeps the state the caller's ``expect`` then checks.
    """
    settle(page)  # nothing in flight: the next request is this one's
    before = _requested(page)
    box.fill(text)
    box.press(key)
    try:
        page.wait_for_function("(n) => window.__qkvRuns.requested > n", arg=before, timeout=REQUEST_WAIT, polling=25)
    except PlaywrightTimeoutError:
        return  # no request: the text was the one the widget already held
    settle(page, at_least=before + 1)


def open_view(page: Page, url: str, heading: str, timeout: float = SLOW_TIMEOUT) -> None:
    """Open a URL, wait for the heading, the end of the first run and every chart drawn; assert no exception."""
    page.goto(url)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=timeout)
    settle(page, at_least=1, timeout=timeout)
    charts_still(page, timeout)
    assert_no_exception(page)


# True once every chart on the page has drawn its marks (Vega draws after the run, asynchronously) and
# no chart has moved or changed size for QUIET ms and at least 3 frames (charts sized to their column
# are drawn, then resized).
_CHARTS_STILL = """([selector, quiet]) => {
  const charts = [...document.querySelectorAll(selector)];
  const marks = charts.map(c => c.querySelector('svg.marks, canvas.marks'));
  const state = window.__qkvStill;
  const shape = marks.every(m => m) ? JSON.stringify(marks.map(m => {
    const r = m.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })) : null;
  if (shape === null || shape !== state.shape) {
    Object.assign(state, {shape, since: performance.now(), frames: 0});
    return false;
  }
  state.frames += 1;
  return state.frames >= 3 && performance.now() - state.since >= quiet;
}"""


def charts_still(page: Page, timeout: float = TIMEOUT) -> None:
    """Wait until every chart on the page is drawn and has stopped moving (none at all is fine)."""
    page.evaluate("() => { window.__qkvStill = {shape: undefined, since: 0, frames: 0}; }")
    page.wait_for_function(_CHARTS_STILL, arg=[CHARTS, QUIET], timeout=timeout, polling="raf")


# True once the element has kept its place and size for QUIET ms and at least 3 frames.
_BOX_STILL = """([el, quiet]) => {
  const r = el.getBoundingClientRect(), shape = [r.x, r.y, r.width, r.height].join();
  const state = el.__qkvStill;
  if (!state || state.shape !== shape) { el.__qkvStill = {shape, since: performance.now(), frames: 0}; return false; }
  state.frames += 1;
  return state.frames >= 3 && performance.now() - state.since >= quiet;
}"""


def box_still(locator: Locator, timeout: float = TIMEOUT) -> dict:
    """Wait until the element stops moving (an expander opening, a chart resizing); return its bounding box."""
    handle = locator.element_handle(timeout=timeout)
    handle.evaluate("el => { delete el.__qkvStill; }")
    locator.page.wait_for_function(_BOX_STILL, arg=[handle, QUIET], timeout=timeout, polling="raf")
    return handle.bounding_box()


# Resolves once every <img> has loaded or failed, web fonts are ready, two frames were painted and the
# browser found an idle moment: by then an image's onerror/onload handler, had one been injected, has run.
_BROWSER_IDLE = """async () => {
  await document.fonts.ready;
  await Promise.all([...document.images].filter(i => !i.complete && i.loading !== 'lazy').map(i => new Promise(done => {
    i.addEventListener('load', done, {once: true}); i.addEventListener('error', done, {once: true}); })));
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  await new Promise(done => requestIdleCallback(done, {timeout: 2000}));
}"""


def painted(page: Page) -> None:
    """Wait until the browser has painted two frames: what a keystroke changed is on screen, as for a person."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def browser_idle(page: Page) -> None:
    """Let the browser finish what the page started (image loads and their handlers, fonts, painting).

    Before a check that something did *not* happen (no dialog, no handler ran, no blocked request).
    """
    page.evaluate(_BROWSER_IDLE)


def assert_no_exception(page: Page) -> None:
    """No Streamlit exception box and no uncaught page error or dialog (call it once the page has settled)."""
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert getattr(page, "errors", []) == []


def eventually(check: Callable[[], None], timeout: float = TIMEOUT, interval: float = 0.1) -> None:
    """Run ``check`` (a function that asserts) until it passes; after ``timeout`` ms, raise its last failure.

    For conditions no ``expect`` covers (a screenshot that must change, a URL's parameters as a dict).
    Only for states the page reaches and then keeps: a negative check ("no X") passes too early here.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def expect_redrawn(chart: Locator, before: bytes, timeout: float = TIMEOUT) -> None:
    """Wait until a screenshot of ``chart`` differs from ``before`` (taken of it earlier); fail if it never does."""
    def differs() -> None:
        assert chart.screenshot() != before, "the chart looks exactly as before: not redrawn"
    eventually(differs, timeout)


# Every chart and table that pokes out of the column (or page block) holding it: [its label, by how many px].
SPILLS = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] .vega-embed > svg, [data-testid="stMain"] .vega-embed > canvas, '
    + '[data-testid="stMain"] [data-testid="stDataFrame"]')]
  .map(el => [el.closest('.vega-embed')?.getAttribute('aria-label') || el.getAttribute('aria-label') || 'a table',
              el.getBoundingClientRect().right
              - el.closest('[data-testid="stColumn"], [data-testid="stVerticalBlock"]').getBoundingClientRect().right])
  .filter(([_, px]) => px > 1)"""


def run_coroutine(coroutine):
    """Run a coroutine to its end in a thread of its own: sync Playwright holds the test thread's event loop
    while a browser fixture lives, and asyncio.run refuses to start a second loop there."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

"""One visitor, real Chromium: each control of the app against Streamlit's own floor, in the same run.

``python -m benchmarks interaction`` (part of ``make bench``; ``python -m benchmarks.interaction
--rounds 9 --profile`` prints where the time goes). Two servers run side by side: the app and
``benchmarks/floor_app.py`` (one slider, one 200-point Altair line: the least a rerun with a chart
costs). One Chromium holds four tabs: the floor, /smoothing, /lookup and /attention (map view).

Each round times, in turn: the floor's slider, σ on /smoothing, the floor, the head slider on
/attention, the floor, temperature on /lookup, the floor, a token click, the floor, a head click in the
overview, the floor, new text on /attention (Ctrl+Enter). Floor and app alternate, so the machine's
noise hits both alike; each ratio divides an interaction's median by the median of the floor
measurements taken next to it.

A second reference, Streamlit's own price for what the control changes: each interaction is also
followed by the floor page drawn with as many charts as that interaction redraws (``floor_app.py
?charts=k``; k is counted in the warm-up round: the charts whose drawn marks changed), so
``interaction_<name>_vs_charts_floor_ratio`` tells how much longer the app takes than Streamlit itself
needs to redraw that many charts.

What one measurement is, all on the page's own clock (``performance.now()``):

    key press or click (the event's timeStamp)
      -> the rerun request leaves on the websocket       (input_to_request: the frontend)
      -> the server's script_finished arrives            (request_to_finished: the server, and the deltas)
      -> two animation frames have been painted          (finished_to_painted: React and Vega)

Figures: ``floor_ms``, ``interaction_<name>_ms`` and ``interaction_<name>_vs_floor_ratio`` for
sigma, head, temperature, token, headclick and text (medians of ``--rounds``, at least 7); per
interaction also ``interaction_<name>_charts`` (k, the charts it redraws), ``floor_<k>charts_ms`` and
``interaction_<name>_vs_charts_floor_ratio``.
With ``--profile``, per interaction: those three shares, Chromium's own CPU counters (CDP
``Performance.getMetrics`` deltas: script, layout, style recalculation, all tasks), how many
Vega views were embedded anew (a chart whose spec changed is torn down and built again; one whose
data alone changed is updated in place) and how many messages the rerun sent (one per element or
block redrawn: what a live part, ``qkv_ui.live``, cuts).

Honest limits: browser and servers share the machine (2 cores here, often busy with other work):
rely on the same-run ratios, not the absolute milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.helpers import CHARTS, SLOW_TIMEOUT, charts_still, new_page, open_view, settle
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer

from .load import BROWSER_ARGS  # four tabs, each timed while in front: no throttling of the others' timers

ROUNDS = 9
VIEWPORT = {"width": 1280, "height": 1000}
NAMES = ("sigma", "head", "temperature", "token", "headclick", "text")
WORDS = ("tired", "wide", "busy", "slow", "late", "small", "wet", "old", "cold", "loud", "sad", "calm", "shy")

# Timestamps of one interaction on the page's clock, next to the run tap (helpers.RUN_TAP), whose request
# counter it reads after each send (either socket class may wrap the other: init scripts keep no order).
# script_finished is ForwardMsg field 6; status 2 is a run cut short by a newer request, not an end.
TIMER = """
(() => {
  const m = window.__qkvTime = {armed: false};
  for (const type of ['keydown', 'pointerdown'])
    window.addEventListener(type, (e) => { if (m.armed && m.input == null) m.input = e.timeStamp; }, true);
  new MutationObserver((records) => {
    if (!m.armed) return;
    for (const r of records)
      for (const node of r.addedNodes)
        if (node.nodeType === 1 && (node.matches('svg.marks, canvas.marks') || node.querySelector('svg.marks, canvas.marks')))
          m.embeds += 1;  // a Vega view drawn from scratch (an update in place keeps its marks element)
  }).observe(document, {childList: true, subtree: true});
  // does this ForwardMsg carry script_finished (field 6), and not "cut short by a newer run" (2)?
  const finishedRun = (bytes) =>
    window.__qkvRuns.fields(bytes).some(([field, wire, value]) => field === 6 && wire === 0 && value !== 2);
  const Base = window.WebSocket;
  window.WebSocket = class Timed extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (!m.armed || m.request == null || m.finished != null || !(e.data instanceof ArrayBuffer)) return;
        m.messages += 1;  // deltas and all: how much of the page the rerun sends
        if (!finishedRun(new Uint8Array(e.data))) return;
        m.finished = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => { m.painted = performance.now(); }));
      });
    }
    send(data) {
      const out = super.send(data);
      if (m.armed && m.request == null && window.__qkvRuns.requested > m.requestedBefore) m.request = performance.now();
      return out;
    }
  };
})();
"""
ARM = """() => Object.assign(window.__qkvTime, {armed: true, input: null, request: null, finished: null, painted: null,
                                            embeds: 0, messages: 0, requestedBefore: window.__qkvRuns.requested})"""
DISARM = "() => { window.__qkvTime.armed = false; return {...window.__qkvTime}; }"
CDP_METRICS = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration")
# Each chart's drawn marks (SVG) as text, kept before an interaction and compared after it: how many charts the
# interaction redrew. Only in the warm-up round: the strings are garbage the timed rounds should not collect.
# A canvas keeps no marks as text; none of these pages draws one.
MARKS = f"""() => [...document.querySelectorAll('{CHARTS}')].map(c => c.querySelector('svg.marks')?.innerHTML ?? '')"""


@dataclass
class Sample:
    """One timed interaction: its total and its shares (ms), Chromium's CPU counters (ms), Vega views embedded."""

    total: float
    input_to_request: float
    request_to_finished: float
    finished_to_painted: float
    cpu: dict[str, float]
    embeds: int
    messages: int
    charts: int | None  # charts whose drawn marks changed, when counted


class Tab:
    """A page of one server, with the run tap, the timer and a CDP session for Chromium's counters."""

    def __init__(self, browser, url: str, heading: str | None):
        self.page: Page = new_page(browser, viewport=VIEWPORT)
        self.page.context.add_init_script(TIMER)
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")
        if heading:
            open_view(self.page, url, heading)
        else:
            self.page.goto(url)
            settle(self.page, at_least=1, timeout=SLOW_TIMEOUT)
            charts_still(self.page)

    def _cpu(self) -> dict[str, float]:
        metrics = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        return {name: metrics.get(name, 0.0) * 1000 for name in CDP_METRICS}  # s -> ms

    def time(self, action: Callable[[Page], None], count_charts: bool = False) -> Sample:
        """Run ``action`` on a quiet page; time it up to two frames after its run finished, then let it settle.

        ``count_charts``: also count the charts it redrew (``Sample.charts``; None otherwise).
        """
        self.page.bring_to_front()  # the visitor's tab is the one in front
        settle(self.page)
        charts_still(self.page)
        marks_before = self.page.evaluate(MARKS) if count_charts else None
        cpu_before = self._cpu()
        self.page.evaluate(ARM)
        action(self.page)
        try:
            self.page.wait_for_function("() => window.__qkvTime.painted != null", timeout=20_000, polling=50)
        except PlaywrightTimeoutError:
            raise RuntimeError(f"{self.page.url} {getattr(action, '__qualname__', action)}: no run finished and painted: {self.page.evaluate(DISARM)}") from None
        settle(self.page)
        charts_still(self.page)
        m = self.page.evaluate(DISARM)
        cpu_after = self._cpu()
        redrawn = None
        if count_charts:
            marks_after = self.page.evaluate(MARKS)
            redrawn = sum(a != b for a, b in zip(marks_before, marks_after)) + abs(len(marks_after) - len(marks_before))
        if m["input"] is None or m["request"] is None:
            raise RuntimeError(f"no input event or no rerun request recorded: {m}")
        return Sample(m["painted"] - m["input"], m["request"] - m["input"], m["finished"] - m["request"],
                      m["painted"] - m["finished"], {k: cpu_after[k] - cpu_before[k] for k in CDP_METRICS},
                      m["embeds"], m["messages"], redrawn)

    def close(self) -> None:
        self.page.context.close()


def _slider_step(name: str) -> Callable[[Page], None]:
    """Press an arrow key on a slider, right and left in turn (never past either end): it moves every time."""
    presses = iter(range(10**9))
    def step(page: Page) -> None:
        slider = page.get_by_role("slider", name=name)
        slider.focus()
        value, low, high = slider.input_value(), slider.get_attribute("min"), slider.get_attribute("max")
        right = value == low or (value != high and next(presses) % 2 == 0)
        slider.press("ArrowRight" if right else "ArrowLeft")
    return step


def _token_click(k: int) -> Callable[[Page], None]:
    """Click the query-token pill of another token than last time."""
    def click(page: Page) -> None:
        page.get_by_role("radiogroup", name="Query token").get_by_role("radio").nth(2 + k % 2).click()
    return click


def _head_click(k: int) -> Callable[[Page], None]:
    """Click a head in the overview (each head's map is an image labelled with its 1-based layer and head)."""
    layer, head = ((3, 7), (5, 1))[k % 2]
    def click(page: Page) -> None:
        page.locator(f'g.mark-image image[aria-label*="layer: {layer}; head: {head};"]').first.click()
    return click


def _new_text(k: int) -> Callable[[Page], None]:
    """Type a text the server has not traced yet and submit it with Ctrl+Enter (only the key press is timed)."""
    def submit(page: Page) -> None:
        box = page.get_by_role("textbox", name="Your text")
        page.evaluate("() => { window.__qkvTime.armed = false; }")  # typing is not timed
        box.fill(f"The animal didn't cross the street because it was too {WORDS[k % len(WORDS)]} {k}.")
        page.evaluate("() => { window.__qkvTime.armed = true; }")
        box.press("Control+Enter")
    return submit


class Round(NamedTuple):
    """One interaction timed once, between the floor (one chart) and the floor with as many charts as it redraws."""

    floor: Sample
    app: Sample
    charts_floor: Sample
    charts: int  # k: the charts the interaction redrew in the warm-up round, and the charts_floor page draws


def measure(rounds: int = ROUNDS) -> dict[str, list[Round]]:
    """Per interaction, ``rounds`` of (floor, interaction, floor with k charts) taken one after the other."""
    out: dict[str, list[Round]] = {name: [] for name in NAMES}
    with StreamlitServer() as app, StreamlitServer(script="benchmarks/floor_app.py") as floor_srv, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + BROWSER_ARGS, headless=True)
        floors = {1: Tab(browser, floor_srv.url, None)}  # the floor page by its number of charts, opened when needed
        smoothing = Tab(browser, f"{app.url}/smoothing", "Context matters")
        lookup = Tab(browser, f"{app.url}/lookup", "Search, softly")
        attention = Tab(browser, f"{app.url}/attention", "Attention on your text")
        floor_step = _slider_step("Frequency")
        redraws: dict[str, int] = {}  # charts each interaction redraws, as counted in the warm-up round
        for k in range(-1, rounds):  # round -1 warms every path up (first chart embeds, imports, caches)
            plan = {
                "sigma": (smoothing, _slider_step("σ, bandwidth (time steps)")),
                "head": (attention, _slider_step("Head")),
                "temperature": (lookup, _slider_step("Temperature T")),
                "token": (attention, _token_click(k)),
                "headclick": (attention, _head_click(k)),
                "text": (attention, _new_text(k)),
            }
            for name, (tab, action) in plan.items():
                floor, sample = floors[1].time(floor_step), tab.time(action, count_charts=k < 0)
                if k < 0:
                    redraws[name] = charts = min(8, max(1, sample.charts))  # the floor page draws 1 to 8
                    if charts not in floors:
                        floors[charts] = Tab(browser, f"{floor_srv.url}/?charts={charts}", None)
                        floors[charts].time(floor_step)  # its warm-up move
                    continue
                charts = redraws[name]
                out[name].append(Round(floor, sample, floors[charts].time(floor_step), charts))
        for tab in (*floors.values(), smoothing, lookup, attention):
            tab.close()
        browser.close()
    return out


def figures(samples: dict[str, list[Round]]) -> dict[str, float]:
    """floor_ms, and per interaction its median, its ratio to the floor measured beside it, the charts it
    redraws and its ratio to the floor page with that many charts."""
    median = lambda xs: statistics.median(s.total for s in xs)  # noqa: E731
    out = {"floor_ms": median(r.floor for rs in samples.values() for r in rs)}
    for name, rs in samples.items():
        ms = median(r.app for r in rs)
        out[f"interaction_{name}_ms"] = ms
        out[f"interaction_{name}_vs_floor_ratio"] = ms / median(r.floor for r in rs)
        out[f"interaction_{name}_charts"] = rs[0].charts
        out[f"interaction_{name}_vs_charts_floor_ratio"] = ms / median(r.charts_floor for r in rs)
    for k, floors in _charts_floors(samples).items():
        out[f"floor_{k}charts_ms"] = median(floors)
    return out


def _charts_floors(samples: dict[str, list[Round]]) -> dict[int, list[Sample]]:
    """The k-chart floor measurements of every interaction, by k (ascending)."""
    by_k: dict[int, list[Sample]] = {}
    for rs in samples.values():
        for r in rs:
            by_k.setdefault(r.charts, []).append(r.charts_floor)
    return dict(sorted(by_k.items()))


def profile_table(samples: dict[str, list[Round]]) -> str:
    """Where the time goes, per interaction (medians): the three shares, Chromium's CPU, Vega views embedded
    and messages; then the floor page with as many charts as the interactions redraw."""
    rows = [("floor", [r.floor for rs in samples.values() for r in rs])]
    rows += [(name, [r.app for r in rs]) for name, rs in samples.items()]
    rows += [(f"floor, {k} ch", floors) for k, floors in _charts_floors(samples).items()]
    head = (f"{'':12s}{'total':>8s}{'in→req':>8s}{'req→fin':>8s}{'fin→2fr':>8s}"
            f"{'script':>8s}{'layout':>8s}{'style':>8s}{'tasks':>8s}{'embeds':>8s}{'msgs':>6s}")
    lines = [head]
    for name, rows_of in rows:
        med = lambda f: statistics.median(f(s) for s in rows_of)  # noqa: E731
        lines.append(f"{name:12s}{med(lambda s: s.total):8.0f}{med(lambda s: s.input_to_request):8.0f}"
                     f"{med(lambda s: s.request_to_finished):8.0f}{med(lambda s: s.finished_to_painted):8.0f}"
                     + "".join(f"{med(lambda s, k=k: s.cpu[k]):8.0f}" for k in CDP_METRICS)
                     + f"{med(lambda s: s.embeds):8.0f}{med(lambda s: s.messages):6.0f}")
    return "\n".join(lines)


def run(rounds: int = ROUNDS) -> dict[str, float]:
    """All interaction figures (medians of ``rounds`` alternating floor / app / k-chart floor measurements)."""
    return figures(measure(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--profile", action="store_true", help="print where the time goes per interaction")
    args = parser.parse_args()
    if args.rounds < 7:
        parser.error("at least 7 rounds: the figures are medians")
    samples = measure(args.rounds)
    for key, value in figures(samples).items():
        print(f"{key:40s} {value:10.3f}")
    if args.profile:
        print(profile_table(samples))


if __name__ == "__main__":
    main()

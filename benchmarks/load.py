"""Concurrent visitors: N browser sessions against one server, each with its own text, for a fixed time.

``make load`` (or ``python -m benchmarks load``; ``python -m benchmarks.load --sessions 20
--duration 30`` for other sizes). One Chromium, one Playwright context per visitor (its own
cookies and websocket: a separate Streamlit session), one ``streamlit run`` server. Visitors
arrive over 10 s (their first page loads are reported apart, load_arrive_p95_ms); the measured
60 s start once all are in. Every visitor owns a marker word (a single word piece, e.g.
"violin") and loops, reading for 4-10 s between actions, through:

1. type a sentence with its marker into /attention's text box (its token strip must show
   the marker),
2. move the Head slider one step (keyboard),
3. click a head in the overview grid,
4. open /lookup from the sidebar and search for "<marker> tricks" (the dict's KeyError must
   quote it),
5. go back to /attention from the sidebar.

Latency of an action (load_p50_ms, load_p95_ms): from the key press or click until its result
is on screen and the run has finished. The server's share (load_server_p50_ms, _p95_ms): from the
rerun request leaving the browser to the server's script_finished message arriving, read off
the websocket. After every action the visitor reads its whole page (main area, inputs, URL):
any other visitor's marker there is a leak. Errors: page errors, dialogs, exception boxes,
requests to other hosts, results that never came (20 s timeout; its own marker missing is
one). The server's RSS is sampled every half second.

Honest limits: the visitors' browsers run on the same machine as the server. On 2 cores they
use several times the server's CPU (load_browser_cpu_pct vs load_server_cpu_pct, in % of one
core), so the end-to-end figures are pessimistic for real visitors, who bring their own CPUs,
and any other work on the machine skews them further: measure on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.browser.helpers import IDLE
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer

from .common import ROOT, Window, cpu_s, rss_mb

SESSIONS = 10
DURATION_S = 60.0
THINK_S = (4.0, 10.0)  # pause between a visitor's actions (reading the page), uniform
START_S = 10.0  # visitors arrive spread over the first seconds, not in one instant
TIMEOUT_MS = 20_000
ARRIVE_MS = 60_000  # a page load while the other visitors' pages load too
POLL_MS = 50  # checks in the page every 50 ms (Playwright's default, every animation frame, costs CPU x 10 tabs)
# Single word pieces of the model's vocabulary that no page shows by default.
MARKERS = ("violin", "volcano", "pyramid", "lantern", "cactus", "compass", "harbor", "meadow", "penguin", "trumpet",
           "glacier", "canyon", "dolphin", "falcon", "hammer", "island", "jungle", "kettle", "lemon", "magnet",
           "needle", "orchid", "parrot", "rabbit", "saddle", "tiger", "umbrella", "vulture", "wizard", "yacht",
           "zebra", "anchor", "barrel", "candle", "dragon", "engine", "feather", "pumpkin", "cherry", "tractor")
ATTENTION, LOOKUP = "Attention on your text", "Search, softly"
# Every visitor's tab counts as in front (one person per tab): no throttling of background tabs' timers.
BROWSER_ARGS = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows"]
READ_PAGE = """() => [document.querySelector('[data-testid="stMain"]')?.innerText || '',
                      ...[...document.querySelectorAll('textarea, input')].map(e => e.value), location.href].join('\\n')"""


@dataclass
class Tally:
    """What every visitor saw, collected in one place."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    server_ms: list[float] = field(default_factory=list)  # rerun request sent -> script_finished received
    arrivals_ms: list[float] = field(default_factory=list)  # first page load of each visitor
    measuring: bool = False  # server times count only once every visitor has arrived
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    missed_clicks: int = 0

    def took(self, kind: str, ms: float) -> None:
        self.latencies.setdefault(kind, []).append(ms)


class Visitor:
    """One browser session driving the app like a person in the audience."""

    def __init__(self, index: int, marker: str, others: tuple[str, ...], base: str, tally: Tally):
        self.index, self.marker, self.others, self.base, self.tally = index, marker, others, base, tally
        self.rng = random.Random(index)
        self.words = re.compile(r"\b(" + "|".join(others) + r")\b", re.IGNORECASE) if others else None

    def error(self, message: str) -> None:
        self.tally.errors.append(f"visitor {self.index} ({self.marker}): {message}")

    async def run(self, browser, window: Window) -> None:
        context = await browser.new_context(viewport={"width": 1280, "height": 1000})
        page = await context.new_page()
        host = urlparse(self.base).netloc
        page.on("pageerror", lambda e: self.error(f"page error: {e}"))
        page.on("dialog", lambda d: (self.error(f"dialog: {d.message}"), asyncio.ensure_future(d.dismiss())))
        page.on("request", lambda r: None if urlparse(r.url).scheme in ("data", "blob") or
                urlparse(r.url).netloc == host else self.error(f"request to {r.url}"))
        page.on("websocket", self._watch)
        self.page, self.rerun_sent = page, None
        try:
            await page.wait_for_timeout(self.rng.uniform(0, START_S) * 1000)
            started = time.perf_counter()
            try:
                await self.arrive()
                self.tally.arrivals_ms.append((time.perf_counter() - started) * 1000)
            finally:
                window.arrived()
                await window.opened.wait()
            loop = 0
            while time.monotonic() < window.deadline:
                loop += 1
                for action in (self.type_text, self.move_slider, self.click_head, self.search, self.back):
                    if time.monotonic() >= window.deadline:
                        break
                    await page.wait_for_timeout(self.rng.uniform(*THINK_S) * 1000)
                    try:
                        await action(loop)
                    except Exception as exc:  # a timeout or a failed check: count it and carry on
                        self.error(f"{action.__name__}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
                        await self.arrive()
                    await self.check_page()
        finally:
            await context.close()

    # ---- helpers

    async def arrive(self) -> None:
        """Open /attention (again, after a failed action): a page load, not an interaction."""
        for attempt in range(2):
            try:
                await self.page.goto(f"{self.base}/attention", timeout=ARRIVE_MS)
                await self.page.get_by_role("heading", name=ATTENTION).first.wait_for(timeout=ARRIVE_MS)
                await self.page.wait_for_selector(IDLE, timeout=ARRIVE_MS)
                return
            except Exception as exc:  # noqa: BLE001 - counted, then one more try
                self.error(f"arrive: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        raise RuntimeError(f"visitor {self.index} could not open /attention")

    def _watch(self, ws) -> None:
        """Time each rerun on the wire: the rerun request out, the server's script_finished back."""
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if _message_type(payload, BackMsg) == "rerun_script":
            self.rerun_sent = time.perf_counter()

    def _received(self, payload) -> None:
        if self.rerun_sent is not None and _message_type(payload, ForwardMsg) == "script_finished":
            if self.tally.measuring:
                self.tally.server_ms.append((time.perf_counter() - self.rerun_sent) * 1000)
            self.rerun_sent = None

    async def heading(self, name: str) -> None:
        await self.page.get_by_role("heading", name=name).first.wait_for(timeout=TIMEOUT_MS)

    async def idle(self) -> None:
        await self.page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)

    async def timed(self, kind: str, act, done) -> None:
        """Run ``act``, wait for ``done`` and the end of the run, record the time in between."""
        start = time.perf_counter()
        await act()
        await done()
        await self.idle()
        self.tally.took(kind, (time.perf_counter() - start) * 1000)

    async def check_page(self) -> None:
        """Nothing of another visitor anywhere on this visitor's page; no exception box."""
        text = await self.page.evaluate(READ_PAGE)
        if self.words and (found := set(self.words.findall(text))):
            self.tally.leaks.append(f"visitor {self.index} ({self.marker}) saw {sorted(found)}")
        if await self.page.locator('[data-testid="stException"]').count():
            self.error("exception box on the page")

    # ---- the actions

    async def type_text(self, loop: int) -> None:
        box = self.page.get_by_label("Your text", exact=True)
        text = f"The {self.marker} crossed the street because it was tired, take {loop}."
        await box.fill(text)
        pill = self.page.get_by_role("radiogroup", name="Query token").get_by_role("radio", name=self.marker,
                                                                                   exact=True)

        async def shown() -> None:  # the new text is in the link (published at the end of the run), the marker a pill
            await self.page.wait_for_function(
                "text => decodeURIComponent(location.search.replace(/\\+/g, ' ')).includes(text)",
                arg=text, timeout=TIMEOUT_MS, polling=POLL_MS)
            await pill.wait_for(timeout=TIMEOUT_MS)

        await self.timed("type", lambda: box.press("Control+Enter"), shown)

    async def move_slider(self, loop: int) -> None:
        slider = self.page.get_by_role("slider", name="Head")
        head = int(await slider.get_attribute("aria-valuetext"))
        key, target = ("ArrowRight", head + 1) if head < 12 else ("ArrowLeft", head - 1)
        await slider.focus()
        title = self.page.get_by_role("heading", name=re.compile(rf"^Layer \d+, head {target}:"))
        await self.timed("slider", lambda: slider.press(key), lambda: title.wait_for(timeout=TIMEOUT_MS))

    async def click_head(self, loop: int) -> None:
        heading = self.page.get_by_role("heading", name=re.compile(r"^Layer \d+, head \d+:"))
        before = await heading.inner_text()
        grid = self.page.locator('[data-testid="stVegaLiteChart"]').first
        box = await grid.bounding_box()
        x, y = self.rng.uniform(0.15, 0.85), self.rng.uniform(0.2, 0.8)

        async def changed() -> None:
            await self.page.wait_for_function(
                """before => [...document.querySelectorAll('h3')].some(h => /^Layer \\d+, head \\d+:/.test(h.innerText)
                                                                 && h.innerText !== before)""",
                arg=before, timeout=3_000, polling=POLL_MS)

        try:
            await self.timed("click", lambda: self.page.mouse.click(box["x"] + box["width"] * x,
                                                                    box["y"] + box["height"] * y), changed)
        except Exception:  # the click landed in a gap or on the selected head: nothing to wait for
            self.tally.missed_clicks += 1
            await self.idle()

    async def search(self, loop: int) -> None:
        nav = self.page.locator('[data-testid="stSidebarNav"]')
        await self.timed("switch", lambda: nav.get_by_text(LOOKUP, exact=True).click(), lambda: self.heading(LOOKUP))
        box = self.page.get_by_label("Query", exact=True)
        await box.fill(f"{self.marker} tricks {loop}")
        answer = self.page.locator('[data-testid="stMain"] [data-testid="stCode"]').filter(
            has_text=f"KeyError: '{self.marker} tricks {loop}'")
        await self.timed("query", lambda: box.press("Enter"), lambda: answer.wait_for(timeout=TIMEOUT_MS))

    async def back(self, loop: int) -> None:
        nav = self.page.locator('[data-testid="stSidebarNav"]')
        await self.timed("switch", lambda: nav.get_by_text(ATTENTION, exact=True).click(),
                         lambda: self.heading(ATTENTION))


def _message_type(payload, message_class) -> str | None:
    """The type of a small Streamlit protobuf frame (big frames are chart deltas: not parsed)."""
    if isinstance(payload, str) or len(payload) > 1024:
        return None
    message = message_class()
    try:
        message.ParseFromString(payload)
    except Exception:  # noqa: BLE001 - not a message of this class
        return None
    return message.WhichOneof("type")


def _browser_cpu() -> dict[int, float]:
    """CPU seconds of every Chromium process now running."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if "chrom" in open(f"/proc/{entry}/comm").read():
                    found[int(entry)] = cpu_s(int(entry))
            except OSError:
                continue
    return found


async def _sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mb(pid))
        await asyncio.sleep(0.5)


async def _drive(sessions: int, duration: float) -> dict[str, float]:
    from playwright.async_api import async_playwright

    markers = MARKERS[:sessions]
    tally = Tally()
    log = ROOT / "test-artifacts"
    log.mkdir(exist_ok=True)
    with StreamlitServer(log_path=log / "load-server.log") as srv:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + BROWSER_ARGS,
                                               headless=True)
            warm = await browser.new_page()  # the presenter opens the pages once before the talk
            for path, title in (("attention", ATTENTION), ("lookup", LOOKUP)):
                await warm.goto(f"{srv.url}/{path}")
                await warm.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
                await warm.wait_for_selector(IDLE, timeout=60_000)
            await warm.close()
            rss_idle = rss_mb(srv.proc.pid)
            samples: list[float] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(_sample_rss(srv.proc.pid, samples, stop))
            cpu: dict[str, object] = {}

            def open_window() -> None:  # CPU use is counted over the measured minute
                cpu.update(server=cpu_s(srv.proc.pid), browser=_browser_cpu(), started=time.monotonic())
                tally.measuring = True

            async def close_window() -> None:  # read CPU use at the deadline, before visitors close their tabs
                await window.opened.wait()
                await asyncio.sleep(duration)
                cpu.update(wall=time.monotonic() - cpu["started"], server_end=cpu_s(srv.proc.pid),
                           browser_end=_browser_cpu())

            window = Window(sessions, duration, open_window)
            visitors = [Visitor(i, m, tuple(o for o in markers if o != m), srv.url, tally)
                        for i, m in enumerate(markers)]
            closer = asyncio.create_task(close_window())
            for outcome in await asyncio.gather(*(v.run(browser, window) for v in visitors), return_exceptions=True):
                if isinstance(outcome, BaseException):
                    tally.errors.append(f"visitor gave up: {outcome}")
            stop.set()
            await sampler
            await closer
            rss_end = rss_mb(srv.proc.pid)
            server_pct = 100 * (cpu["server_end"] - cpu["server"]) / cpu["wall"]
            browser_pct = 100 * sum(t - cpu["browser"].get(p, 0.0) for p, t in cpu["browser_end"].items()) / cpu["wall"]
            await browser.close()
    every = [ms for values in tally.latencies.values() for ms in values]
    if len(every) < 2:
        raise RuntimeError(f"too few interactions to measure: {tally.errors[:5]}")
    for kind, values in sorted(tally.latencies.items()):
        print(f"  {kind:8s} n={len(values):4d}  p50 {statistics.median(values):7.0f} ms  "
              f"p95 {_p95(values):7.0f} ms")
    print(f"  server   n={len(tally.server_ms):4d}  p50 {statistics.median(tally.server_ms):7.0f} ms  "
          f"p95 {_p95(tally.server_ms):7.0f} ms  (rerun request -> script finished, on the websocket)")
    print(f"  arrive   n={len(tally.arrivals_ms):4d}  p50 {statistics.median(tally.arrivals_ms):7.0f} ms  "
          f"p95 {_p95(tally.arrivals_ms):7.0f} ms  (first page load, {sessions} visitors within {START_S:g} s)")
    for line in (tally.errors + tally.leaks)[:20]:
        print("  !", line)
    return {
        "load_sessions": sessions,
        "load_duration_s": duration,
        "load_interactions": len(every),
        "load_p50_ms": statistics.median(every),
        "load_p95_ms": _p95(every),
        "load_arrive_p95_ms": _p95(tally.arrivals_ms),
        "load_server_p50_ms": statistics.median(tally.server_ms),
        "load_server_p95_ms": _p95(tally.server_ms),
        "load_errors": len(tally.errors),
        "load_leaks": len(tally.leaks),
        "load_missed_clicks": tally.missed_clicks,
        "load_server_cpu_pct": server_pct,  # of one core; the machine's cores are shared with the browsers
        "load_browser_cpu_pct": browser_pct,
        "load_rss_mb_idle": rss_idle,
        "load_rss_mb_peak": max(samples),
        "load_rss_mb_end": rss_end,
    }


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def run(sessions: int = SESSIONS, duration: float = DURATION_S) -> dict[str, float]:
    """The load figures: latency percentiles, errors, leaks and server memory."""
    if not 1 <= sessions <= len(MARKERS):
        raise ValueError(f"sessions must be between 1 and {len(MARKERS)}, got {sessions}")
    previous = signal.signal(signal.SIGTERM, _exit)  # a terminated run still stops its server
    try:
        return asyncio.run(_drive(sessions, duration))
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description="Concurrent browser sessions against one server.")
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds")
    args = parser.parse_args()
    print(json.dumps(run(args.sessions, args.duration), indent=2))


if __name__ == "__main__":
    main()

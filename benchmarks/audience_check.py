"""Cross-check: the protocol visitor against a real Chromium visitor, same actions, same server.

``python -m benchmarks audience_check`` (or ``python -m benchmarks.audience_check --rounds 5``). One
warmed ``streamlit run`` server; rounds alternate a Chromium visitor (Playwright) and a protocol
visitor (``benchmarks.audience.Visitor``), each alone on the server, each doing the audience's cycle:
text, head, token, headclick, switch to /lookup, query, temperature, switch to /smoothing, sigma,
switch back. Server-side time of an action, both sides: rerun request sent -> ``script_finished``
received, timestamped at the socket by ``benchmarks.wiretap`` (both visitors connect through it), so
the two are read the same way. Also shown: the protocol visitor's own reading (``Run.server_ms``, what
``make audience`` reports) and Chromium's DevTools reading (``Network.webSocketFrame*``, what
``make load`` reads through Playwright). DevTools reports frames from the page's main thread, so its
times include drawing the previous deltas: on this 2-core machine several times the server's own.
Figures: each action's median on both sides and the difference (``audience_check_<action>_diff_pct``,
protocol vs Chromium, at the tap), the largest in ``audience_check_max_diff_pct`` (goal: within 20 %),
and the server's CPU time per action on both sides (between the same two frames, at the tap).

On a machine shared with other work the medians wander from run to run; more rounds help.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import statistics
from concurrent.futures import ThreadPoolExecutor

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from qkv_ui.pages import ATTENTION, LOOKUP, SMOOTHING

from .audience import ACTIONS, MARKERS, Tally, Visitor, warm
from .common import ROOT

ROUNDS = 5


class Wire:
    """Server-side times of a Chromium page's reruns, from DevTools' network events."""

    def __init__(self, page):
        self.sent: float | None = None
        self.times: list[float] = []
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.webSocketFrameSent", self._sent)
        cdp.on("Network.webSocketFrameReceived", self._received)
        cdp.send("Network.enable")

    @staticmethod
    def _kind(event, message_class) -> str | None:
        response = event["response"]
        if response.get("opcode") != 2 or len(response["payloadData"]) > 4096:
            return None  # text frames; big frames are deltas
        message = message_class()
        try:
            message.ParseFromString(base64.b64decode(response["payloadData"]))
        except Exception:  # noqa: BLE001 - not a message of this class
            return None
        if message_class is ForwardMsg and message.WhichOneof("type") == "script_finished":
            return None if message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN else "script_finished"
        return message.WhichOneof("type")

    def _sent(self, event) -> None:
        if self._kind(event, BackMsg) == "rerun_script":
            self.sent = event["timestamp"]

    def _received(self, event) -> None:
        if self.sent is not None and self._kind(event, ForwardMsg) == "script_finished":
            self.times.append((event["timestamp"] - self.sent) * 1000)
            self.sent = None

    def last(self, before: int) -> float | None:
        """The time of the last run finished since ``before`` runs had been counted, or None."""
        return self.times[-1] if len(self.times) > before else None


def _add(table: dict, kind: str, name: str, value: float) -> None:
    table.setdefault(kind, {}).setdefault(name, []).append(value)


def browser_round(page, wire: Wire, tap, url: str, marker: str, loop: int, out: dict) -> None:
    """One cycle of the audience's actions in Chromium; each action's times into ``out``."""
    from tests.browser.helpers import open_view, rerun, settle, submit

    def timed(name: str, act) -> None:
        before, tapped = len(wire.times), len(tap.times)
        act()
        if len(tap.times) > tapped and (devtools := wire.last(before)) is not None:
            _add(out, "chromium", name, tap.times[-1])
            _add(out, "chromium_devtools", name, devtools)
            _add(out, "chromium_cpu", name, tap.cpu_ms[-1])

    def press(slider_name, key: str = "ArrowRight") -> None:
        slider = page.get_by_role("slider", name=slider_name).first
        slider.focus()
        with rerun(page):
            slider.press(key)

    def switch(title: str) -> None:
        with rerun(page):
            page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title).first.wait_for()

    def click_head() -> None:  # a click on the selected head or a gap asks for no run: then there is no sample
        settle(page)
        before = page.evaluate("() => window.__qkvRuns.requested")
        box = page.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
        x, y = (0.2 + 0.6 * ((loop * 7) % 10) / 10), (0.25 + 0.5 * ((loop * 3) % 10) / 10)
        page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        try:
            page.wait_for_function("(n) => window.__qkvRuns.requested > n", arg=before, timeout=3000, polling=25)
        except Exception:  # noqa: BLE001 - no request came
            return
        settle(page, at_least=before + 1)

    open_view(page, f"{url}/{ATTENTION.url_path}", ATTENTION.title)
    text = f"The {marker} crossed the street because it was tired, take {loop}."
    timed("text", lambda: submit(page, page.get_by_label("Your text", exact=True), text, "Control+Enter"))
    timed("head", lambda: press("Head", "ArrowRight" if loop % 2 else "ArrowLeft"))
    timed("token", lambda: rerun_click(page, page.get_by_role("radiogroup", name="Query token")
                                       .get_by_role("radio", name=marker, exact=True)))
    timed("headclick", click_head)
    timed("switch", lambda: switch(LOOKUP.title))
    timed("query", lambda: submit(page, page.get_by_label("Query", exact=True), f"{marker} tricks {loop}"))
    timed("temperature", lambda: press("Temperature T"))
    timed("switch", lambda: switch(SMOOTHING.title))
    timed("sigma", lambda: press(re.compile(r"^σ, bandwidth")))
    timed("switch", lambda: switch(ATTENTION.title))


def rerun_click(page, locator) -> None:
    from tests.browser.helpers import rerun

    with rerun(page):
        locator.click()


def protocol_round(tap, url: str, marker: str, loop: int, out: dict) -> None:
    """The same cycle over the protocol, alone on the server."""
    import random

    visitor = Visitor(1, marker, re.compile(rb"\b(" + b"|".join(m.encode() for m in MARKERS) + rb")\b"), url,
                      Tally(), seed=loop)
    visitor.loop = loop

    async def go() -> None:
        await visitor.arrive()
        try:
            for name, action in visitor.cycle():
                await asyncio.sleep(0.3)  # as Chromium's round, which waits for the page to settle
                tapped = len(tap.times)
                run = await action()
                visitor.check_run(run, name)
                if len(tap.times) > tapped:
                    _add(out, "protocol", name, tap.times[-1])
                    _add(out, "protocol_own", name, run.server_ms)
                    _add(out, "protocol_cpu", name, tap.cpu_ms[-1])
        finally:
            await visitor.leave()

    visitor.rng = random.Random(loop)
    with ThreadPoolExecutor(1) as pool:  # sync Playwright holds this thread's event loop
        pool.submit(asyncio.run, go()).result()


def run(rounds: int = ROUNDS) -> dict[str, float]:
    """Medians per action on both sides and their differences (%)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import new_page
    from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer, free_port

    from .wiretap import Tap

    times: dict[str, dict[str, list[float]]] = {}
    log = ROOT / "test-artifacts"
    log.mkdir(exist_ok=True)
    with (StreamlitServer(log_path=log / "audience-check-server.log") as srv,
          Tap(srv.port, free_port(), srv.proc.pid) as tap):
        url = f"http://127.0.0.1:{tap.port}"
        warm(url)
        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for loop in range(1, rounds + 1):
            page = new_page(browser, viewport={"width": 1280, "height": 1000})
            try:
                browser_round(page, Wire(page), tap, url, MARKERS[0], loop, times)
            finally:
                page.context.close()
            protocol_round(tap, url, MARKERS[1], loop, times)
        browser.close()
        pw.stop()
    (log / "audience-check.json").write_text(json.dumps(times, indent=2))
    figures: dict[str, float] = {}
    print(f"  medians of {rounds} rounds, ms. At the tap: Chromium, protocol, difference; then the protocol "
          "visitor's own reading, Chromium's DevTools reading, the server's CPU for each side's action")
    print(f"  {'action':12s} {'Chromium':>9s} {'protocol':>9s} {'diff':>6s}   {'own':>7s} {'DevTools':>9s}   "
          f"{'CPU Chr.':>8s} {'CPU prot.':>9s}")
    for name in ACTIONS:
        if name in times.get("chromium", {}) and name in times.get("protocol", {}):
            m = {kind: statistics.median(times[kind][name]) for kind in times if name in times[kind]}
            diff = 100 * (m["protocol"] - m["chromium"]) / m["chromium"]
            print(f"  {name:12s} {m['chromium']:9.1f} {m['protocol']:9.1f} {diff:+5.0f}%   {m['protocol_own']:7.1f} "
                  f"{m['chromium_devtools']:9.1f}   {m['chromium_cpu']:8.0f} {m['protocol_cpu']:9.0f}")
            figures[f"audience_check_{name}_diff_pct"] = diff
    figures["audience_check_max_diff_pct"] = max(abs(v) for v in figures.values())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    print(json.dumps(run(args.rounds), indent=2))


if __name__ == "__main__":
    main()

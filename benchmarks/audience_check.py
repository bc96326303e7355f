"""Cross-check: the protocol visitor against a real Chromium visitor, same actions, same server.

``python -m benchmarks audience_check`` (or ``python -m benchmarks.audience_check --rounds 7``). One
warmed ``streamlit run`` server, a Chromium visitor (Playwright) and a protocol visitor
(``benchmarks.audience.Visitor``), each round both doing the audience's cycle: text, head, token,
headclick, switch to /lookup, query, temperature, switch to /smoothing, sigma, switch back. They go
action by action: Chromium does an action, then the protocol visitor does the same one (the side that
goes first changes every action and every round), 0.5 s apart and Chromium's page drawn and still
before the next action (as a reader's is: the audience reads 4-10 s), so each run is alone on the server and
both sides' samples of an action are taken under the same load of the machine (a busy spell of other
work on a shared machine no longer lands on one side's round only). One warm-up round comes first and
is not counted (the server's first new text and first charts of each kind).

What is compared: the server-side time of an action, both sides: rerun request in -> ``script_finished``
out, wall time, timestamped at the socket by ``benchmarks.wiretap`` (both visitors connect through it),
so the two are read the same way. Figures: each action's median on both sides and the difference
(``audience_check_<action>_diff_pct``, protocol vs Chromium), the largest in
``audience_check_max_diff_pct`` (goal: within 20 %).

Why the server gets a core of its own. Unpinned, on a 2-core machine, Chromium draws the deltas of a
run while the server is still running it, on the same two cores. Measured with the kernel's scheduler
statistics (``--no-pin``, 7 rounds, 2-core AMD EPYC shared with other work, 2026-12-02): in Chromium's
runs the server's threads spent 1.2-2.8 times longer runnable but waiting for a CPU than in the protocol
visitor's (query 40 ms against 20, temperature 33 against 12), while the visitor's side used 38-69 ms of
CPU per action against 2-4 ms for the protocol visitor; the server's own CPU per action was the same on
both sides within the noise, and the bytes it sent were the same to the byte. Every action was 14-41 %
slower with Chromium: the figure measured the browser competing with the server for the cores, not a
difference in what the server was asked to do.

The method, the same for both sides: the server is started with one CPU (``os.sched_setaffinity`` before
it starts: its threads inherit it; it runs torch on one thread in any case, ``qkv_ui/model.py``, so its
work does not change), and everything else runs on the other CPU(s): this process, Playwright's driver,
Chromium with its renderer, GPU and utility processes, the protocol visitor, and the tap, a process of its
own at real-time priority (SCHED_FIFO where allowed; the printout says when not) so that neither a busy
page nor this process's GIL delays its timestamps. ``--no-pin`` runs the old comparison, for reference.

What the figure then means: the server's time for the action when the visitors' own work does not take
its CPU, which is what a real room gives it (each visitor's browser runs on the visitor's machine). It is
not the time on a 2-core machine shared by a server and browsers (``make load`` measures that). Work
that is not ours still lands on the server's CPU: on a busy machine, other processes that the visitors
push off their CPU move to the server's, in the Chromium rounds more than in the protocol's. So the
figures are for a quiet machine; the columns beside them say how quiet it was.

Beside each side's time, per action (between the same two frames, from ``/proc/<pid>/task/*/schedstat``):
the server's CPU, the server's wait for a CPU, the CPU of the visitor's side (this process, Playwright's
driver, Chromium) and what the server sent (kB); then the protocol visitor's own reading (``Run.server_ms``,
what ``make audience`` reports) and Chromium's DevTools reading (``Network.webSocketFrame*``, what ``make
load`` reads through Playwright). DevTools reports frames from the page's main thread, so its times include
drawing the previous deltas: several times the server's own. Raw samples: ``test-artifacts/audience-check.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import statistics
import threading
import time

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from qkv_ui.pages import ATTENTION, LOOKUP, SMOOTHING

from .audience import ACTIONS, MARKERS, Tally, Visitor, warm
from .common import ROOT

ROUNDS = 7
WARMUP = 1  # rounds before the counted ones
PAUSE_S = 0.5  # before every action, either side: the server and the page have finished with the last run


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


def _record(table: dict, side: str, name: str, record) -> None:
    """One run at the tap: its wall time under ``side``, the server's CPU, wait and the visitors' CPU beside."""
    _add(table, side, name, record.ms)
    _add(table, f"{side}_cpu", name, record.cpu_ms)
    _add(table, f"{side}_ran", name, record.ran_ms)
    _add(table, f"{side}_waited", name, record.waited_ms)
    _add(table, f"{side}_visitors_cpu", name, record.watched_ms)
    _add(table, f"{side}_kb", name, record.bytes / 1024)


def browser_steps(page, url: str, marker: str, loop: int) -> list:
    """The audience's cycle in Chromium: opens /attention, then (action name, act) pairs in order."""
    from tests.browser.helpers import open_view, rerun, settle, submit

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

    def click(locator) -> None:
        with rerun(page):
            locator.click()

    open_view(page, f"{url}/{ATTENTION.url_path}", ATTENTION.title)
    text = f"The {marker} crossed the street because it was tired, take {loop}."
    pill = page.get_by_role("radiogroup", name="Query token").get_by_role("radio", name=marker, exact=True)
    return [
        ("text", lambda: submit(page, page.get_by_label("Your text", exact=True), text, "Control+Enter")),
        ("head", lambda: press("Head", "ArrowRight" if loop % 2 else "ArrowLeft")),
        ("token", lambda: click(pill)),
        ("headclick", click_head),
        ("switch", lambda: switch(LOOKUP.title)),
        ("query", lambda: submit(page, page.get_by_label("Query", exact=True), f"{marker} tricks {loop}")),
        ("temperature", lambda: press("Temperature T")),
        ("switch", lambda: switch(SMOOTHING.title)),
        ("sigma", lambda: press(re.compile(r"^σ, bandwidth"))),
        ("switch", lambda: switch(ATTENTION.title)),
    ]


class Background:
    """An event loop in a thread of its own, for the protocol visitor (sync Playwright holds the main thread's)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def do(self, coroutine):
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def paired_round(browser, tap, bg: Background, url: str, loop: int, out: dict, apart: tuple[int, ...]) -> None:
    """One cycle, action by action: Chromium does an action, then the protocol visitor does the same (or the
    other way round: the side that goes first changes every action and every round). Each run is alone on
    the server, and both sides' samples of an action are taken seconds apart, under the same machine load.
    ``apart``: the server's and the tap's processes, left out of the visitor side's CPU."""
    from tests.browser.helpers import charts_still, new_page

    page = new_page(browser, viewport={"width": 1280, "height": 1000})
    visitor = Visitor(1, MARKERS[1], re.compile(rb"\b(" + b"|".join(m.encode() for m in MARKERS) + rb")\b"), url,
                      Tally(), seed=loop)
    visitor.loop, visitor.rng = loop, random.Random(loop)
    try:
        wire = Wire(page)
        steps = browser_steps(page, url, MARKERS[0], loop)
        bg.do(visitor.arrive())
        tap.watch(_visitor_side(*apart))  # the page's renderer is new: look again

        def chromium(name: str, act) -> None:
            time.sleep(PAUSE_S)
            before, tapped = len(wire.times), len(tap.times)
            act()
            if len(tap.times) > tapped and (devtools := wire.last(before)) is not None:
                _record(out, "chromium", name, tap.last())
                _add(out, "chromium_devtools", name, devtools)
            charts_still(page)  # the page has drawn the answer before anyone acts again, as a reader's has

        async def protocol(name: str, action) -> None:
            await asyncio.sleep(PAUSE_S)
            tapped = len(tap.times)
            run = await action()
            visitor.check_run(run, name)
            if len(tap.times) > tapped:
                _record(out, "protocol", name, tap.last())
                _add(out, "protocol_own", name, run.server_ms)

        for i, ((name, act), (same, action)) in enumerate(zip(steps, visitor.cycle(), strict=True)):
            assert name == same, f"the two cycles differ: {name} vs {same}"
            if (loop + i) % 2:
                chromium(name, act)
                bg.do(protocol(name, action))
            else:
                bg.do(protocol(name, action))
                chromium(name, act)
    finally:
        bg.do(visitor.leave())
        page.context.close()


def family(parents: dict[int, int], root: int) -> set[int]:
    """``root`` and every process descended from it, given each process's parent."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _parents() -> dict[int, int]:
    """Every process now running -> its parent (from /proc)."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                out[int(entry)] = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return out


def _visitor_side(*apart: int) -> set[int]:
    """This process and everything it started (Playwright's driver, Chromium and its helpers), but ``apart``."""
    return family(_parents(), os.getpid()) - set(apart)


def run(rounds: int = ROUNDS, pin: bool = True) -> dict[str, float]:
    """Medians per action on both sides and their differences (%)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer, free_port

    from .wiretap import Tap, split_cores

    times: dict[str, dict[str, list[float]]] = {}
    log = ROOT / "test-artifacts"
    log.mkdir(exist_ok=True)
    mine = os.sched_getaffinity(0)
    server_cpus, visitor_cpus = split_cores(mine) if pin else (mine, mine)
    try:
        os.sched_setaffinity(0, server_cpus)  # the server inherits the server's core ...
        with StreamlitServer(log_path=log / "audience-check-server.log") as srv:
            os.sched_setaffinity(0, visitor_cpus)  # ... everything started from here on, the visitors' cores
            with Tap(srv.port, free_port(), srv.proc.pid, visitor_cpus, realtime=pin) as tap:
                url = f"http://127.0.0.1:{tap.port}"
                apart = (srv.proc.pid, tap.own_pid)
                warm(url)
                pw = sync_playwright().start()
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                bg = Background()
                try:
                    for loop in range(WARMUP):  # first texts, first charts of each kind: not counted
                        paired_round(browser, tap, bg, url, rounds + 1 + loop, {}, apart)
                    for loop in range(1, rounds + 1):
                        paired_round(browser, tap, bg, url, loop, times, apart)
                finally:
                    bg.close()
                    browser.close()
                    pw.stop()
                realtime = tap.realtime
    finally:
        os.sched_setaffinity(0, mine)
    (log / "audience-check.json").write_text(json.dumps(times, indent=2))
    figures: dict[str, float] = {}
    where = (f"server alone on CPU {sorted(server_cpus)}; visitors and tap on {sorted(visitor_cpus)}, the tap "
             f"{'at' if realtime else 'WITHOUT'} real-time priority" if pin
             else f"not pinned: everything shares CPUs {sorted(mine)}")
    print(f"  medians of {rounds} rounds, ms; {where}; load average {os.getloadavg()[0]:.2f}")
    print("  at the tap: each side's wall time (request -> script_finished) and their difference; the protocol "
          "visitor's own reading; Chromium's DevTools reading;\n  per side, between the same two frames: the "
          "server's CPU, the server's wait for a CPU, the visitor side's CPU (this process, Playwright, Chromium), what the server sent")
    print(f"  {'action':12s} {'Chromium':>9s} {'protocol':>9s} {'diff':>6s}   {'own':>6s} {'DevTools':>8s}   "
          f"{'CPU C/p':>11s}   {'wait C/p':>11s}   {'visitors C/p':>13s}   {'kB C/p':>11s}")
    for name in ACTIONS:
        if name in times.get("chromium", {}) and name in times.get("protocol", {}):
            m = {kind: statistics.median(times[kind][name]) for kind in times if name in times[kind]}
            diff = 100 * (m["protocol"] - m["chromium"]) / m["chromium"]
            print(f"  {name:12s} {m['chromium']:9.1f} {m['protocol']:9.1f} {diff:+5.0f}%   {m['protocol_own']:6.1f} "
                  f"{m['chromium_devtools']:8.1f}   {m['chromium_ran']:5.1f}/{m['protocol_ran']:5.1f}   "
                  f"{m['chromium_waited']:5.1f}/{m['protocol_waited']:5.1f}   "
                  f"{m['chromium_visitors_cpu']:6.1f}/{m['protocol_visitors_cpu']:6.1f}   "
                  f"{m['chromium_kb']:5.0f}/{m['protocol_kb']:5.0f}")
            figures[f"audience_check_{name}_diff_pct"] = diff
    figures["audience_check_max_diff_pct"] = max(abs(v) for v in figures.values())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="leave server and visitors on the same CPUs (the unfair comparison, for reference)")
    args = parser.parse_args()
    print(json.dumps(run(args.rounds, args.pin), indent=2))


if __name__ == "__main__":
    main()

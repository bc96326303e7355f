"""An audience without browsers: up to 120 visitors speaking Streamlit's websocket protocol, in one process.

``make audience`` runs the whole measurement (about 11 minutes): 25, 50 and 100 visitors for 60 s each
against one ``streamlit run`` server, then how many visitors one and two replicas behind HAProxy hold at
p95 <= 1 s (``benchmarks/replicas.py``). ``python -m benchmarks.audience --visitors 10 --duration 20``
runs one level; ``--target http://127.0.0.1:8080`` drives a server (or ``make serve`` cluster) that is
already running instead of starting one.

Each visitor is a ``protocol.Tab`` (one websocket: one server session, as a browser tab) and owns a
marker word, a single word piece of the model's vocabulary that no page shows by default. It arrives on
/attention (visitors arrive spread over ``ARRIVE_S``; first page loads are reported apart) and from then
on loops, reading 4-10 s (uniform, seeded) before each action; the measured window opens once all are in
(actions asked for inside it count, so arrivals and first actions stay spread as in a real room). The mix is
the one of ``make load`` plus /lookup's temperature and /smoothing's sigma:

==========  ==========================================================================================
text        its own sentence with its marker into /attention's text box: the query-token pills list the
            marker, the map charts arrive
head        the Head slider one step: the detail heading names that head
token       its marker's pill: the row caption names that token
headclick   a random other head in the all-heads overview (the chart selection the frontend sends):
            the detail heading names the head clicked
switch      /lookup, /smoothing, back to /attention from the sidebar: the page's title arrives
query       "<marker> tricks <n>" into /lookup's query box: the dict's KeyError quotes it
temperature /lookup's temperature one stop: the caption states the new T
sigma       /smoothing's sigma one step: the slider holds it, the charts arrive
==========  ==========================================================================================

Every answer is checked: the run finished successfully, no exception element, the expected elements
(above), and no other visitor's marker anywhere in the frames of the run (a cross-talk, counted as an
error and apart). A failed check or a 20 s timeout is an error; the visitor then reopens /attention.

Server-side time of an action: rerun request sent -> ``script_finished`` received, as ``make load``
reads it off the browser's websocket. Leaks: sessions the server still counts as active
(``/_stcore/metrics``, ``active_sessions``) 5 s after every visitor has closed its websocket.
The server's RSS is sampled every half second; CPU (server and this process) over the window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import statistics
import time
import urllib.request
from dataclasses import dataclass, field

from qkv_ui.pages import ATTENTION, LOOKUP, SMOOTHING

from .common import ROOT, Window, cpu_s, rss_mb
from .protocol import DONE, Tab, selection

LEVELS = (25, 50, 100)
DURATION_S = 60.0
THINK_S = (4.0, 10.0)
ARRIVE_S = 10.0  # visitors arrive spread over this many seconds
TIMEOUT_S = 20.0  # an action's answer
ARRIVE_TIMEOUT_S = 60.0  # a first page load
GOAL_P95_MS = 1000.0
SEED = 15
# Single word pieces of all-MiniLM-L6-v2's vocabulary that no page shows by default (checked by
# tests/test_audience.py against vocab.txt and the default pages' frames).
MARKERS = tuple("""
violin volcano pyramid lantern cactus compass harbor meadow penguin trumpet glacier canyon dolphin falcon
hammer island jungle kettle lemon magnet needle orchid parrot rabbit saddle tiger umbrella vulture wizard
yacht zebra anchor barrel candle dragon engine feather pumpkin cherry tractor banana beetle blanket bucket
butterfly camel carpet castle cello chimney cobra coconut cookie cotton cricket crystal dagger daisy desert
donkey eagle emerald ferry flute fountain garlic goose helmet honey hornet jacket jaguar jelly kangaroo
ladder leopard lizard lobster mango marble mirror monkey mosquito mushroom napkin nest oyster panda peach
pearl pencil pepper pillow pirate plum potato puppet quilt raven ribbon robot rocket salmon scarf shark sheep
shovel skull snail spider squid statue stove sugar swan tomato torch trout turtle violet wagon walnut whale
whistle wolf zipper apron badger bamboo banjo beaver bison blossom bonnet bracelet buffalo bulldog cabbage canary
canoe carrot chestnut cinnamon clover coral coyote crab crane crocodile crow dove eel elk fig frog ginger goat gorilla
grape hawk heron jasmine lime lynx mammoth mole moose moth mule newt octopus olive onion otter owl peacock pigeon pony
rhino robin rooster scorpion seal shrimp snake sparrow sponge squirrel strawberry toad tuna turkey vanilla wasp weasel
accordion harp tuba trombone clarinet oboe harmonica cypress maple willow birch oak pine cedar thistle fern
moss
acquitted adorned agencies airborne albanian alberto alejandro altitude aluminum archibald armies armored ascension
attacking auxiliary barrett bedrooms benefit boiler brenda bridges butter cameras carolyn carriages chandler cleared
colleges concerto contests courts crashed crescent critic currents dalton declined delays denying deserve diagnosis
dioxide disputes dissolved dominate drifting eighth elegant emotional emphasis engineers engraved eventual exchanged
excuse expired flanders folklore forehead galicia gameplay generals governors greenwood guests halfway hamilton
hanged harder hardly harper hindwings holdings hopkins hunting inclined infamous inflation inhaled inherent injuries
intend intense invade iphone jacques jakarta jefferson justified keller knuckles lafayette lawyers lingering linked
loving macmillan magician meantime mechanics mechanism mentions missiles monarchy mortimer mounting neglected
niagara norwich nudged numbering obstacle occasions ordering parachute paramount pastoral patton pavement paying
peaceful perennial pillar placing playback plunged podcast polite prayers preceded procedure protest qualifier
queens raging reactor reaper relieve reminded reopened resolved responses revised robinson robust romance rooted
rounded routinely saloon salvatore sanchez santos satirical searching sentenced shadows sharply shields shuffled
simpsons slovene smelling stereo stocks strategic streaming stride strongest stumbled suffolk sultan symbolic
teachers teammate threatens thrown trailer translate traumatic vaguely ventures villains wallet wednesday wizards
wolfgang yellowish""".split())  # 400: the most visitors one run can tell apart (make audience's capacity search stops there)
ACTIONS = ("text", "head", "token", "headclick", "switch", "query", "temperature", "sigma")


class CheckFailed(AssertionError):
    """An answer that is not what the visitor asked for."""


@dataclass
class Tally:
    """What every visitor saw, in one place."""

    server_ms: dict[str, list[float]] = field(default_factory=dict)  # action -> times inside the window
    arrivals_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    crosstalk: list[str] = field(default_factory=list)
    measuring: bool = False
    actions: int = 0


class Visitor:
    """One person in the room, driving the app over the protocol with its own marker word."""

    def __init__(self, index: int, marker: str, others: re.Pattern, base: str, tally: Tally, seed: int):
        self.index, self.marker, self.others, self.base, self.tally = index, marker, others, base, tally
        self.rng = random.Random(seed * 1000 + index)
        self.loop = 0
        self.tab: Tab | None = None

    def error(self, message: str) -> None:
        self.tally.errors.append(f"visitor {self.index} ({self.marker}): {message}")

    async def run(self, window: Window) -> None:
        await asyncio.sleep(self.rng.uniform(0, ARRIVE_S))
        started = time.perf_counter()
        try:
            await self.arrive()
            self.tally.arrivals_ms.append((time.perf_counter() - started) * 1000)
        except Exception as exc:  # noqa: BLE001 - counted; the visitor tries again in the loop
            self.error(f"arrive: {type(exc).__name__}: {exc}")
        finally:
            window.arrived()
        try:
            while window.open():
                self.loop += 1
                for name, action in self.cycle():
                    await asyncio.sleep(self.rng.uniform(*THINK_S))
                    if not window.open():
                        break
                    measured = self.tally.measuring  # only actions asked for inside the window count
                    try:
                        if self.tab is None:
                            await self.arrive()
                        run = await action()
                        self.check_run(run, name)
                        if measured:
                            self.tally.server_ms.setdefault(name, []).append(run.server_ms)
                            self.tally.actions += 1
                    except Exception as exc:  # noqa: BLE001 - a timeout or a failed check: count it, start over
                        self.error(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
                        await self.leave()
                        break
        finally:
            await self.leave()

    def cycle(self):
        return (("text", self.type_text), ("head", self.move_head), ("token", self.click_token),
                ("headclick", self.click_head), ("switch", lambda: self.switch(LOOKUP)), ("query", self.search),
                ("temperature", self.move_temperature), ("switch", lambda: self.switch(SMOOTHING)),
                ("sigma", self.move_sigma), ("switch", lambda: self.switch(ATTENTION)))

    async def arrive(self) -> None:
        """Open /attention in a new tab (a page load: it may wait behind the rest of the room, ARRIVE_TIMEOUT_S)."""
        await self.leave()
        self.tab = Tab(self.base, ARRIVE_TIMEOUT_S)
        try:
            run = await self.tab.open(ATTENTION.url_path)
            self.check_run(run, "arrive")
            expect(run.has_text(ATTENTION.title), f"no '{ATTENTION.title}' title")
        except BaseException:
            await self.leave()
            raise
        self.tab.timeout = TIMEOUT_S

    async def leave(self) -> None:
        if self.tab is not None:
            try:
                await self.tab.close()
            finally:
                self.tab = None

    def check_run(self, run, name: str) -> None:
        """Every answer: finished, no exception, no other visitor's marker anywhere in its frames."""
        expect(run.status in DONE, f"script ended {run.status}")
        expect(not run.exceptions, f"exception: {run.exceptions[:1]}")
        seen = {m.decode() for frame in run.frames for m in self.others.findall(frame)} - {self.marker}
        if seen:
            self.tally.crosstalk.append(f"visitor {self.index} ({self.marker}) saw {sorted(seen)} after {name}")
            raise CheckFailed(f"another visitor's text: {sorted(seen)}")

    # ---- the actions: each returns the run it caused, after checking what it must show

    async def type_text(self):
        text = f"The {self.marker} crossed the street because it was tired, take {self.loop}."
        run = await self.tab.set("text", string_value=text)
        expect(self.tab.value("text") == text, "the text box does not hold the text")
        expect(self.marker in [o.content for o in run.widget("token").proto.options], "no pill for the marker")
        expect(run.charts >= 3, f"{run.charts} charts")
        return run

    async def move_head(self):
        head, most = int(self.tab.value("head")), int(self.tab.last.widget("head").proto.max)
        target = head + 1 if head < most else head - 1
        run = await self.tab.set("head", double_array_value=[float(target)])
        expect(run.has_text(f", head {target}: who looks at whom"), f"no heading for head {target}")
        return run

    async def click_token(self):
        pills = [o.content for o in self.tab.last.widget("token").proto.options]
        expect(self.marker in pills, "no pill for the marker")
        run = await self.tab.set("token", string_array_value=[self.marker])
        expect(run.has_text(f"**Row {pills.index(self.marker)}: where this query token looks"), "no row caption")
        return run

    async def click_head(self):
        last = self.tab.last
        layers, heads = int(last.widget("layer").proto.max), int(last.widget("head").proto.max)
        now = (int(self.tab.value("layer")), int(self.tab.value("head")))
        pick = now
        while pick == now:
            pick = (self.rng.randint(1, layers), self.rng.randint(1, heads))
        chart = last.widget("overview").id
        run = await self.tab.set("overview", selection(chart, "pick", [{"layer": pick[0], "head": pick[1]}]))
        expect(run.has_text(f"Layer {pick[0]}, head {pick[1]}: who looks at whom"), f"no heading for {pick}")
        return run

    async def switch(self, page):
        run = await self.tab.switch(page.url_path)
        expect(run.has_text(page.title), f"no '{page.title}' title")
        return run

    async def search(self):
        query = f"{self.marker} tricks {self.loop}"
        run = await self.tab.set("q", string_value=query)
        expect(run.has_text(f"KeyError: '{query}'"), "the dict's KeyError does not quote the query")
        return run

    async def move_temperature(self):
        options = list(self.tab.last.widget("temp").proto.options)
        i = options.index(self.tab.value("temp"))
        target = options[i + 1 if i + 1 < len(options) else i - 1]
        run = await self.tab.set("temp", string_array_value=[target])
        expect(run.has_text(f"T = {target}."), f"no caption for T = {target}")
        return run

    async def move_sigma(self):
        proto = self.tab.last.widget("sigma").proto
        sigma = float(self.tab.value("sigma"))
        target = sigma + proto.step if sigma + proto.step <= proto.max else sigma - proto.step
        run = await self.tab.set("sigma", double_array_value=[target])
        expect(float(self.tab.value("sigma")) == target, "sigma did not move")
        expect(run.charts >= 3, f"{run.charts} charts")
        return run


def expect(ok: bool, message: str) -> None:
    if not ok:
        raise CheckFailed(message)


# ---- measuring the server

def active_sessions(url: str) -> int:
    """The server's own count of connected sessions (Streamlit's metrics endpoint)."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics?families=active_sessions", timeout=10) as r:
        text = r.read().decode()
    return int(float(next(line.split()[-1] for line in text.splitlines() if line.startswith("active_sessions"))))


@dataclass
class Target:
    """Where the visitors go, and what to watch: the server processes and the replicas' own addresses."""

    url: str
    pids: tuple[int, ...] = ()
    replica_urls: tuple[str, ...] = ()


async def _sample_rss(pids, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            samples.append(sum(rss_mb(p) for p in pids))
        except (OSError, RuntimeError):
            pass
        await asyncio.sleep(0.5)


async def _level(target: Target, visitors: int, duration: float, seed: int) -> dict:
    markers = MARKERS[:visitors]
    others = re.compile(rb"\b(" + b"|".join(m.encode() for m in markers) + rb")\b")
    tally = Tally()
    cpu: dict[str, float] = {}

    def open_window() -> None:
        cpu.update(server=sum(cpu_s(p) for p in target.pids), client=time.process_time(),
                   started=time.monotonic())
        tally.measuring = True

    window = Window(visitors, duration, open_window)
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(target.pids, samples, stop))

    async def close_window() -> None:
        await window.opened.wait()
        await asyncio.sleep(duration)
        cpu.update(wall=time.monotonic() - cpu["started"], server_end=sum(cpu_s(p) for p in target.pids),
                   client_end=time.process_time())

    closer = asyncio.create_task(close_window())
    crowd = [Visitor(i, m, others, target.url, tally, seed) for i, m in enumerate(markers)]
    for outcome in await asyncio.gather(*(v.run(window) for v in crowd), return_exceptions=True):
        if isinstance(outcome, BaseException):
            tally.errors.append(f"visitor gave up: {type(outcome).__name__}: {outcome}")
    await closer
    stop.set()
    await sampler
    left = await asyncio.to_thread(_sessions_left, target)
    return _summary(visitors, duration, tally, cpu, samples, left)


def _sessions_left(target: Target, wait_s: float = 5.0) -> int | None:
    """Sessions still active on the servers after every visitor left (waits up to ``wait_s`` for them to go)."""
    urls = target.replica_urls or (target.url,)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            left = sum(active_sessions(u) for u in urls)
        except (OSError, StopIteration, ValueError):
            return None
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def _summary(visitors, duration, tally: Tally, cpu, samples, left) -> dict:
    actions = {name: {"n": len(v), "p50_ms": statistics.median(v), "p95_ms": p95(v)}
               for name, v in sorted(tally.server_ms.items()) if v}
    every = [ms for v in tally.server_ms.values() for ms in v]
    wall = cpu.get("wall") or duration
    return {
        "visitors": visitors,
        "duration_s": duration,
        "actions": actions,
        "interactions": len(every),
        "p50_ms": statistics.median(every) if every else float("nan"),
        "p95_ms": max((a["p95_ms"] for a in actions.values()), default=float("nan")),  # the worst action's
        "p95_all_ms": p95(every) if every else float("nan"),  # every action pooled (steadier on short runs)
        "arrive_p95_ms": p95(tally.arrivals_ms) if tally.arrivals_ms else float("nan"),
        "errors": len(tally.errors),
        "crosstalk": len(tally.crosstalk),
        "leaks": left if left is not None else float("nan"),
        "rss_mb_peak": max(samples) if samples else float("nan"),
        "server_cpu_pct": 100 * (cpu["server_end"] - cpu["server"]) / wall if "server_end" in cpu else float("nan"),
        "server_cpu_ms_per_action": (1000 * (cpu["server_end"] - cpu["server"]) / len(every)
                                     if "server_end" in cpu and every else float("nan")),
        "client_cpu_pct": 100 * (cpu["client_end"] - cpu["client"]) / wall if "client_end" in cpu else float("nan"),
        "error_samples": tally.errors[:10],
    }


def warm(url: str) -> None:
    """Open every page once (the model loads, caches fill): the presenter does this before the talk."""

    async def visit() -> None:
        tab = Tab(url, timeout=120)
        try:
            await tab.open(ATTENTION.url_path)
            for page in (LOOKUP, SMOOTHING, ATTENTION):
                await tab.switch(page.url_path)
        finally:
            await tab.close()

    asyncio.run(visit())


def level(target: Target, visitors: int, duration: float = DURATION_S, seed: int = SEED) -> dict:
    """One audience of ``visitors`` for ``duration`` s against ``target``: per-action times and the rest."""
    if not 1 <= visitors <= len(MARKERS):
        raise ValueError(f"visitors must be between 1 and {len(MARKERS)}, got {visitors}")
    return asyncio.run(_level(target, visitors, duration, seed))


def show(result: dict) -> None:
    """Print one level as a small table."""
    print(f"--- {result['visitors']} visitors, {result['duration_s']:g} s: {result['interactions']} actions, "
          f"errors {result['errors']} (cross-talk {result['crosstalk']}), sessions left {result['leaks']}, "
          f"peak RSS {result['rss_mb_peak']:.0f} MB, server CPU {result['server_cpu_pct']:.0f} % "
          f"({result['server_cpu_ms_per_action']:.0f} ms an action), "
          f"visitors' CPU {result['client_cpu_pct']:.0f} % (of one core)")
    for name, a in result["actions"].items():
        print(f"  {name:12s} n={a['n']:4d}  p50 {a['p50_ms']:7.0f} ms  p95 {a['p95_ms']:7.0f} ms")
    print(f"  {'all':12s} n={result['interactions']:4d}  p50 {result['p50_ms']:7.0f} ms  p95 {result['p95_all_ms']:7.0f} ms")
    print(f"  arrive p95 {result['arrive_p95_ms']:.0f} ms (first page loads, not in the window)")
    for line in result["error_samples"]:
        print("  !", line)


def one_server(levels=LEVELS, duration: float = DURATION_S) -> dict[str, float]:
    """The curve: each level against a freshly started ``streamlit run`` (warmed by one visit)."""
    from tests.browser.server import StreamlitServer

    figures: dict[str, float] = {}
    curve = []
    log = ROOT / "test-artifacts"
    log.mkdir(exist_ok=True)
    for n in levels:
        with StreamlitServer(log_path=log / f"audience-server-{n}.log") as srv:
            target = Target(srv.url, (srv.proc.pid,))
            warm(srv.url)
            result = level(target, n, duration)
        show(result)
        curve.append(result)
        figures[f"audience_{n}_p95_ms"] = result["p95_ms"]
        figures[f"audience_{n}_p50_ms"] = result["p50_ms"]
        figures[f"audience_{n}_rss_mb_peak"] = result["rss_mb_peak"]
        figures[f"audience_{n}_server_cpu_pct"] = result["server_cpu_pct"]
        figures[f"audience_{n}_client_cpu_pct"] = result["client_cpu_pct"]
        figures[f"audience_{n}_errors"] = result["errors"]
        figures[f"audience_{n}_leaks"] = result["leaks"]
        figures[f"audience_{n}_crosstalk"] = result["crosstalk"]
    (log / "audience-curve.json").write_text(json.dumps(curve, indent=2))
    return figures


def run() -> dict[str, float]:
    """``make audience``: the curve on one server, then replicas' capacity (``benchmarks.replicas``)."""
    from . import replicas

    previous = signal.signal(signal.SIGTERM, _exit)  # a terminated run still stops its servers
    try:
        figures = one_server()
        figures.update(replicas.capacity_figures(figures))
        return figures
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    from .common import write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, nargs="*", help=f"levels (default {LEVELS}, then capacity)")
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds per level")
    parser.add_argument("--target", help="drive this running server / balancer instead of starting one")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--write", action="store_true", help="merge the figures into bench-results.json")
    args = parser.parse_args()
    if args.target:
        from .replicas import running_target

        target = running_target(args.target)
        for url in target.replica_urls or (target.url,):
            warm(url)
        for n in args.visitors or LEVELS:
            show(level(target, n, args.duration, args.seed))
        return
    if args.visitors:
        figures = one_server(args.visitors, args.duration)
    else:
        figures = run()
    for key, value in figures.items():
        print(f"{key:36s} {value:10.1f}")
    if args.write or not args.visitors:
        write_results(figures)


if __name__ == "__main__":
    main()

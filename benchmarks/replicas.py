"""Past one process: N ``streamlit run`` replicas behind HAProxy, and how many visitors each setup holds.

``make serve REPLICAS=N`` (``python -m benchmarks.replicas serve --replicas N``) starts N replicas on
consecutive ports (``REPLICA_PORT``, +1, ...; localhost only) and HAProxy on ``PORT`` (8080) in front,
with its configuration made from ``deploy/haproxy.cfg.in`` into ``.serve/haproxy.cfg``: websocket
upgrade (HTTP mode tunnels it; ``timeout tunnel`` keeps a reading visitor's socket open), session
affinity by a cookie HAProxy sets on the first answer (every later request of that browser, the
websocket included, reaches the same replica), health checks on ``/_stcore/health``. ``.serve/cluster.json``
names the processes, so ``make audience TARGET=http://127.0.0.1:8080`` can watch their memory and sessions.
Ctrl+C stops everything.

``capacity_figures`` (part of ``make audience``) measures how many protocol visitors one replica and two
replicas behind HAProxy hold at p95 <= 1 s (every action pooled) with no errors: a short search over
visitor counts (3 probes of 30 s each per setup), and writes ``replicas_capacity_ratio`` (two replicas'
capacity / one's). The first probe for two replicas is 1.6 times one replica's capacity: the goal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from .common import ROOT

TEMPLATE = ROOT / "deploy" / "haproxy.cfg.in"
SERVE_DIR = ROOT / ".serve"
HAPROXY = os.environ.get("QKV_HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"
PROBE_S = 30.0  # measured seconds per capacity probe
PROBES = 3  # probes per setup


def haproxy_config(port: int, replica_ports: list[int], bind: str = "127.0.0.1") -> str:
    """The balancer's configuration for these replicas, from the template."""
    servers = "\n".join(f"    server r{i + 1} 127.0.0.1:{p} check cookie r{i + 1}" for i, p in enumerate(replica_ports))
    text = TEMPLATE.read_text()
    for name, value in (("bind", bind), ("port", str(port)), ("servers", servers)):
        text = text.replace("{" + name + "}", value)
    return text


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, start: int = 20000) -> list[int]:
    """``count`` consecutive ports nobody listens on."""
    for base in range(start, 60000, count + 7):
        ports = list(range(base, base + count))
        if all(_free(p) for p in ports):
            return ports
    raise RuntimeError(f"no {count} consecutive free ports")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
            return r.read().decode().strip() == "ok"
    except OSError:
        return False


class Cluster:
    """N replicas and HAProxy in front; a context manager. ``url`` is the balancer's address."""

    def __init__(self, replicas: int, port: int | None = None, replica_port: int | None = None,
                 bind: str = "127.0.0.1", run_dir: Path | None = None):
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {replicas}")
        if replica_port is None:
            ports = free_ports(replicas + 1)
            port, self.replica_ports = ports[0] if port is None else port, ports[1:]
        else:
            self.replica_ports = list(range(replica_port, replica_port + replicas))
        self.port, self.bind = port or 8080, bind
        self.url = f"http://127.0.0.1:{self.port}"
        self.replica_urls = tuple(f"http://127.0.0.1:{p}" for p in self.replica_ports)
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="qkv-serve-"))
        self.procs: list[subprocess.Popen] = []
        self.haproxy: subprocess.Popen | None = None
        self._stack = ExitStack()

    @property
    def pids(self) -> tuple[int, ...]:
        """The replicas' process ids (HAProxy's own memory and CPU are not the app's)."""
        return tuple(p.pid for p in self.procs)

    def start(self, timeout: float = 90) -> "Cluster":
        """Start every replica, wait until each is healthy, then the balancer, and wait for it to answer."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for port in self.replica_ports:
            if not _free(port):
                raise RuntimeError(f"port {port} is taken: pick another REPLICA_PORT")
            log = self._stack.enter_context(open(self.run_dir / f"replica-{port}.log", "wb"))
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                 "--server.port", str(port), "--server.address", "127.0.0.1",
                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        self._wait(self.replica_urls, timeout)
        cfg = self.run_dir / "haproxy.cfg"
        cfg.write_text(haproxy_config(self.port, self.replica_ports, self.bind))
        check = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"haproxy rejects {cfg}: {check.stdout}{check.stderr}")
        log = self._stack.enter_context(open(self.run_dir / "haproxy.log", "wb"))
        self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        self._wait((self.url,), timeout)
        return self

    def _wait(self, urls, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for url in urls:
            while not _healthy(url):
                if any(p.poll() is not None for p in self.procs + [self.haproxy] if p is not None):
                    self.stop()
                    raise RuntimeError(f"a process exited early; logs in {self.run_dir}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{url} did not become healthy within {timeout} s; logs in {self.run_dir}")
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the balancer, then every replica."""
        for proc in ([self.haproxy] if self.haproxy else []) + self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in ([self.haproxy] if self.haproxy else []) + self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._stack.close()

    def describe(self) -> dict:
        return {"url": self.url, "pids": list(self.pids), "replica_urls": list(self.replica_urls),
                "haproxy_pid": self.haproxy.pid if self.haproxy else None}

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def running_target(url: str):
    """A ``Target`` for a server that is already running; the processes of ``make serve`` if it is that one."""
    from .audience import Target

    state = SERVE_DIR / "cluster.json"
    if state.exists():
        described = json.loads(state.read_text())
        alive = all(Path(f"/proc/{p}").exists() for p in described["pids"])
        if alive and described["url"].rstrip("/") == url.rstrip("/"):
            return Target(url, tuple(described["pids"]), tuple(described["replica_urls"]))
    print(f"note: {url} is not the cluster in {state}: server memory and CPU are not measured")
    return Target(url)


def serve(replicas: int, port: int, replica_port: int, bind: str) -> None:
    """``make serve``: run the cluster until Ctrl+C (or SIGTERM)."""
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with Cluster(replicas, port, replica_port, bind, SERVE_DIR) as cluster:
        (SERVE_DIR / "cluster.json").write_text(json.dumps(cluster.describe(), indent=2) + "\n")
        print(f"{replicas} replica(s) on ports {cluster.replica_ports[0]}-{cluster.replica_ports[-1]}, "
              f"HAProxy on http://{bind}:{port} (config {SERVE_DIR / 'haproxy.cfg'}). Ctrl+C stops.", flush=True)
        try:
            while all(p.poll() is None for p in cluster.procs + [cluster.haproxy]):
                time.sleep(1)
            print("a process exited: stopping", flush=True)
        except KeyboardInterrupt:
            pass
        finally:
            (SERVE_DIR / "cluster.json").unlink(missing_ok=True)


# ---- capacity

def capacity(replicas: int, first: int, lo: int = 0, hi: int | None = None, probes: int = PROBES,
             duration: float = PROBE_S) -> tuple[int, list[dict]]:
    """Largest visitor count (of those probed) that ``replicas`` behind HAProxy hold at p95 <= 1 s, no errors.

    The p95 is over every action of the probe pooled: a 30 s probe gives each action only a few dozen
    samples, too few for a steady p95 of its own (the curve's levels report each action's).
    ``lo`` is a count known to hold, ``hi`` one known not to; the first probe is ``first``; then doubling
    while every probe holds, else bisection.
    """
    from .audience import GOAL_P95_MS, MARKERS, Target, level, show, warm

    most = len(MARKERS)
    seen = []
    with Cluster(replicas) as cluster:
        target = Target(cluster.url, cluster.pids, cluster.replica_urls)
        for url in cluster.replica_urls:
            warm(url)
        n = max(1, min(first, most))
        for _ in range(probes):
            result = level(target, n, duration)
            print(f"[{replicas} replica(s)]", end=" ")
            show(result)
            holds = result["p95_all_ms"] <= GOAL_P95_MS and result["errors"] == 0
            seen.append({**result, "holds": holds})
            lo, hi = (max(lo, n), hi) if holds else (lo, n if hi is None else min(hi, n))
            if hi is None:
                if n >= most:
                    break
                n = min(2 * n, most)
            elif hi - lo <= max(2, lo // 10):
                break
            else:
                n = (lo + hi) // 2
    return lo, seen


def capacity_figures(curve: dict[str, float]) -> dict[str, float]:
    """One replica's and two replicas' capacity behind HAProxy, and their ratio."""
    from .audience import GOAL_P95_MS, LEVELS

    held = [n for n in LEVELS if curve.get(f"audience_{n}_p95_ms", 1e9) <= GOAL_P95_MS
            and curve.get(f"audience_{n}_errors", 1) == 0]
    failed = [n for n in LEVELS if n not in held]
    lo = max(held, default=0)
    hi = min((n for n in failed if n > lo), default=None)
    first = (lo + hi) // 2 if hi else 2 * lo
    one, seen_one = capacity(1, first, 0, None)
    two, seen_two = capacity(2, max(2, round(1.6 * one)), one, None)
    (ROOT / "test-artifacts" / "audience-capacity.json").write_text(json.dumps({"1": seen_one, "2": seen_two}, indent=2))
    figures = {"replicas_1_capacity": one, "replicas_2_capacity": two}
    if one:
        figures["replicas_capacity_ratio"] = two / one
    else:  # no ratio to write: one replica held none of the counts probed (a machine busy with other work?)
        print("one replica held none of the visitor counts probed: no replicas_capacity_ratio")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="N replicas and HAProxy until Ctrl+C")
    s.add_argument("--replicas", type=int, default=2)
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--replica-port", type=int, default=8501)
    s.add_argument("--bind", default="0.0.0.0")
    c = sub.add_parser("capacity", help="the capacity search alone")
    c.add_argument("--replicas", type=int, default=1)
    c.add_argument("--first", type=int, default=40)
    c.add_argument("--probes", type=int, default=PROBES)
    c.add_argument("--duration", type=float, default=PROBE_S)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.replicas, args.port, args.replica_port, args.bind)
    else:
        print(capacity(args.replicas, args.first, probes=args.probes, duration=args.duration)[0])


if __name__ == "__main__":
    main()

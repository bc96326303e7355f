"""A measuring tap on Streamlit's websocket, for the cross-check only (never for serving visitors).

Chromium reports websocket frames to DevTools from the page's main thread, so a frame that arrives
while the page is still drawing the previous deltas is reported late: "server-side" times read there
include the browser's own work. This tap sits on the TCP path between a client and the server
(``http://127.0.0.1:<tap port>`` forwards to the server) and timestamps, at the socket, each
``rerun_script`` the client sends and the ``script_finished`` the server sends back. It reads the
server's side as fast as the server writes, whatever the client's pace (it buffers for the client), so
a page busy drawing does not hold back the timestamps. It reads frame
headers (RFC 6455: client frames masked, server frames not) and parses only small payloads; the
server runs without websocket compression (Streamlit's default), so payloads are plain protobuf.
Every connection that does not open ``/_stcore/stream`` (the page, its assets) is relayed untouched.

The tap is a process of its own (``Tap`` starts it and reads its records through a pipe): in the
benchmark's process its timestamps waited for the GIL behind Playwright and the protocol visitor.
It may be given CPUs to run on (the cross-check puts it beside the server). For every run it also
reads, from the kernel's scheduler statistics (``/proc/<pid>/task/<tid>/schedstat``, nanoseconds),
how long the server's threads ran and how long they sat runnable waiting for a CPU, and how much CPU
the processes it is told to watch (the visitor's Chromium) used between the same two frames.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from dataclasses import dataclass

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from .common import cpu_s

SMALL = 4096  # payloads up to this size are parsed; control messages are far smaller, deltas larger
LOOK_S = 0.005  # during a run, the server's threads are read at most this often (as its frames arrive)


class Frames:
    """Incremental RFC 6455 frame reader: feed bytes, get (opcode, payload or None for big frames)."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes):
        self.buf += data
        while True:
            b = self.buf
            if len(b) < 2:
                return
            opcode, masked, n, i = b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F, 2
            if n == 126:
                if len(b) < 4:
                    return
                n, i = int.from_bytes(b[2:4], "big"), 4
            elif n == 127:
                if len(b) < 10:
                    return
                n, i = int.from_bytes(b[2:10], "big"), 10
            mask = b[i:i + 4] if masked else None
            i += 4 if masked else 0
            if len(b) < i + n:
                return
            payload = None
            if n <= SMALL:
                payload = bytes(b[i:i + n])
                if mask:
                    payload = bytes(x ^ mask[k % 4] for k, x in enumerate(payload))
            del b[:i + n]
            yield opcode, payload


# ---- the kernel's view of a process: CPU used and time spent waiting for a CPU, per thread

Sched = dict[int, tuple[int, int]]  # thread id -> (ns on a CPU, ns runnable but waiting for one)


def sched_of(pids, skip=()) -> Sched:
    """Every live thread of ``pids`` (but those in ``skip``): ns run and ns waited for a CPU (schedstat)."""
    out: Sched = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            if int(tid) in skip:
                continue
            try:
                ran, waited = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[:2]
            except (OSError, ValueError):
                continue  # the thread ended meanwhile
            out[int(tid)] = (int(ran), int(waited))
    return out


def sched_delta_ms(before: Sched, after: Sched) -> tuple[float, float]:
    """(ms run, ms waited for a CPU) between two readings, over the threads in the second.

    A thread born in between counts from zero. The kernel keeps no per-thread figures for a thread
    that has ended, so ``after`` should merge every reading taken meanwhile (the last one wins).
    """
    ran = waited = 0
    for tid, (r, w) in after.items():
        r0, w0 = before.get(tid, (0, 0))
        ran, waited = ran + r - r0, waited + w - w0
    return ran / 1e6, waited / 1e6


def split_cores(cpus) -> tuple[set[int], set[int]]:
    """The CPUs we may use, split in two: (the server's: the first one, everyone else's: the rest)."""
    ordered = sorted(cpus)
    if len(ordered) < 2:
        raise ValueError(f"pinning needs at least 2 CPUs to split between server and visitors, got {ordered}")
    return {ordered[0]}, set(ordered[1:])


# ---- one finished run, as the tap saw it

@dataclass(frozen=True)
class Record:
    """One rerun at the tap: wall time, the server's CPU (ticks and schedstat), its wait, the watched CPU."""

    ms: float  # rerun_script in -> script_finished out, at the socket
    cpu_ms: float  # the server process's CPU, clock ticks (10 ms steps; ended threads included)
    ran_ms: float  # the server's threads on a CPU, schedstat (ns; threads that ended meanwhile lost)
    waited_ms: float  # the server's threads runnable but waiting for a CPU
    watched_ms: float  # CPU used by the watched processes (the visitor's Chromium), schedstat
    bytes: int  # what the server sent during the run (frames with their headers)


class Tap:
    """Forward 127.0.0.1:``port`` to the server at ``upstream``; ``times`` holds each rerun's server-side ms.

    ``pid`` is the server's (for its CPU figures); ``cpus`` the CPUs the tap's process may run on
    (None: wherever this process may); ``realtime`` asks for a real-time priority (SCHED_FIFO, needs the
    privilege: ``self.realtime`` says whether it got it), so that busy processes on its CPUs do not delay
    its timestamps. ``watch(pids)`` names the processes whose CPU each record counts.
    """

    def __init__(self, upstream_port: int, port: int, pid: int | None = None, cpus=None, realtime: bool = False):
        self.upstream_port, self.port, self.pid, self.cpus = upstream_port, port, pid, cpus
        self.realtime = realtime
        self.records: list[Record] = []
        self._conn = None
        self._proc = None

    def __enter__(self) -> "Tap":
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, daemon=True,
                                 args=(self.upstream_port, self.port, self.pid, self.cpus, self.realtime, child))
        self._proc.start()
        child.close()
        if not self._conn.poll(30):
            self.__exit__()
            raise RuntimeError(f"the tap did not start listening on port {self.port} within 30 s")
        self.realtime = self._conn.recv()
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)

    @property
    def own_pid(self) -> int:
        """The tap's own process."""
        return self._proc.pid

    def watch(self, pids) -> None:
        """From now on each record counts these processes' CPU too (all their threads)."""
        self._conn.send(("watch", sorted(pids)))
        while (got := self._conn.recv()) != "ok":  # the tap's acknowledgement: no run starts before it holds
            self.records.append(got)  # the list (a record still in the pipe comes first)

    def _drain(self) -> list[Record]:
        # The tap sends a run's record before it passes the script_finished frame on, so once a client
        # has seen the end of its run, the record is already in the pipe.
        while self._conn.poll():
            self.records.append(self._conn.recv())
        return self.records

    @property
    def times(self) -> list[float]:
        """Each finished run's server-side ms, in order (the records that have arrived so far)."""
        return [r.ms for r in self._drain()]

    def last(self) -> Record:
        """The last finished run's record."""
        return self._drain()[-1]


def _serve(upstream_port: int, port: int, pid: int | None, cpus, realtime: bool, conn) -> None:
    """The tap's process: relay every connection, send a Record per finished run through ``conn``."""
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    if realtime:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except (PermissionError, AttributeError):
            realtime = False
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    relay = _Relay(upstream_port, pid, conn)
    loop.add_reader(conn.fileno(), relay.command)
    loop.run_until_complete(asyncio.start_server(relay.client, "127.0.0.1", port))
    conn.send(realtime)  # ready
    loop.run_forever()


class _Relay:
    def __init__(self, upstream_port: int, pid: int | None, conn):
        self.upstream_port, self.pid, self.conn = upstream_port, pid, conn
        self.watched: list[int] = []

    def command(self) -> None:
        try:
            kind, value = self.conn.recv()
        except EOFError:  # the benchmark has gone: so does the tap
            asyncio.get_event_loop().stop()
            return
        if kind == "watch":
            self.watched = list(value)
        self.conn.send("ok")

    async def client(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        state = {"sent": None}
        first = await reader.read(65536)
        stream = first.startswith(b"GET /_stcore/stream")
        up_writer.write(first)
        await asyncio.gather(self._pipe(reader, up_writer, self._outgoing if stream else None, state),
                             self._pipe(up_reader, writer, self._incoming if stream else None, state),
                             return_exceptions=True)

    async def _pipe(self, reader, writer, watch, state) -> None:
        frames, headers_done = Frames(), watch == self._outgoing  # the request's headers went out with `first`
        try:
            while data := await reader.read(65536):
                now = time.perf_counter()
                if watch == self._incoming and state["sent"] is not None:
                    state["bytes"] += len(data)
                if watch is not None:  # read the frames before passing them on: the client acts on them at once
                    frames_data = data
                    if not headers_done:  # the server's 101 answer, then frames
                        end = data.find(b"\r\n\r\n")
                        headers_done, frames_data = end >= 0, data[end + 4:] if end >= 0 else b""
                    for opcode, payload in frames.feed(frames_data):
                        if opcode == 2 and payload is not None:
                            watch(payload, now, state)
                if watch == self._incoming and state["sent"] is not None and now - state["looked"] > LOOK_S:
                    # the run's script thread may end before its last frame is out: read it while it lives
                    # (only threads born during the run; the others are read again at the end)
                    state["looked"] = now
                    state["server"].update(sched_of([self.pid], skip=state["readings"][1]) if self.pid else {})
                writer.write(data)  # no drain: a client slow to read (a busy page) must not hold back the
                # reading of the server's frames, or their timestamps would include the client's delay
        finally:
            writer.close()

    def _readings(self) -> tuple[float, Sched, Sched]:
        if self.pid is None:
            return 0.0, {}, {}
        return cpu_s(self.pid), sched_of([self.pid]), sched_of(self.watched)

    def _outgoing(self, payload: bytes, now: float, state: dict) -> None:
        msg = BackMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a BackMsg
            return
        if msg.WhichOneof("type") == "rerun_script":
            state["sent"], state["looked"], state["readings"], state["bytes"] = now, now, self._readings(), 0
            state["server"] = dict(state["readings"][1])

    def _incoming(self, payload: bytes, now: float, state: dict) -> None:
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg
            return
        if (msg.WhichOneof("type") == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
                and state["sent"] is not None):
            (cpu0, server0, watched0), (cpu1, server1, watched1) = state["readings"], self._readings()
            ran, waited = sched_delta_ms(server0, {**state["server"], **server1})
            self.conn.send(Record(ms=(now - state["sent"]) * 1000, cpu_ms=1000 * (cpu1 - cpu0), ran_ms=ran,
                                  waited_ms=waited, watched_ms=sched_delta_ms(watched0, watched1)[0],
                                  bytes=state["bytes"]))
            state["sent"] = None

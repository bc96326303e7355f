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
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

SMALL = 4096  # payloads up to this size are parsed; control messages are far smaller, deltas larger


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


class Tap:
    """Forward 127.0.0.1:``port`` to the server at ``upstream``; ``times`` holds each rerun's server-side ms."""

    def __init__(self, upstream_port: int, port: int, pid: int | None = None):
        self.upstream_port, self.port, self.pid = upstream_port, port, pid
        self.times: list[float] = []
        self.cpu_ms: list[float] = []  # the server process's CPU time between the same two frames
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "Tap":
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()

    async def _client(self, reader, writer) -> None:
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
                if watch is not None:  # read the frames before passing them on: the client acts on them at once
                    frames_data = data
                    if not headers_done:  # the server's 101 answer, then frames
                        end = data.find(b"\r\n\r\n")
                        headers_done, frames_data = end >= 0, data[end + 4:] if end >= 0 else b""
                    for opcode, payload in frames.feed(frames_data):
                        if opcode == 2 and payload is not None:
                            watch(payload, now, state)
                writer.write(data)  # no drain: a client slow to read (a busy page) must not hold back the
                # reading of the server's frames, or their timestamps would include the client's delay
        finally:
            writer.close()

    def _outgoing(self, payload: bytes, now: float, state: dict) -> None:
        msg = BackMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a BackMsg
            return
        if msg.WhichOneof("type") == "rerun_script":
            state["sent"], state["cpu"] = now, self._cpu()

    def _incoming(self, payload: bytes, now: float, state: dict) -> None:
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg
            return
        if (msg.WhichOneof("type") == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
                and state["sent"] is not None):
            self.cpu_ms.append(1000 * (self._cpu() - state["cpu"]))
            self.times.append((now - state["sent"]) * 1000)
            state["sent"] = None

    def _cpu(self) -> float:
        """CPU seconds the server has used (0 when no pid was given)."""
        if self.pid is None:
            return 0.0
        fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

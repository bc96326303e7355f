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

    def __init__(self, upstream_port: int, port: int):
        self.upstream_port, self.port = upstream_port, port
        self.times: list[float] = []
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
                writer.write(data)  # no drain: a client slow to read (a busy page) must not hold back the
                # reading of the server's frames, or their timestamps would include the client's delay
                if watch is None:
                    continue
                if not headers_done:  # the server's 101 answer, then frames
                    end = data.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    headers_done, data = True, data[end + 4:]
                for opcode, payload in frames.feed(data):
                    if opcode == 2 and payload is not None:
                        watch(payload, now, state)
        finally:
            writer.close()

    def _outgoing(self, payload: bytes, now: float, state: dict) -> None:
        msg = BackMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a BackMsg
            return
        if msg.WhichOneof("type") == "rerun_script":
            state["sent"] = now

    def _incoming(self, payload: bytes, now: float, state: dict) -> None:
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg
            return
        if (msg.WhichOneof("type") == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
                and state["sent"] is not None):
            self.times.append((now - state["sent"]) * 1000)
            state["sent"] = None

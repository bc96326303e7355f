"""Render every page and every /attention view of a running server over Streamlit's websocket.

No browser: a ``websockets`` client sends the ``BackMsg`` a browser sends when it opens a page
(``rerun_script`` with the page's name and query string) and reads ``ForwardMsg`` frames until
``script_finished``. Each visit is a connection of its own, so a session of its own, as a new
visitor's would be. The server's memory is read after each page: what a host that keeps the server
running will see.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from .common import rss_mb

# (label, page name as a browser's URL path sends it, query string): home, the story's pages, and every
# /attention view with its default text. Order: the heaviest view last, as a visitor reading on would.
VISITS: tuple[tuple[str, str, str], ...] = (
    ("home", "", ""),
    ("smoothing", "smoothing", ""),
    ("lookup", "lookup", ""),
    ("attention", "attention", ""),
    ("attention?view=steps", "attention", "view=steps"),
    ("attention?view=heads", "attention", "view=heads"),
    ("attention?view=context", "attention", "view=context"),
    ("attention?view=scaling", "attention", "view=scaling"),
    ("attention?view=explain", "attention", "view=explain"),
)
# The error box qkv_ui.model shows when the model cannot load (say, a host without its package).
MODEL_FAILED = "The pretrained model could not be loaded"


@dataclass(frozen=True)
class Visit:
    """What one page visit showed: how many elements, which exceptions (or a failed model load), memory after."""

    label: str
    elements: int
    exceptions: tuple[str, ...]
    status: str
    rss_mb: float


async def _visit(ws, page_name: str, query: str, timeout: float) -> tuple[int, list[str], str]:
    """Run one page on an open connection as a browser opening it would; what it rendered."""
    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page_name
    await ws.send(msg.SerializeToString())
    elements, exceptions = 0, []
    async with asyncio.timeout(timeout):
        while True:
            frame = ForwardMsg.FromString(await ws.recv())
            kind = frame.WhichOneof("type")
            if kind == "delta" and frame.delta.WhichOneof("type") == "new_element":
                elements += 1
                element = frame.delta.new_element
                if element.WhichOneof("type") == "exception":
                    exceptions.append(f"{element.exception.type}: {element.exception.message}")
                elif element.WhichOneof("type") == "alert" and element.alert.format == Alert.ERROR:
                    if element.alert.body.startswith(MODEL_FAILED):  # /lookup's own error boxes are content
                        exceptions.append(f"error box: {element.alert.body}")
            elif kind == "script_finished":
                return elements, exceptions, ForwardMsg.ScriptFinishedStatus.Name(frame.script_finished)


def visit_all(port: int, pid: int, visits=VISITS, timeout: float = 120, settle_s: float = 1.0) -> list[Visit]:
    """Open each page in turn on the server at ``port`` (process ``pid``); its memory after each.

    Every visit is its own session (a connection of its own) and stays open until the last one is
    measured, like visitors who keep their tabs open.
    """
    import websockets

    async def run() -> list[Visit]:
        seen = []
        async with contextlib.AsyncExitStack() as stack:
            for label, page_name, query in visits:
                ws = await stack.enter_async_context(websockets.connect(
                    f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                    open_timeout=timeout))
                elements, exceptions, status = await _visit(ws, page_name, query, timeout)
                await asyncio.sleep(settle_s)  # let the run's last messages and caches settle
                seen.append(Visit(label, elements, tuple(exceptions), status, rss_mb(pid)))
        return seen

    return asyncio.run(run())


def problems(visits: list[Visit]) -> list[str]:
    """Every visit that raised, ended other than successfully, or showed nothing."""
    found = []
    for v in visits:
        found += [f"{v.label}: {e}" for e in v.exceptions]
        if v.status != "FINISHED_SUCCESSFULLY":
            found.append(f"{v.label}: script ended {v.status}")
        if v.elements < 3:
            found.append(f"{v.label}: only {v.elements} elements rendered")
    return found

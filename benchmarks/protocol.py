"""A browser tab without the browser: Streamlit's websocket protocol, spoken the way the frontend speaks it.

One ``Tab`` is one websocket to ``/_stcore/stream`` (subprotocol ``streamlit``), hence one server
session. It sends ``BackMsg.rerun_script`` with what the frontend puts there and reads ``ForwardMsg``
frames until ``script_finished``. Copied from a real Chromium's frames (recorded with Playwright;
``tests/browser/test_audience_protocol.py`` checks a head move against Chromium's own message):

- every widget on the page is in ``widget_states`` on every rerun. The tab holds each widget's state as
  the frontend does: the server's value when a run sets one (``set_value``), else what the visitor last
  chose, else the widget's default. Sliders send ``double_array_value``,
  select sliders and segmented controls / pills their shown labels as ``string_array_value``, toggles
  ``bool_value``, text boxes ``string_value``, whole-number inputs ``int_value``. Charts, buttons and data
  editors send nothing until the visitor uses them; a chart selection is JSON in ``string_value``
  (``{"selection": {"pick": [{"layer": 2, "head": 4}]}}``) and stays while the chart is on the page;
- a page switch sends the target's ``page_script_hash`` (from the ``navigation`` message), an empty
  query string and only the sidebar's widgets;
- the query string of every later rerun is the one the server last published (``page_info_changed``);
- large deltas (``metadata.cacheable``) are kept by hash and reported in ``cached_message_hashes``; the
  server then sends ``ref_hash`` instead of the element. An entry not used for 2 runs is dropped, as the
  frontend's cache (``global.maxCachedMessageAge``) drops it.

- a widget drawn inside an ``st.fragment`` (its delta carries ``fragment_id``; the pages' live parts,
  ``qkv_ui/live.py``) reruns that fragment alone: the request names it in ``fragment_id``, still with every
  widget's state, and the server sends only the fragment's deltas. The tab keeps the rest of the page:
  its widgets are the old ones outside that fragment plus the new run's.

Widget ids are never built here: they come from the server's deltas (``$$ID-<hash>-<key>``) and are
found by their key, so the same code drives a server with other model sizes or widget parameters.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlparse

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

SIDEBAR = 1  # delta_path[0]: 0 the main area, 1 the sidebar
MAX_CACHE_AGE = 2  # runs a cached message survives unused (Streamlit's global.maxCachedMessageAge)
EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
DONE = ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")  # a whole run's end, or a fragment's
# Widgets that carry their value in their proto (the frontend sends it on every rerun).
VALUED = ("checkbox", "slider", "button_group", "text_area", "text_input", "number_input")


class ProtocolError(RuntimeError):
    """The server answered something a browser would not have accepted."""


@dataclass
class Widget:
    """One widget of the last run: its id, element kind, proto and place."""

    id: str
    kind: str
    proto: object
    sidebar: bool
    fragment: str = ""  # the id of the st.fragment it was drawn in ('' outside any)

    @property
    def key(self) -> str:
        """The user key at the end of the id (``$$ID-<hash>-<key>``), or '' for an unkeyed widget."""
        return self.id.split("-", 2)[2] if self.id.startswith("$$ID-") and self.id.count("-") >= 2 else ""

    def state(self, held: WidgetState | None = None) -> WidgetState | None:
        """What the frontend sends for this widget: the server's value when the run set one (``set_value``),
        else what the tab already held (``held``), else the widget's default; None for widgets that send nothing."""
        p = self.proto
        if self.kind not in VALUED:
            return None
        if held is not None and not p.set_value:
            return held
        ws, given = WidgetState(id=self.id), p.set_value
        if self.kind == "checkbox":
            ws.bool_value = p.value if given else p.default
        elif self.kind == "slider" and p.type == Slider.SELECT_SLIDER:
            ws.string_array_value.data.extend(p.raw_value if given else [p.options[int(i)] for i in p.default])
        elif self.kind == "slider":
            ws.double_array_value.data.extend(p.value if given else p.default)
        elif self.kind == "button_group":
            ws.string_array_value.data.extend(p.raw_values if given else [p.options[i].content for i in p.default])
        elif self.kind in ("text_area", "text_input"):
            ws.string_value = p.value if given and p.HasField("value") else p.default
        else:  # number_input
            number = p.value if given and p.HasField("value") else p.default
            if p.data_type == NumberInput.INT:
                ws.int_value = int(number)
            else:
                ws.double_value = number
        return ws


def value_of(state: WidgetState | None):
    """A widget state as Python: one number or label for one-element arrays, else the list, text or flag."""
    kind = state.WhichOneof("value") if state is not None else None
    if kind in ("double_array_value", "string_array_value"):
        data = list(getattr(state, kind).data)
        return data[0] if len(data) == 1 else data
    return getattr(state, kind) if kind else None


@dataclass
class Run:
    """What one script run sent back: elements in order, the page's widgets, the finish, timing."""

    widgets: dict[str, Widget] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)  # headings, markdown, captions, code, alerts, text: in order
    charts: int = 0
    exceptions: list[str] = field(default_factory=list)
    status: str = ""
    server_ms: float = 0.0  # rerun request sent -> script_finished received
    bytes: int = 0
    frames: list[bytes] = field(default_factory=list)  # every frame of the run, raw (for the leak check)

    def widget(self, key: str) -> Widget:
        """The widget whose user key is ``key``; KeyError naming the keys there are."""
        for w in self.widgets.values():
            if w.key == key:
                return w
        raise KeyError(f"no widget with key {key!r} in this run (keys: {sorted(w.key for w in self.widgets.values())})")

    def has_text(self, needle: str) -> bool:
        return any(needle in t for t in self.texts)


class Tab:
    """One visitor's browser tab, as far as the server can tell: one websocket session."""

    def __init__(self, base: str, timeout: float = 20.0):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.ws = None
        self.cookie = ""
        self.query = ""
        self.path = ""
        self.pages: dict[str, str] = {}  # url path ("" for the home page) -> page_script_hash
        self.page_hash = ""
        self.last: Run | None = None
        self.held: dict[str, WidgetState] = {}  # widget id -> the state this tab sends for it (the frontend's)
        self.cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (message, run it was last used in)
        self.runs = 0

    async def open(self, path: str, query: str = "") -> Run:
        """Load the page's HTML (as a browser does: it sets a balancer's affinity cookie), connect, first run."""
        import websockets

        self.cookie = await asyncio.to_thread(self._get_cookie, f"{self.base}/{path}")
        url = urlparse(self.base)
        scheme = "wss" if url.scheme == "https" else "ws"
        self.ws = await websockets.connect(
            f"{scheme}://{url.netloc}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
            open_timeout=self.timeout, additional_headers={"Cookie": self.cookie} if self.cookie else None,
            compression=None)
        self.path, self.query = path, query
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = path
        return await self._run(msg)

    def _get_cookie(self, url: str) -> str:
        with urllib.request.urlopen(url, timeout=self.timeout) as r:
            r.read()
            cookies = r.headers.get_all("Set-Cookie") or []
        return "; ".join(c.split(";", 1)[0] for c in cookies)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    # ---- what a visitor does

    async def set(self, key: str, state: WidgetState | None = None, **value) -> Run:
        """Change one widget (by key) and rerun with every widget's state, as the frontend does.

        ``value`` is one WidgetState field, e.g. ``double_array_value=[3.0]``, ``string_value="hi"``.
        """
        widget = self.last.widget(key)
        self.held[widget.id] = state if state is not None else _state(widget.id, **value)
        return await self._rerun(widget.fragment)

    def value(self, key: str):
        """A widget's value as this tab holds it (what the next rerun will send)."""
        return value_of(self.held.get(self.last.widget(key).id))

    async def switch(self, path: str) -> Run:
        """Open another page from the sidebar: its script hash, no query string, the sidebar's widgets only."""
        if path not in self.pages:
            raise ProtocolError(f"no page at /{path} (pages: {sorted(self.pages)})")
        self.path, self.query = path, ""
        self.held = {i: s for i, s in self.held.items() if i in self.last.widgets and self.last.widgets[i].sidebar}
        msg = BackMsg()
        msg.rerun_script.page_script_hash = self.pages[path]
        msg.rerun_script.widget_states.widgets.extend(self.held.values())
        return await self._run(msg)

    # ---- the wire

    async def _rerun(self, fragment: str = "") -> Run:
        msg = BackMsg()
        rs = msg.rerun_script
        rs.query_string = self.query
        rs.page_script_hash = self.page_hash
        rs.widget_states.widgets.extend(self.held[i] for i in self.last.widgets if i in self.held)
        rs.fragment_id = fragment
        return await self._run(msg, fragment)

    async def _run(self, msg: BackMsg, fragment: str = "") -> Run:
        rs = msg.rerun_script
        rs.cached_message_hashes.extend(self.cache)
        ctx = rs.context_info
        ctx.timezone, ctx.locale, ctx.color_scheme = "UTC", "en-US", "light"
        ctx.url = f"{self.base}/{self.path}"
        run = Run()
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        async with asyncio.timeout(self.timeout):
            while True:
                raw = await self.ws.recv()
                frame = ForwardMsg.FromString(raw)
                kind = frame.WhichOneof("type")
                if kind == "script_finished":
                    if frame.script_finished == EARLY:
                        continue  # a run cut short by our own next request: not the end
                    run.server_ms = (time.perf_counter() - started) * 1000
                    run.status = ForwardMsg.ScriptFinishedStatus.Name(frame.script_finished)
                    break
                run.bytes += len(raw)
                run.frames.append(raw)
                if kind == "new_session":
                    run.widgets.clear()
                    run.texts.clear()
                    run.charts = 0
                    self.page_hash = frame.new_session.page_script_hash or self.page_hash
                elif kind == "navigation":
                    self.pages = {p.url_pathname: p.page_script_hash for p in frame.navigation.app_pages}
                    self.page_hash = frame.navigation.page_script_hash or self.page_hash
                elif kind == "page_info_changed":
                    self.query = frame.page_info_changed.query_string
                elif kind == "ref_hash":
                    if frame.ref_hash not in self.cache:
                        raise ProtocolError(f"the server referred to a message we never had ({frame.ref_hash})")
                    cached, _ = self.cache[frame.ref_hash]
                    self.cache[frame.ref_hash] = (cached, self.runs)
                    self._element(cached, frame.metadata.delta_path, run)
                elif kind == "delta":
                    if frame.metadata.cacheable:
                        self.cache[frame.hash] = (frame, self.runs)
                    self._element(frame, frame.metadata.delta_path, run)
        self.runs += 1
        self.cache = {h: (m, used) for h, (m, used) in self.cache.items() if self.runs - used < MAX_CACHE_AGE}
        if fragment:  # only the fragment was redrawn: the rest of the page stays, as in the browser
            kept = {i: w for i, w in self.last.widgets.items() if w.fragment != fragment and i not in run.widgets}
            run.widgets = {**kept, **run.widgets}
        held = {}
        for i, w in run.widgets.items():  # the frontend's widget states after the run: the page's widgets only
            state = w.state(self.held.get(i)) if w.kind in VALUED else self.held.get(i)
            if state is not None:
                held[i] = state
        self.held = held
        self.last = run
        return run

    @staticmethod
    def _element(frame: ForwardMsg, path, run: Run) -> None:
        if frame.delta.WhichOneof("type") != "new_element":
            return
        element = frame.delta.new_element
        kind = element.WhichOneof("type")
        body = getattr(element, kind)
        if getattr(body, "id", ""):
            run.widgets[body.id] = Widget(body.id, kind, body, bool(path) and path[0] == SIDEBAR,
                                          frame.delta.fragment_id)
        if kind in ("vega_lite_chart", "arrow_vega_lite_chart"):
            run.charts += 1
        elif kind == "exception":
            run.exceptions.append(f"{body.type}: {body.message}")
        elif kind in ("heading", "markdown", "text"):
            run.texts.append(body.body)
        elif kind == "code":
            run.texts.append(body.code_text)
        elif kind == "alert":
            run.texts.append(body.body)
            if body.format == Alert.ERROR and body.body.startswith("The pretrained model could not be loaded"):
                run.exceptions.append(f"error box: {body.body}")


def _state(widget_id: str, **value) -> WidgetState:
    """A WidgetState with one value field set: ``_state(id, double_array_value=[3.0])``."""
    (name, data), = value.items()
    ws = WidgetState(id=widget_id)
    if name.endswith("_array_value"):
        getattr(ws, name).data.extend(data)
    else:
        setattr(ws, name, data)
    return ws


def selection(widget_id: str, name: str, points: list[dict]) -> WidgetState:
    """A chart's selection as the frontend sends it after a click: JSON in ``string_value``."""
    return WidgetState(id=widget_id, string_value=json.dumps({"selection": {name: points}}, separators=(",", ":")))

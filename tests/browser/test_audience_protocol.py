"""The protocol visitor of ``make audience`` on a live server: it speaks as Chromium does and its checks hold.

No timing here (speed lives in ``benchmarks/``): these tests check that the visitor sends what the
frontend sends, that every action of its cycle gets the answer it checks for, that two visitors see
only their own text, and that HAProxy keeps each visitor on one replica.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from benchmarks.audience import MARKERS, Tally, Visitor, active_sessions
from benchmarks.protocol import DONE, Tab
from benchmarks.replicas import Cluster
from qkv_ui.pages import LOOKUP

from .helpers import open_view, rerun, run_coroutine

OTHERS = re.compile(rb"\b(" + b"|".join(m.encode() for m in MARKERS) + rb")\b")


def _states(msg: BackMsg) -> dict[str, str]:
    """A rerun's widget states as id -> printed value (chart selections and all)."""
    return {w.id: str(getattr(w, w.WhichOneof("value"))) for w in msg.rerun_script.widget_states.widgets}


def test_protocol_tab_sends_what_chromium_sends(server, page):
    """Head slider one step on a fresh /attention: the same widget ids and values, page hash and fragment."""
    sent: list[BackMsg] = []

    def record(payload):
        if not isinstance(payload, str):
            msg = BackMsg.FromString(payload)
            if msg.WhichOneof("type") == "rerun_script":
                sent.append(msg)

    page.on("websocket", lambda ws: ws.on("framesent", record))
    open_view(page, f"{server.url}/attention", "Attention on your text")
    slider = page.get_by_role("slider", name="Head")
    slider.focus()
    with rerun(page):
        slider.press("ArrowRight")
    chromium = sent[-1]

    async def protocol() -> BackMsg:
        tab = Tab(server.url, timeout=60)
        await tab.open("attention")
        out: list[bytes] = []
        send = tab.ws.send

        async def tapped(data):
            out.append(data)
            await send(data)

        tab.ws.send = tapped
        await tab.set("head", double_array_value=[tab.value("head") + 1])
        await tab.close()
        return BackMsg.FromString(out[-1])

    ours = run_coroutine(protocol())
    assert _states(ours) == _states(chromium)
    assert ours.rerun_script.page_script_hash == chromium.rerun_script.page_script_hash
    assert ours.rerun_script.query_string == chromium.rerun_script.query_string
    assert chromium.rerun_script.fragment_id  # the head slider sits in a live part (qkv_ui.live): a fragment run
    assert ours.rerun_script.fragment_id == chromium.rerun_script.fragment_id


def test_visitor_cycle_gets_every_answer(server):
    """One visitor's whole cycle: each action's answer passes its checks (they raise when it does not)."""
    tally = Tally()
    visitor = Visitor(0, MARKERS[0], OTHERS, server.url, tally, seed=1)
    visitor.loop = 1
    done = []

    async def go() -> None:
        await visitor.arrive()
        try:
            for name, action in visitor.cycle():
                run = await action()
                visitor.check_run(run, name)
                done.append(name)
        finally:
            await visitor.leave()

    run_coroutine(go())
    assert done == ["text", "head", "token", "headclick", "switch", "query", "temperature", "switch", "sigma",
                    "switch"]
    assert not tally.errors and not tally.crosstalk


def test_visitor_checks_catch_a_wrong_answer(server):
    """The checks can fail: a query the server never answered is reported, not passed."""
    visitor = Visitor(0, MARKERS[2], OTHERS, server.url, Tally(), seed=1)

    async def go() -> None:
        await visitor.arrive()
        try:
            await visitor.switch(LOOKUP)
            visitor.marker = MARKERS[3]  # the visitor now expects another query than the box holds
            run = await visitor.tab.set("q", string_value=f"{MARKERS[2]} tricks 0")
            assert not run.has_text(f"KeyError: '{MARKERS[3]} tricks 0'")
            with pytest.raises(AssertionError, match="another visitor's text"):
                visitor.check_run(run, "query")
        finally:
            await visitor.leave()

    run_coroutine(go())


def test_two_visitors_see_only_their_own_text(server):
    tally = Tally()
    crowd = [Visitor(i, MARKERS[10 + i], OTHERS, server.url, tally, seed=2) for i in range(2)]

    async def one(v: Visitor) -> None:
        await v.arrive()
        try:
            for name, action in v.cycle()[:6]:  # text ... query: both visitors' texts on the server at once
                v.check_run(await action(), name)
        finally:
            await v.leave()

    async def both() -> None:
        await asyncio.gather(*(one(v) for v in crowd))

    run_coroutine(both())
    assert not tally.errors and not tally.crosstalk


def test_markers_absent_from_default_pages(server):
    """No marker word is on any page by default: a marker seen on a visitor's page came from a visitor."""

    async def go() -> set[bytes]:
        tab = Tab(server.url, timeout=60)
        seen = set()
        try:
            for path in ("attention", "lookup", "smoothing", ""):
                run = await (tab.open(path) if tab.ws is None else tab.switch(path))
                seen |= {m for frame in run.frames for m in OTHERS.findall(frame)}
        finally:
            await tab.close()
        return seen

    assert run_coroutine(go()) == set()


def test_haproxy_keeps_each_visitor_on_one_replica():
    """Two replicas behind HAProxy: visitors are spread, and each one's websocket reaches the replica
    that served its page (the affinity cookie), where its session lives and its reruns run."""

    async def go(cluster: Cluster) -> tuple[list[str], list[int]]:
        tabs = [Tab(cluster.url, timeout=60) for _ in range(2)]
        try:
            for tab in tabs:
                await tab.open("lookup")
            cookies = [tab.cookie for tab in tabs]
            sessions = [active_sessions(url) for url in cluster.replica_urls]
            for tab in tabs:  # a rerun through the balancer answers on the same session
                run = await tab.set("q", string_value="funny kittens")
                assert run.status in DONE and run.has_text("funny kittens")
            return cookies, sessions
        finally:
            for tab in tabs:
                await tab.close()

    with Cluster(2) as cluster:
        cookies, sessions = run_coroutine(go(cluster))
    assert sorted(cookies) == ["QKV_REPLICA=r1", "QKV_REPLICA=r2"]
    assert sessions == [1, 1]

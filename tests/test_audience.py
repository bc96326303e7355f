"""The audience benchmark's own parts, without a server: marker words, widget states, the tap, HAProxy's config,
the cross-check's pinning and scheduler arithmetic, the measured window."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.audience import MARKERS
from benchmarks.audience_check import family
from benchmarks.common import Window
from benchmarks.protocol import Widget, value_of
from benchmarks.replicas import HAPROXY, haproxy_config
from benchmarks.wiretap import Frames, sched_delta_ms, split_cores


def test_markers_are_distinct_whole_word_pieces(encoder):
    """Each visitor's marker is one token of the model's vocabulary (so it shows as one pill), all distinct."""
    assert len(MARKERS) >= 100 and len(set(MARKERS)) == len(MARKERS)
    for marker in MARKERS:
        assert encoder.tokenize(f"The {marker} crossed.").tokens[2] == marker, marker
    assert not set(MARKERS) & set("the crossed street because it was tired take tricks".split())


def _slider(value: float, set_value: bool) -> Widget:
    proto = Slider(id="$$ID-abc-head", min=1, max=12, step=1, type=Slider.SLIDER)
    proto.default.append(1.0)
    proto.value.append(value)
    proto.set_value = set_value
    return Widget(proto.id, "slider", proto, sidebar=False)


@pytest.mark.parametrize("set_value, held, sent", [
    (True, None, 4.0),   # the server set the value (a link, a callback): the tab takes it
    (False, None, 1.0),  # a widget new to the tab, not set by the server: its default
    (False, 7.0, 7.0),   # the visitor moved it before: the tab keeps its own value, as the frontend does
    (True, 7.0, 4.0),    # ... unless the server sets it again
])
def test_widget_state_follows_the_frontend(set_value, held, sent):
    held_state = None if held is None else WidgetState(id="$$ID-abc-head")
    if held_state is not None:
        held_state.double_array_value.data.append(held)
    widget = _slider(4.0, set_value)
    assert widget.key == "head"
    assert value_of(widget.state(held_state)) == sent


def _frame(payload: bytes, mask: bytes | None) -> bytes:
    n = len(payload)
    head = bytes([0x82]) + (bytes([(0x80 if mask else 0) | n]) if n < 126 else
                            bytes([(0x80 if mask else 0) | 126]) + n.to_bytes(2, "big"))
    if mask:
        return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def test_tap_reads_frames_split_anywhere():
    """Masked client frames and plain server frames, cut at every byte, come out whole and unmasked."""
    frames = [_frame(b"hello", b"\x01\x02\x03\x04"), _frame(b"x" * 300, None), _frame(b"", None)]
    wire = b"".join(frames)
    for cut in range(len(wire)):
        reader = Frames()
        got = list(reader.feed(wire[:cut])) + list(reader.feed(wire[cut:]))
        assert [p for _, p in got] == [b"hello", b"x" * 300, b""]


def test_haproxy_config_has_affinity_health_and_tunnel(tmp_path):
    cfg = haproxy_config(8080, [8601, 8602, 8603])
    assert cfg.count("server r") == 3 and "cookie r3" in cfg
    assert "cookie QKV_REPLICA insert" in cfg and "option httpchk GET /_stcore/health" in cfg
    assert "timeout tunnel" in cfg
    if not (shutil.which("haproxy") or os.path.exists(HAPROXY)):
        pytest.fail("haproxy is not installed: run `make test` (it installs Debian's haproxy)")
    (tmp_path / "haproxy.cfg").write_text(cfg)
    check = subprocess.run([HAPROXY, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("cpus, server, visitors", [
    ({0, 1}, {0}, {1}),          # this machine: one core each
    ({3, 1, 2}, {1}, {2, 3}),    # an affinity mask need not start at 0; the visitors get the rest
    ([7, 5], {5}, {7}),          # any iterable of CPU numbers
])
def test_split_cores_gives_the_server_one_cpu_and_the_visitors_the_rest(cpus, server, visitors):
    assert split_cores(cpus) == (server, visitors)


def test_split_cores_refuses_a_single_cpu():
    with pytest.raises(ValueError, match=r"at least 2 CPUs.*\[0\]"):
        split_cores({0})


def test_sched_delta_counts_new_threads_from_zero_and_ignores_ended_ones():
    ms = 1_000_000
    before = {10: (100 * ms, 5 * ms), 11: (40 * ms, 1 * ms)}  # thread 11 ends before the second reading
    after = {10: (130 * ms, 6 * ms), 12: (20 * ms, 3 * ms)}  # thread 12 is born in between
    assert sched_delta_ms(before, after) == (50.0, 4.0)
    assert sched_delta_ms(after, after) == (0.0, 0.0)


def test_family_is_a_process_and_all_its_descendants():
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 30: 99}
    assert family(parents, 10) == {10, 11, 12, 13}
    assert family(parents, 1) == {1, 10, 11, 12, 13, 20}
    assert family(parents, 30) == {30}
    assert family(parents, 42) == {42}  # a process that has no children (or has just ended)


def test_window_opens_when_the_last_visitor_arrives():
    opened = []
    window = Window(3, 3600, lambda: opened.append(True))
    window.arrived()
    window.arrived()
    assert not opened and not window.opened.is_set() and window.open()  # before: nobody's loop stops
    window.arrived()
    assert opened == [True] and window.opened.is_set() and window.open()
    shut = Window(1, 0, lambda: None)
    shut.arrived()
    assert not shut.open()  # a window of 0 s is over as soon as it opens


def test_window_needs_a_visitor():
    with pytest.raises(ValueError, match="at least 1 visitor, got 0"):
        Window(0, 60, lambda: None)


def test_tap_records_a_run_in_its_own_process():
    """Through the tap (its own process): a rerun request, a large delta, script_finished -> one record
    counting exactly what the server sent in between; a record waiting in the pipe survives ``watch``."""
    import asyncio

    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from benchmarks.wiretap import Tap
    from tests.browser.helpers import run_coroutine
    from tests.browser.server import free_port

    rerun = BackMsg()
    rerun.rerun_script.query_string = "x=1"
    finished = ForwardMsg(script_finished=ForwardMsg.FINISHED_SUCCESSFULLY)
    delta, done = _frame(b"d" * 20000, None), _frame(finished.SerializeToString(), None)

    async def go(upstream: int) -> tuple[bytes, int]:
        async def server(reader, writer):  # a stand-in for Streamlit: answers the upgrade, then one run
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            await reader.read(1024)  # the rerun request
            writer.write(delta + done)
            await writer.drain()

        srv = await asyncio.start_server(server, "127.0.0.1", upstream)
        reader, writer = await asyncio.open_connection("127.0.0.1", tap.port)
        writer.write(b"GET /_stcore/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_frame(rerun.SerializeToString(), b"\x05\x06\x07\x08"))
        got = await reader.readexactly(len(delta + done))
        writer.close()
        srv.close()
        return got

    upstream = free_port()
    with Tap(upstream, free_port(), pid=os.getpid()) as tap:
        assert run_coroutine(go(upstream)) == delta + done
        tap.watch([os.getpid()])  # the record is still in the pipe: watch must not swallow it
        assert len(tap.records) == 1 and len(tap.times) == 1
        assert tap.last().bytes == len(delta + done)
        assert tap.last().ms > 0

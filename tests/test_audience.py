"""The audience benchmark's own parts, without a server: marker words, widget states, the tap, HAProxy's config."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.audience import MARKERS
from benchmarks.protocol import Widget, value_of
from benchmarks.replicas import HAPROXY, haproxy_config
from benchmarks.wiretap import Frames


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

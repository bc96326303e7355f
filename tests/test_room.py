"""The link the room can scan: the QR code's content, and presenter mode's `qr` control (AppTest).

The code is decoded by Debian's zbarimg (zbar-tools, installed by `make test`) from a PNG rendering of
the SVG the app sends; tests/browser/test_room_browser.py decodes it from a real browser's screenshot.
"""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import quote

import pytest
import vl_convert

from qkv_ui import room
from qkv_ui.pages import SMOOTHING

from .apptest_util import assert_clean, open_page
from .test_presenter import link, open_step

ZBARIMG = shutil.which("zbarimg")
needs_zbar = pytest.mark.skipif(ZBARIMG is None, reason="zbarimg missing: run `make test` (it installs zbar-tools)")


def decode(png: bytes, tmp_path) -> list[str]:
    """Every QR code zbarimg finds in a PNG, as text."""
    path = tmp_path / "code.png"
    path.write_bytes(png)
    out = subprocess.run([ZBARIMG, "--quiet", "--raw", "-Sbinary", str(path)], capture_output=True, check=False)
    return [line for line in out.stdout.decode("utf-8").split("\n") if line]


@needs_zbar
@pytest.mark.parametrize("address", [
    "http://127.0.0.1:8501/smoothing?sigma=20",
    "https://qkv.example.streamlit.app/attention?view=scaling&d=1024",
    "https://qkv.example.streamlit.app/attention?text=" + quote("Der Bär schläft, weil er müde ist. 🐻", safe=""),
    "https://qkv.example.streamlit.app/lookup?q=" + quote("a long query about cats and dogs " * 12, safe=""),
])
def test_the_code_holds_exactly_the_link(address, tmp_path):
    svg = room.qr_svg(address)
    assert svg is not None and svg.lstrip().startswith("<svg")
    assert "href" not in svg and "<script" not in svg and "<image" not in svg  # drawn paths only, nothing fetched
    assert decode(vl_convert.svg_to_png(svg, scale=1), tmp_path) == [address]


def test_a_link_too_long_for_any_code_gets_none():
    assert room.qr_svg("https://x.example/attention?text=" + "w" * 4000) is None


def test_qr_control_only_in_presenter_mode_and_on_by_default():
    at = open_page(SMOOTHING.script)
    assert not [t for t in at.sidebar.toggle if t.key == "qr"]
    at = open_step(3)
    assert at.toggle(key="qr").value is True
    assert "qr" not in at.query_params  # the default stays out of the URL


def test_qr_off_stays_in_the_url_and_out_of_the_visitors_link():
    at = open_step(3)
    at.toggle(key="qr").set_value(False).run()
    assert_clean(at)
    assert at.query_params["qr"] == "0"
    assert link(at) == "/smoothing?sigma=20"  # the visitor's link: no present, step or qr
    at.button(key="presenter-next").click().run()  # the tour moves on: the code stays hidden
    assert_clean(at)
    assert at.toggle(key="qr").value is False and at.query_params["qr"] == "0"
    at.toggle(key="present").set_value(False).run()  # presenter mode off: its flags leave the URL
    assert "qr" not in at.query_params and "present" not in at.query_params


def test_the_visitors_link_keeps_predict():
    """A phone that scans a predict step gets the question too: predict is a control of the view."""
    at = open_step(2)
    assert link(at) == "/smoothing?predict=1"

"""A link the room can scan: in presenter mode, a QR code of the visitor's link to the current view.

The code carries the same link as the sidebar's "Link to this view" (the view's controls, never the
presenter's own ``present``, ``step`` and ``qr``), built from the address the presenter's browser
uses (``st.context.url``, so behind a proxy it is the proxy's). ``segno`` draws it here, on the
server, as an SVG that travels inside the page: nothing is fetched from any other host.

It sits in the sidebar, at the top under the presenter toggle, beside the link in large type: the
stage keeps the whole main area for the banner and the step's chart (at 853 × 480 CSS px, a projector
at 150 %, there is no room beside them for a code big enough to scan), and the sidebar, collapsed in
presenter mode, opens with one click when the presenter says "scan this"; it follows the view as the
tour moves. ``qr=0`` hides it (the sidebar toggle).
"""

from __future__ import annotations

import io

import segno
import streamlit as st

from qkv_ui import urlstate
from qkv_ui.presenter import QR

PARAM = urlstate.flag_param(QR, default=True)
LINK_SHOWN = 240  # characters of the link shown wrapped in large type under the code (longer: one line that scrolls)
MIN_PX = 200  # CSS px: 300 device px at 150 % zoom (the issue asks for at least 280)

# Our own static CSS, never built from user input: the code fills the sidebar's width (at least MIN_PX)
# on white, and the link under it is set in large type. While the code is shown, the sidebar opens on
# it: the code and link come first, above the page list (at 853 × 480 the list would push the code off
# the screen; the tour's banner moves between pages meanwhile).
ROOM_CSS = f"""
<style>
.st-key-room-qr img {{ min-width: {MIN_PX}px; width: 100%; background: #fff; }}
.st-key-room-qr [data-testid="stCode"] code {{ font-size: 1.2rem; line-height: 1.35; }}
[data-testid="stSidebarContent"] {{ display: flex; flex-direction: column; }}
[data-testid="stSidebarUserContent"] {{ order: 1; padding-top: 0; }}
[data-testid="stSidebarNav"] {{ order: 2; }}
[data-testid="stSidebarUserContent"] [data-testid="stVerticalBlock"] > :has(.st-key-room-qr) {{ order: -1; }}
</style>
"""


@st.cache_data(max_entries=64, show_spinner=False)
def qr_svg(link: str) -> str | None:
    """The QR code of ``link`` as an SVG document (black on white, a 4-module quiet zone), or None if too long."""
    try:
        code = segno.make(link, error="m", micro=False)
    except segno.DataOverflowError:
        return None
    out = io.BytesIO()
    code.save(out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=8, dark="#000000", light="#ffffff", border=4)
    return out.getvalue().decode("ascii")


def show(link: str) -> None:
    """The QR code of ``link`` (drawn in a container keyed ``room-qr``, with the link after it); a notice when too long.

    Outside a browser (AppTest) the link is relative and there is no address to encode: nothing is drawn.
    """
    if not link.startswith(("http://", "https://")):
        return
    st.html(ROOM_CSS)
    svg = qr_svg(link)
    if svg is not None:
        st.image(svg, width="stretch", caption="Scan to open this view on your phone",
                 alt="QR code of the link to this view, shown below it")
    else:
        st.info(f"This link is too long for a QR code ({len(link):,} characters): shorten the text to share it "
                "by code.", icon=":material/qr_code_2:")

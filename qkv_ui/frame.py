"""The app frame: page config, navigation and shared sidebar, around whichever page runs.

``app.py`` calls ``run()``. So do the three shims ``pages/smoothing.py``,
``pages/lookup.py`` and ``pages/attention.py``: Streamlit's legacy ``pages/``
router serves the very first request to a fresh server, and for a deep link
like ``/lookup`` it runs ``pages/lookup.py`` (without it, it would show a
"Page not found" dialog). The shim runs this same frame, whose
``st.navigation`` then takes over for good and renders ``pages/story/lookup.py``.

Around the page the frame adds two things the pages know nothing about:

- **Presenter mode** (sidebar toggle, URL ``present=1``): the stage of ``qkv_ui.stage``, a
  banner above the page that walks the tour of ``qkv_ui.presenter.STEPS``.
  Streamlit drops the query string when the sidebar navigation switches pages;
  the toggle's state survives the switch and the frame writes ``present=1`` back.
- **Link to this view** (sidebar, drawn after the page has published its
  controls to the URL): the full address of what is on screen, to copy. A page's live
  part (``qkv_ui.live``) reruns alone and draws it again after itself.
  Opened on a fresh server, it reproduces the view (see the cold-start shims above).
  In presenter mode it moves to the top of the sidebar with a QR code of it (``qkv_ui.room``; ``qr=0`` hides it).
- **Predict, then reveal** (sidebar toggle, URL ``predict=1``): the pages' questions of ``qkv_ui.predict``;
  like presenter mode, it stays on across page switches (the frame writes ``predict=1`` back).
"""

from __future__ import annotations

import functools
import gc
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from qkv_ui import live, phone, predict, presenter, room, stage, urlstate
from qkv_ui.pages import STORY, PageInfo

# A local image: a Material icon name here would make the browser fetch the favicon from a font CDN.
ICON = Path(__file__).resolve().parents[1] / "assets" / "icon.png"
PRESENT = urlstate.flag_param(presenter.PRESENT)

def run() -> None:
    """Configure the page, declare the navigation and run the current page inside the frame."""
    presenting_link = st.session_state.get(presenter.PRESENT, st.query_params.get(presenter.PRESENT) in ("1", "true"))
    st.set_page_config(
        page_title="QKV Explainer",
        page_icon=str(ICON),
        layout="wide",
        initial_sidebar_state="collapsed" if presenting_link else "auto",  # the stage gets the whole width
    )
    pages = {
        p: st.Page(p.script, title=p.title, icon=p.icon, url_path=p.url_path or None, default=not p.url_path)
        for p in STORY
    }
    current = st.navigation(list(pages.values()), position="sidebar")
    st.html(phone.CSS)  # phone width: wide charts scroll in their own box, not the page
    info = next(p for p in STORY if p.url_path == current.url_path)
    with st.sidebar:
        st.caption("QKV Explainer: attention, from a weighted average to a real transformer.")
        presenting = _presenter_toggle()
        room_slot = st.container() if presenting else None  # the QR code and link (room.ROOM_CSS shows them first)
        scan = presenting and _qr_toggle()
        _predict_toggle()
    step = changes = None
    if presenting:
        step, changes = stage.banner(info, pages)
    else:
        urlstate.show_notices()  # a refused present=… value
    live.start(functools.partial(_ending, info, step, changes, room_slot if scan else None))
    try:
        current.run()
    finally:
        _freeze_new_imports()
    live.finish()  # unless the page's live tail has drawn it (qkv_ui.live)


def _ending(info: PageInfo, step: presenter.Step | None, changes: DeltaGenerator | None,
            room_slot: DeltaGenerator | None) -> None:
    """What the frame draws after the page: what the presenter changed, and the link to this view.

    After the page, so the link carries the controls the page has just published. A page that
    ends early with st.stop() (nothing complete to share: an empty query, a missing upload) gets
    no link: Streamlit draws nothing after st.stop(). Every slot is written on every call (an empty
    one at least): a live tail's rerun may only write where the last full run wrote.
    """
    if changes is not None:
        stage.say_changes(step, changes.container())
    link = view_link(info)
    if room_slot is not None:
        with room_slot.container(key="room-qr"):
            room.show(link)
            show_link(link, room.LINK_SHOWN)
    else:
        with st.sidebar:
            show_link(link)

LINK_SHOWN = 80  # characters of a link drawn wrapped in the sidebar; a longer one is one line that scrolls


def show_link(link: str, shown: int = LINK_SHOWN) -> None:
    """The sidebar's "Link to this view": the whole link in a code block (its copy button copies all of it).

    A long link (a long query, an edited store) would wrap into a wall of encoded text: it stays on one
    line that scrolls sideways (its start in view), and the caption gives its length.
    """
    long = len(link) > shown
    st.caption(f"Link to this view ({len(link):,} characters: copy it with the box's copy button)" if long
               else "Link to this view")
    st.code(link, language=None, wrap_lines=not long)


_modules_frozen = 0  # len(sys.modules) at the last freeze


def _freeze_new_imports() -> None:
    """After a run that imported modules, exempt every object alive from garbage collection.

    Streamlit runs a full collection after every run (``runner.postScriptGC``). It walks every
    tracked object, and torch, Altair and pandas bring about 260,000: 150-220 ms of CPU per rerun,
    most of a head move's server time, and the queue behind it when an audience clicks at once.
    Frozen objects (``gc.freeze``: modules, classes, the model) are skipped; whatever later
    runs allocate is still collected after each run.
    """
    global _modules_frozen
    if len(sys.modules) > _modules_frozen:
        _modules_frozen = len(sys.modules)
        gc.collect()
        gc.freeze()


def _presenter_toggle() -> bool:
    """The presenter-mode toggle, bound to ``present=1`` and written back after page switches."""
    urlstate.seed([PRESENT])
    on = st.toggle("Presenter mode", key=presenter.PRESENT,
                   help="Larger type and charts, and a guided tour through the story (← / → to move).")
    if not on:
        for key in (presenter.PRESENT, presenter.STEP, room.QR):
            if key in st.query_params:
                del st.query_params[key]
    return on


def _qr_toggle() -> bool:
    """Presenter mode's QR-code toggle, bound to ``qr`` (on by default; ``qr=0`` hides the code)."""
    urlstate.seed([room.PARAM])
    on = st.toggle("QR code of this view", key=room.QR,
                   help="For the room: phones that scan it open this view (without presenter mode).")
    urlstate.publish([room.PARAM])
    return on


_PREDICT_SENT = "_predict_in_url"  # the predict= value the frame last left in the URL


def _predict_toggle() -> bool:
    """The predict-then-reveal toggle, bound to ``predict=1`` and written back after page switches.

    A page switch that carries ``predict=`` (a tour step, a link within the app) sets it: the URL wins
    over the session's toggle whenever it says something the frame did not write there.
    """
    raw = st.query_params.get(predict.PREDICT)
    if raw is not None and raw != st.session_state.get(_PREDICT_SENT):
        st.session_state.pop(predict.PREDICT, None)
    urlstate.seed([predict.PARAM])
    on = st.toggle("Predict, then reveal", key=predict.PREDICT,
                   help="At the story's checkable moments, guess first, then reveal the computed answer.")
    urlstate.publish([predict.PARAM])
    st.session_state[_PREDICT_SENT] = st.query_params.get(predict.PREDICT)
    return on


def view_link(info: PageInfo) -> str:
    """The address of the current view: the page's URL plus its published controls."""
    params = stage.view_params()
    base = st.context.url  # scheme, host and page path, without the query string; None outside a browser
    if not base:
        base = f"/{info.url_path}"
    elif not info.url_path:
        base = base.rstrip("/") + "/"
    return base + (f"?{urlencode(params, quote_via=quote)}" if params else "")

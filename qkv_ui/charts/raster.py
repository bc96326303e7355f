"""Raster pictures: maps painted as images here (numbers -> viridis pixels -> PNG), drawn by Vega as marks.

The all-heads overview shows every layer × head at once: 72 images draw in a tenth of the time
of 72 × 256 rectangles.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
import zlib
from collections import OrderedDict

import altair as alt
import numpy as np
import pyarrow as pa

from .palette import OVERVIEW_FRAME, SEQUENTIAL, scheme_color
from .template import compiled, filled

OVERVIEW_MIN_PIXELS = 32  # each map's image is at least this many pixels wide: crisp in SVG viewers that smooth


def viridis(t: np.ndarray) -> np.ndarray:
    """Vega's "viridis" at t in [0, 1] (clipped): uint8 RGB of shape t.shape + (3,)."""
    return np.rint(scheme_color("viridis", t)).astype(np.uint8)


_LEVELS = 1024  # steps of the quick viridis table: neighbours differ by at most one unit of any channel
_VIRIDIS_TABLE = viridis(np.linspace(0.0, 1.0, _LEVELS))  # (_LEVELS, 3) uint8
# The same table as 1024 three-byte items: one gather per pixel instead of one per channel, and its result
# is already a contiguous RGB image (~3x faster on W's 200 x 200 cells).
_VIRIDIS_ITEMS = np.ascontiguousarray(_VIRIDIS_TABLE).view("V3")[:, 0]  # (_LEVELS,) 3-byte items


def viridis_quick(t: np.ndarray) -> np.ndarray:
    """``viridis`` through a table of 1024 steps: within one unit per channel, ~10x faster on a big matrix."""
    t = np.asarray(t, dtype=float)
    index = np.multiply(t, _LEVELS - 1, out=np.empty(t.shape))  # t's shape; in place from here
    np.rint(np.clip(index, 0.0, _LEVELS - 1, out=index), out=index)
    return _VIRIDIS_ITEMS.take(index.astype(np.intp).ravel()).view(np.uint8).reshape(*t.shape, 3)  # t.shape + (3,)


def png_data_url(rgb: np.ndarray, level: int = 9) -> str:
    """An (h, w, 3) uint8 image as a ``data:`` URL holding a PNG (local: nothing is fetched).

    ``level`` is zlib's: 9 packs small images tightest; 1 is ~30x faster on a big one, a third larger.
    """
    rgb = np.asarray(rgb)  # (h, w, 3)
    return _png_url(_scanlines(rgb[None])[0], rgb.shape[1], level)


def _scanlines(rgb: np.ndarray) -> np.ndarray:
    """(n, h, w, 3) images -> (n, h, 1 + 3w) uint8 PNG scanlines: filter byte 0 ("none"), then the row's RGB."""
    n, h, w, _ = rgb.shape
    rows = np.zeros((n, h, 1 + 3 * w), dtype=np.uint8)  # (n, h, 1 + 3w)
    rows[..., 1:] = rgb.reshape(n, h, 3 * w)
    return rows


def _png_url(rows: np.ndarray, w: int, level: int) -> str:
    """One image's (h, 1 + 3w) scanlines as a PNG ``data:`` URL."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, rows.shape[0], 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@compiled(maxsize=24)  # b is min(T, 16): every short text's length has its own grid, kept once compiled
def _overview_template(n_layers: int, n_heads: int, b: int, name: str) -> alt.TopLevelMixin:
    """Layout of the all-heads grid; datasets ``heads`` (layer, head, url, x, x2, y, y2), ``scale`` and ``frame``."""
    step = b + max(1, b // 6)  # one map plus a gap, in block units
    centres = lambda n: [i * step + b / 2 for i in range(n)]  # noqa: E731
    span = lambda n: [-0.5, n * step - (step - b) + 0.5]  # noqa: E731
    label = f"round((datum.value - {b / 2}) / {step}) + 1"
    x = alt.X("x:Q", scale=alt.Scale(domain=span(n_heads), nice=False, zero=False),
              axis=alt.Axis(values=centres(n_heads), labelExpr=label, title="head", orient="top",
                            grid=False, ticks=False, domain=False))
    y = alt.Y("y:Q", scale=alt.Scale(domain=span(n_layers), reverse=True, nice=False, zero=False),
              axis=alt.Axis(values=centres(n_layers), labelExpr=label, title="layer", grid=False, ticks=False,
                            domain=False))
    # Each head's map is one image (72 marks to draw, not 72 x 256 rects: a rerun repaints in a
    # tenth of the time), its pixels coloured by ``viridis(sqrt(share))``: the scale of the legend,
    # which an invisible, zero-size layer carries.
    maps = (
        alt.Chart(alt.NamedData("heads"))
        .mark_image(aspect=False, smooth=False)
        .encode(x=x, x2="x2:Q", y=y, y2="y2:Q", url="url:N", tooltip=[alt.Tooltip("layer:O"), alt.Tooltip("head:O")])
        .add_params(alt.selection_point(name=name, fields=["layer", "head"], on="click", clear=False))
    )
    scale = alt.Chart(alt.NamedData("scale")).mark_rect(opacity=0).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q",
        color=alt.Color("share:Q", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1], type="sqrt"),
                        title="share of attention",  # a gradient taller than the maps clips its "0" label
                        legend=alt.Legend(gradientLength=max(60, n_layers * 44 - 90))),
    )
    frame = alt.Chart(alt.NamedData("frame")).mark_rect(fill=None, stroke=OVERVIEW_FRAME, strokeWidth=3).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q")
    return alt.layer(maps, scale, frame).properties(  # as wide as the page allows: fits a projector too
        title="All heads: click one to inspect it", width="container", height=n_layers * 44 + 60,
        description="Small attention maps for every layer (rows) and head (columns); queries run down, keys across",
    )


# A head move or a click redraws the same tiles: they are PNG-encoded once per text and kept for a room's
# worth of texts (100 visitors, each with a text of their own: 32 entries were pushed out between one
# visitor's clicks). Keyed by a digest of the blocks, not the 74 KB of blocks themselves; an entry holds
# at most ~75 KB of data URLs (b <= 16 blocks a side, drawn at least OVERVIEW_MIN_PIXELS wide).
TILE_CACHE_ENTRIES = 256
_tiles: OrderedDict[tuple[bytes, tuple[int, ...]], tuple[str, ...]] = OrderedDict()
_tiles_lock = threading.Lock()


def _tile_urls(blocks: np.ndarray) -> tuple[str, ...]:
    """The overview's images, one PNG data URL per (layer, head) in layer-major order, from float32 blocks."""
    key = (hashlib.blake2b(blocks.tobytes(), digest_size=16).digest(), blocks.shape)
    with _tiles_lock:
        if key in _tiles:
            _tiles.move_to_end(key)
            return _tiles[key]
    urls = _encode_tiles(blocks)  # outside the lock: other sessions' tiles stay available meanwhile
    with _tiles_lock:
        _tiles[key] = urls
        while len(_tiles) > TILE_CACHE_ENTRIES:
            _tiles.popitem(last=False)
    return urls


def _encode_tiles(blocks: np.ndarray) -> tuple[str, ...]:
    """(L, H, b, b) blocks -> L * H PNG data URLs, layer-major; each block drawn as zoom x zoom pixels."""
    n_layers, n_heads, b, _ = blocks.shape
    zoom = -(-OVERVIEW_MIN_PIXELS // b)
    pixels = viridis(np.sqrt(np.clip(blocks, 0.0, 1.0))).repeat(zoom, axis=2).repeat(zoom, axis=3)  # (L, H, bz, bz, 3)
    rows = _scanlines(pixels.reshape(n_layers * n_heads, b * zoom, b * zoom, 3))  # (L * H, bz, 1 + 3 bz)
    return tuple(_png_url(r, b * zoom, 9) for r in rows)


def attention_overview(blocks: np.ndarray, selected: tuple[int, int], name: str = "pick") -> dict:
    """Every layer x head as a small map (rows: layers, columns: heads); click one to select it.

    blocks (L, H, b, b) as returned by ``qkv_core.heads.overview_blocks``; ``selected`` is the
    0-based (layer, head) framed. One image per head on a shared grid (no facets),
    compiled once per grid size; returns a spec for ``st.vega_lite_chart``.
    """
    n_layers, n_heads, b, _ = blocks.shape
    step = b + max(1, b // 6)
    layer, head = np.meshgrid(np.arange(n_layers), np.arange(n_heads), indexing="ij")
    layer, head = layer.ravel(), head.ravel()
    blocks = np.ascontiguousarray(blocks, dtype=np.float32)
    urls = list(_tile_urls(blocks))  # layer-major, like (layer, head) above
    heads = pa.table({"layer": layer + 1, "head": head + 1, "url": urls,
                      "x": head * step, "x2": head * step + b, "y": layer * step, "y2": layer * step + b})
    scale = pa.table({"share": [0.0, 1.0], "x": [0.0, 0.0], "x2": [0.0, 0.0], "y": [0.0, 0.0], "y2": [0.0, 0.0]})
    sl, sh = selected
    frame = pa.table({"x": [sh * step - 0.4], "x2": [sh * step + b + 0.4], "y": [sl * step - 0.4],
                      "y2": [sl * step + b + 0.4]})
    return filled(_overview_template(n_layers, n_heads, b, name), heads=heads, scale=scale, frame=frame)

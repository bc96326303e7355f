"""Raster pictures: maps painted as images here (numbers -> viridis pixels -> PNG), drawn by Vega as marks.

The all-heads overview shows every layer × head at once: 72 images draw in a tenth of the time
of 72 × 256 rectangles.
"""

from __future__ import annotations

import base64
import functools
import struct
import zlib

import altair as alt
import numpy as np
import pyarrow as pa

from .palette import OVERVIEW_FRAME, SEQUENTIAL, VIRIDIS_RGB
from .template import compiled, filled

OVERVIEW_MIN_PIXELS = 32  # each map's image is at least this many pixels wide: crisp in SVG viewers that smooth


def viridis(t: np.ndarray) -> np.ndarray:
    """Vega's "viridis" at t in [0, 1] (clipped): uint8 RGB of shape t.shape + (3,)."""
    pos = np.clip(np.asarray(t, dtype=float), 0.0, 1.0) * (len(VIRIDIS_RGB) - 1)
    i = np.minimum(pos.astype(int), len(VIRIDIS_RGB) - 2)
    f = (pos - i)[..., None]
    return np.rint(VIRIDIS_RGB[i] * (1 - f) + VIRIDIS_RGB[i + 1] * f).astype(np.uint8)


_LEVELS = 1024  # steps of the quick viridis table: neighbours differ by at most one unit of any channel
_VIRIDIS_TABLE = viridis(np.linspace(0.0, 1.0, _LEVELS))  # (_LEVELS, 3) uint8


def viridis_quick(t: np.ndarray) -> np.ndarray:
    """``viridis`` through a table of 1024 steps: within one unit per channel, ~20x faster on a big matrix."""
    return _VIRIDIS_TABLE[np.rint(np.clip(np.asarray(t, dtype=float), 0.0, 1.0) * (_LEVELS - 1)).astype(np.intp)]


def png_data_url(rgb: np.ndarray, level: int = 9) -> str:
    """An (h, w, 3) uint8 image as a ``data:`` URL holding a PNG (local: nothing is fetched).

    ``level`` is zlib's: 9 packs small images tightest; 1 is ~30x faster on a big one, a third larger.
    """
    h, w, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + np.ascontiguousarray(rgb[r], dtype=np.uint8).tobytes() for r in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, level)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@compiled(maxsize=8)
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


@functools.lru_cache(maxsize=32)  # a head move or a click redraws the same tiles: PNG-encode them once per text
def _tile_urls(raw: bytes, shape: tuple[int, int, int, int]) -> tuple[str, ...]:
    """The overview's images, one PNG data URL per (layer, head) in layer-major order, from float32 blocks."""
    blocks = np.frombuffer(raw, dtype=np.float32).reshape(shape)  # (L, H, b, b)
    zoom = -(-OVERVIEW_MIN_PIXELS // shape[2])  # each block drawn as zoom x zoom pixels
    pixels = viridis(np.sqrt(np.clip(blocks, 0.0, 1.0))).repeat(zoom, axis=2).repeat(zoom, axis=3)  # (L, H, bz, bz, 3)
    return tuple(png_data_url(pixels[l, h]) for l in range(shape[0]) for h in range(shape[1]))


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
    urls = list(_tile_urls(blocks.tobytes(), blocks.shape))  # layer-major, like (layer, head) above
    heads = pa.table({"layer": layer + 1, "head": head + 1, "url": urls,
                      "x": head * step, "x2": head * step + b, "y": layer * step, "y2": layer * step + b})
    scale = pa.table({"share": [0.0, 1.0], "x": [0.0, 0.0], "x2": [0.0, 0.0], "y": [0.0, 0.0], "y2": [0.0, 0.0]})
    sl, sh = selected
    frame = pa.table({"x": [sh * step - 0.4], "x2": [sh * step + b + 0.4], "y": [sl * step - 0.4],
                      "y2": [sl * step + b + 0.4]})
    return filled(_overview_template(n_layers, n_heads, b, name), heads=heads, scale=scale, frame=frame)

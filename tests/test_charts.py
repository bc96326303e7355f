"""Chart helpers that turn numbers into pixels themselves: the overview's colours and images."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pytest

from qkv_ui import charts


def decode_png(url: str) -> np.ndarray:
    """The (h, w, 3) pixels of a data-URL PNG as ``png_data_url`` writes it (8-bit RGB, no filters)."""
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    png = base64.b64decode(url[len(prefix):])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        (length,), kind = struct.unpack(">I", png[pos:pos + 4]), png[pos + 4:pos + 8]
        data = png[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + data)
        chunks[kind] = data
        pos += 12 + length
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(h, 1 + 3 * w)
    assert (rows[:, 0] == 0).all()  # filter type 0 on every row
    return rows[:, 1:].reshape(h, w, 3)


def test_viridis_hits_vegas_stops_and_ends():
    stops = charts._VIRIDIS_RGB
    assert len(stops) == 31
    np.testing.assert_array_equal(charts.viridis(np.linspace(0, 1, 31)), stops.astype(np.uint8))
    assert charts.viridis(0.0).tolist() == [0x44, 0x01, 0x54] and charts.viridis(1.0).tolist() == [0xFD, 0xE7, 0x25]
    halfway = charts.viridis(0.5 / 30)  # halfway between the first two stops, interpolated in RGB
    assert halfway.tolist() == np.rint((stops[0] + stops[1]) / 2).astype(int).tolist()
    assert charts.viridis(np.array([-1.0, 2.0])).tolist() == [[0x44, 0x01, 0x54], [0xFD, 0xE7, 0x25]]


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (32, 32)])
def test_png_data_url_round_trips(shape):
    pixels = np.random.default_rng(0).integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(charts.png_data_url(pixels)), pixels)


def test_overview_paints_each_head_with_its_shares():
    rng = np.random.default_rng(1)
    blocks = rng.random((6, 12, 16, 16))
    blocks /= blocks.sum(axis=-1, keepdims=True)  # rows of attention sum to 1
    spec = charts.attention_overview(blocks, (3, 1))
    heads = spec["datasets"]["heads"].to_pylist()
    assert len(heads) == 72
    zoom = -(-charts.OVERVIEW_MIN_PIXELS // 16)
    for row in (heads[0], heads[3 * 12 + 1], heads[-1]):
        layer, head = row["layer"] - 1, row["head"] - 1
        expected = charts.viridis(np.sqrt(blocks[layer, head])).repeat(zoom, axis=0).repeat(zoom, axis=1)
        np.testing.assert_array_equal(decode_png(row["url"]), expected)
    frame = spec["datasets"]["frame"].to_pylist()[0]
    step = 16 + 16 // 6
    assert frame["x"] < 1 * step < frame["x2"] and frame["y"] < 3 * step < frame["y2"]
    assert all(url.startswith("data:") for url in spec["datasets"]["heads"]["url"].to_pylist())  # offline

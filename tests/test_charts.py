"""Chart builders: layouts compiled once and filled per call, sizes taken from the data, colours from
the palette only, and the helpers that turn numbers into pixels themselves (the overview's images)."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from pathlib import Path

import altair as alt
import numpy as np
import pytest

from qkv_ui import charts
from qkv_ui.charts import matrix, palette, template


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
    stops = palette.VIRIDIS_RGB
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


# ---- compiled once, filled per call -----------------------------------------------------------

RNG = np.random.default_rng(2)
WORDS = ["the", "bank", "of", "the", "river"]


def layout(spec: dict) -> dict:
    """A spec without what is filled per call: its datasets and param values."""
    return {k: v for k, v in spec.items() if k not in ("datasets", "params")}


def param_names(spec: dict) -> list[str]:
    return [p["name"] for p in spec.get("params", [])]


def arrow_rows(spec: dict) -> dict[str, list[dict]]:
    return {name: table.to_pylist() for name, table in spec["datasets"].items()}


BUILDERS = [  # (id, builder of a chart from fresh random numbers of one fixed layout)
    ("heatmap", lambda: charts.heatmap(RNG.random((5, 5)), WORDS, WORDS, title="W", cell=30)),
    ("heatmap_with_domain", lambda: charts.heatmap(RNG.random((5, 3)), WORDS, list("abc"), domain=(0.0, 1.0))),
    ("product_diagram", lambda: charts.product_diagram(RNG.random((4, 4)), RNG.random(4), RNG.random(4), list("abcd"))),
    ("cosine_by_layer", lambda: charts.cosine_by_layer(RNG.random(7), "bank")),
    ("score_histogram", lambda: charts.score_histogram(RNG.normal(size=500), RNG.normal(size=500), 64)),
    ("layer_spread", lambda: charts.layer_spread(RNG.random(6), RNG.random(6))),
    ("blend_diagram", lambda: charts.blend_diagram(RNG.random(3), np.array([[0.0, 1.0], [0.5, 0.2], [0.3, 0.9]]),
                                                   RNG.random(2), ["a", "b", "c"], ["x", "y"])),
    ("weight_matrix", lambda: charts.weight_matrix(RNG.random((4, 4)), np.arange(4), 4, 1, title="W")),
    ("series_lines", lambda: charts.series_lines({"raw": RNG.random(50), "Gaussian": RNG.random(50)}, 3, title="t")),
    ("attention_overview", lambda: charts.attention_overview(RNG.random((2, 4, 4, 4)), (1, 2))),
    ("cosine_by_layer_with_control",
     lambda: charts.cosine_by_layer({"A vs B": RNG.random(7), "A vs C": RNG.random(7)}, "bank")),
    ("map_row", lambda: charts.map_row(RNG.random((3, 4, 4)), ["h1", "h2", "h3"], list("abcd"), 20)),
]


@pytest.mark.parametrize("build", [b[1] for b in BUILDERS], ids=[b[0] for b in BUILDERS])
def test_a_second_call_fills_new_data_into_the_same_compiled_layout(build):
    first, second = build(), build()
    assert first["datasets"].keys() == second["datasets"].keys()
    assert arrow_rows(first) != arrow_rows(second), "the data drawn changes"
    assert layout(first).keys() == layout(second).keys()
    for key, part in layout(first).items():  # the very same objects: taken from the cache, not rebuilt
        assert part is layout(second)[key] or part == layout(second)[key] and not isinstance(part, (dict, list)), key
    assert param_names(first) == param_names(second)


def test_a_heatmap_with_other_labels_or_title_keeps_its_layout():
    a = charts.heatmap(RNG.random((3, 3)), ["x", "y", "z"], ["x", "y", "z"], title="head 1")
    b = charts.heatmap(RNG.random((3, 3)), ["p", "q", "r"], ["p", "q", "r"], title="head 2")
    assert a["encoding"] is b["encoding"]  # 3 x 3 cells of 28 px: no numbers, a single rect layer
    assert (a["title"], b["title"]) == ("head 1", "head 2")
    labels = {p["name"]: p["value"] for p in b["params"]}
    assert labels["cells_rows"] == ["p", "q", "r"] and labels["cells_cols"] == ["p", "q", "r"]
    assert b["encoding"]["y"]["axis"]["labelExpr"] == "cells_rows[datum.value]"


@pytest.mark.parametrize("options", [  # the map view's detail map, other views' heatmaps, edge cases
    dict(row_title="query", col_title="key", domain=(0.0, 1.0), cell=34, select_rows="row", highlight=True,
         show_numbers=True),  # the detail map of a short text: numbers, outline, clicks
    dict(domain=(0.0, 1.0), cell=20, select_rows="row", highlight=True, show_numbers=False),  # a longer text
    dict(scheme=palette.DIVERGING, cell=7, row_cell=14, value_title="Q", show_numbers=False),  # Q, K, V
    dict(scheme=palette.DIVERGING, cell=30, show_numbers=True),  # diverging numbers
    dict(cell=28, legend=False, row_axis=False, show_numbers=False, max_size=200),  # no legend, no row axis
])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (12, 12), (16, 16), (17, 17), (24, 9), (41, 41), (80, 80)])
def test_a_heatmap_of_a_new_shape_is_the_layout_altair_builds_for_it(options, shape):
    # A new text length is a new shape: its layout is sized from one built once per options, never rebuilt.
    def canonical(spec: dict) -> str:  # altair names its views after a hash of their content
        names = {}
        return re.sub(r"view_[0-9a-f]+(_\d+)?", lambda m: names.setdefault(m.group(), f"view_{len(names)}"),
                      json.dumps(spec))

    options = tuple(sorted(options.items()))
    expected = matrix.heatmap_chart(shape, "cells", **dict(options)).to_dict(validate=False)
    assert canonical(matrix._heatmap_template(shape, options)) == canonical(expected)
    layout = matrix.heatmap_chart((1, 1), "cells", **dict(options)).to_dict(validate=False)
    assert canonical(matrix._heatmap_layout(options)) == canonical(layout)  # the shared layout is left as built


def test_product_diagram_numbers_switch_colour_along_each_panels_own_range():
    weights = np.full((3, 3), 1 / 3)
    values = np.array([1.0, 2.0, 6.0])
    spec = charts.product_diagram(weights, values, weights @ values, ["a", "b", "c"])
    params = {p["name"]: p["value"] for p in spec["params"]}
    assert params["values_range"] == [1.0, 6.0] and params["output_range"] == [3.0, 3.0]
    assert params["weights_range"] == pytest.approx([1 / 3, 1 / 3])
    assert [part["data"]["name"] for part in spec["hconcat"]] == ["weights", "values", "output"]


@pytest.mark.parametrize("options", [  # the option sets the pages use, validated here since compiling skips it
    dict(shape=(5, 5), cell=30, show_numbers=True),  # numbers, sequential
    dict(shape=(16, 32), scheme=palette.DIVERGING, cell=7, row_cell=14, value_title="Q"),  # Q, K, V, output
    dict(shape=(16, 16), scheme=palette.DIVERGING, cell=14, show_numbers=True),  # diverging numbers
    dict(shape=(40, 40), domain=(0.0, 1.0), cell=5, select_rows="pick", title="head 1"),  # big, clickable
    dict(shape=(3, 1), panel=True, legend=False, row_axis=False, show_numbers=True),  # a concat panel
])
def test_every_heatmap_layout_is_valid_vega_lite(options):
    shape = options.pop("shape")
    matrix.heatmap_chart(shape, **options).to_dict(validate=True)  # raises on a schema error


def test_filled_refuses_a_param_the_template_does_not_have():
    spec = alt.Chart(alt.NamedData("d")).mark_point().add_params(alt.param(name="known", value=1)).to_dict()
    assert template.filled(spec, {"known": 2})["params"][0]["value"] == 2
    assert spec["params"][0]["value"] == 1  # the template is not changed
    with pytest.raises(ValueError, match=r"\['unknown'\] are not in the template"):
        template.filled(spec, {"unknown": 2})


def test_a_masked_cell_is_sent_as_null():
    m = np.array([[0.5, np.nan], [0.25, 0.75]])
    values = charts.heatmap(m, ["a", "b"], ["x", "y"])["datasets"]["cells"]["value"].to_pylist()
    assert values == [0.5, None, 0.25, 0.75]


def test_heatmap_refuses_labels_that_do_not_fit():
    with pytest.raises(ValueError, match=r"labels 2x3 do not fit matrix \(3, 3\)"):
        charts.heatmap(np.eye(3), ["a", "b"], ["x", "y", "z"])


# ---- sizes come from the data (a BERT of another size renders too) -------------------------------


def titles(spec: object) -> list[str]:
    """Every title, axis title and description in a spec."""
    if isinstance(spec, dict):
        own = [str(v) for k, v in spec.items() if k in ("title", "description") and isinstance(v, str)]
        return own + [t for k, v in spec.items() if k != "datasets" for t in titles(v)]
    if isinstance(spec, list):
        return [t for v in spec for t in titles(v)]
    return []


def test_cosine_by_layer_names_as_many_layers_as_it_is_given():
    spec = charts.cosine_by_layer(np.array([0.9, 0.8, 0.7, 0.6]), "bank")  # embedding + 3 layers
    assert not any("6" in t for t in titles(spec)), titles(spec)
    assert spec["encoding"]["x"]["title"] == "0 = embedding, then after layer 1 … 3"
    assert spec["datasets"]["stages"]["stage"].to_pylist()[-1] == "after layer 3"
    one = charts.cosine_by_layer(np.array([0.9, 0.8]), "bank")
    assert one["encoding"]["x"]["title"] == "0 = embedding, 1 = after layer 1"
    with pytest.raises(ValueError, match="one per layer"):
        charts.cosine_by_layer(np.array([0.9]), "bank")


def test_cosine_by_layer_keeps_its_axis_at_0_to_1_and_dashes_the_controls():
    """A drift from 1.00 to 0.91 must not fill the chart: the y axis is 0..1 whatever the data."""
    for low in (0.9, 0.2):
        spec = charts.cosine_by_layer({"A vs B": np.linspace(1, low, 7), "A vs C": np.linspace(1, 0.95, 7)}, "bank")
        assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["A vs B", "A vs C"]
    dashes = spec["encoding"]["strokeDash"]["scale"]["range"]
    assert dashes[0] != dashes[1]  # the control is told apart without colour
    data = spec["datasets"]["stages"]
    assert data["pair"].to_pylist() == ["A vs B"] * 7 + ["A vs C"] * 7
    assert data["cosine"].to_pylist()[7:] == pytest.approx(list(np.linspace(1, 0.95, 7)))
    with pytest.raises(ValueError, match="per pair"):
        charts.cosine_by_layer({"A vs B": np.ones(7), "A vs C": np.ones(5)}, "bank")


def test_map_row_draws_each_map_with_its_title_on_a_shared_0_to_1_scale():
    maps = RNG.random((3, 5, 5))
    spec = charts.map_row(maps, ["head 1", "head 4", "head 9"], list("abcde"), 20)
    params = {p["name"]: p["value"] for p in spec["params"]}
    assert params["maps_titles"] == ["head 1", "head 4", "head 9"] and params["maps_labels"] == list("abcde")
    data = spec["datasets"]["maps"]
    assert data.num_rows == 75 and data["value"].to_pylist() == pytest.approx(list(maps.ravel()))
    assert spec["spec"]["encoding"]["color"]["scale"]["domain"] == [0, 1]
    assert spec["spec"]["width"] == spec["spec"]["height"] == 100  # 5 cells of 20 px
    hidden = charts.map_row(maps, ["a", "b", "c"], list("abcde"), 20, key_labels=False)
    assert hidden["spec"]["encoding"]["x"]["axis"] is None
    with pytest.raises(ValueError, match="titles"):
        charts.map_row(maps, ["a"], list("abcde"), 20)


def test_a_two_layer_four_head_model_gets_a_two_by_four_overview_and_two_layer_spreads():
    overview = charts.attention_overview(RNG.random((2, 4, 8, 8)), (1, 3))
    x_axis = next(layer["encoding"] for layer in overview["layer"] if "url" in layer["encoding"])
    assert len(x_axis["x"]["axis"]["values"]) == 4 and len(x_axis["y"]["axis"]["values"]) == 2
    assert overview["datasets"]["heads"].num_rows == 8
    spread = charts.layer_spread(np.array([2.0, 3.0]), np.array([0.5, 0.6]))
    assert sorted(set(spread["datasets"]["spread"]["layer"].to_pylist())) == [1, 2]


# ---- colours come from the palette --------------------------------------------------------------

HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def test_no_colour_literal_outside_the_palette():
    package = Path(charts.__file__).parent
    sources = {p.name: p.read_text() for p in package.glob("*.py")}
    assert "palette.py" in sources and len(sources) >= 6
    found = {name: HEX.findall(text) for name, text in sources.items() if name != "palette.py"}
    assert not any(found.values()), found
    assert HEX.findall(sources["palette.py"]), "the palette holds the colours"


def test_every_colour_a_chart_uses_is_named_in_the_palette():
    named = {v.lower() for k, v in vars(palette).items() if k.isupper() and isinstance(v, str) and v.startswith("#")}
    named |= {c.lower() for c in palette.PART_COLORS + palette.SCORE_COLORS}
    specs = [build() for _, build in BUILDERS] + [
        charts.focus_weights(RNG.random(30), RNG.random(30), 5, 0, 10, title="w"),
        charts.lookup_bars(["a", "b"], np.array([0.3, 0.7]), np.array([0.4, 0.6])),
        charts.profile_bar(np.array([0.5, 0.5]), ["x", "y"]), charts.attention_row(np.array([0.5, 0.5]), ["x", "y"]),
    ]
    used = {c.lower() for spec in specs for c in HEX.findall(repr(layout(spec)))}
    assert used and used <= named, used - named
    assert palette.ZERO_COLOR == "#%02x%02x%02x" % tuple(charts.viridis(0.0))


def test_heatmap_highlighted_row_is_data_of_one_layout() -> None:
    m = np.eye(4)
    a = charts.heatmap(m, list("abcd"), list("abcd"), highlight_row=1)
    b = charts.heatmap(m, list("abcd"), list("abcd"), highlight_row=3)
    assert a["datasets"]["cells_hl"]["row"].to_pylist() == [1]
    assert b["datasets"]["cells_hl"]["row"].to_pylist() == [3]
    assert {k: v for k, v in a.items() if k != "datasets"} == {k: v for k, v in b.items() if k != "datasets"}
    outline = [layer for layer in a["layer"] if layer.get("data") == {"name": "cells_hl"}]
    assert outline and outline[0]["mark"]["stroke"]
    assert "cells_hl" not in charts.heatmap(m)["datasets"]  # no highlight: no outline
    alt.LayerChart.from_dict({k: v for k, v in a.items() if k != "datasets"})  # valid Vega-Lite


def test_blend_diagram_rows_follow_the_given_ranking():
    weights, values = np.array([0.2, 0.5, 0.3]), np.array([[0.0, 1.0], [0.5, 0.2], [0.3, 0.9]])
    spec = charts.blend_diagram(weights, values, weights @ values, ["a", "b", "c"], ["x", "y"], order=[1, 2, 0])
    w = sorted(arrow_rows(spec)["w"], key=lambda r: r["row"])
    assert [r["row_label"] for r in w] == ["b", "c", "a"] and [r["value"] for r in w] == [0.5, 0.3, 0.2]
    v = [r["value"] for r in sorted(arrow_rows(spec)["v"], key=lambda r: (r["row"], r["col"]))]
    assert v == [0.5, 0.2, 0.3, 0.9, 0.0, 1.0]  # each value row stays with its key
    default = sorted(arrow_rows(charts.blend_diagram(weights, values, weights @ values, ["a", "b", "c"], ["x", "y"]))
                     ["w"], key=lambda r: r["row"])
    assert [r["row_label"] for r in default] == ["b", "c", "a"]  # heaviest first


@pytest.mark.parametrize("scores", [np.array([0.15, 0.1, -0.05]), np.array([0.78, 0.2, 0.1])])
def test_lookup_score_axis_is_the_bound_not_the_data(scores):
    spec = charts.lookup_bars(["a", "b", "c"], scores, np.array([0.4, 0.3, 0.3]), score_bound=1.0)
    scale = spec["hconcat"][0]["encoding"]["x"]["scale"]
    assert scale["domain"] == [-1.0, 1.0] and scale["nice"] is False


def number_is_black(spec: dict, values: np.ndarray) -> np.ndarray:
    """Which of ``values`` the chart prints in black: its own colour rule, evaluated on the filled params."""
    def conditions(node):
        if isinstance(node, dict):
            if isinstance(node.get("color"), dict) and "condition" in node["color"]:
                yield node["color"]
            for child in node.values():
                yield from conditions(child)
        elif isinstance(node, list):
            for child in node:
                yield from conditions(child)

    color = next(conditions(spec))
    params = {p["name"]: p["value"] for p in spec["params"] if "value" in p}
    above = eval(color["condition"]["test"].replace("datum.value", "values"), {**params, "values": values})
    return np.where(above, color["condition"]["value"] == "black", color["value"] == "black")


def test_numbers_on_a_skewed_grid_keep_their_contrast():
    """The knockout grid's importances: most heads near 0, a few large. Every number printed in a cell must
    stand out from the cell's viridis colour by WCAG's 4.5:1 for small text."""
    from qkv_ui.charts.raster import viridis_quick

    from .wcag import contrast, luminance

    importance = np.random.default_rng(1).exponential(0.01, (6, 12)) ** 2  # (L, H), skewed like the real ones
    spec = charts.head_grid(importance, set())
    lo, hi = importance.min(), importance.max()  # the colour scale's domain (Vega's default: the data's range)

    cell = luminance(viridis_quick((importance - lo) / (hi - lo)))  # (L, H)
    text = np.where(number_is_black(spec, importance), 0.0, 1.0)
    worst = contrast(cell, text).min()
    assert worst >= 4.5, f"a number at {worst:.2f}:1 against its cell"


def vega_scheme_stops(name: str) -> str:
    """A continuous scheme's colour stops (hex, low end first) as Streamlit's bundled Vega defines them."""
    import streamlit

    bundle = next((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("embed.*.js")).read_text()
    return re.search(rf"[^a-z]{name}:[`\"']([0-9a-f]+)[`\"']", bundle).group(1)


@pytest.mark.parametrize("scheme", [palette.SEQUENTIAL, palette.VALUES_SCHEME, palette.VECTOR_SCHEME])
def test_numbers_reach_4_5_to_1_on_every_colour_of_their_scheme(scheme):
    """Everywhere along the scheme, as Vega blends its stops, the number's colour stands out by 4.5:1."""
    from .wcag import contrast, luminance

    assert palette.SCHEME_STOPS[scheme] == vega_scheme_stops(scheme)  # our copy is Vega's
    values = np.linspace(0.0, 1.0, 2001)
    rgb = palette.scheme_color(scheme, values)  # (2001, 3)
    spec = matrix.heatmap_chart((3, 3), "cells", show_numbers=True, scheme=scheme).to_dict(validate=False)
    spec["params"] = [{"name": "cells_range", "value": [0.0, 1.0]}]
    text = np.where(number_is_black(spec, values), 0.0, 1.0)
    worst = contrast(luminance(rgb), text).min()
    assert worst >= 4.5, f"{scheme}: a number at {worst:.2f}:1 against its cell"

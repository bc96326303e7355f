"""Exports: every chart builder's spec renders to SVG offline, matrices round-trip through CSV with their
labels, and every page offers the download buttons, whose files are built only on click and hold the
numbers the page shows."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.runtime.media_file_manager import MediaFileManager

from qkv_ui import charts, export
from qkv_ui.pages import ATTENTION, HOME, LOOKUP, SMOOTHING

from .apptest_util import assert_clean, chart_specs, open_page, spec_nodes
from .test_charts import decode_png

RNG = np.random.default_rng(0)
TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]
W = RNG.random((5, 5))
W /= W.sum(1, keepdims=True)  # rows sum to 1


def svg_texts(svg: bytes) -> list[str]:
    """Every piece of text the SVG draws."""
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode())


# ---- SVG of each chart builder -----------------------------------------------------------

BUILDERS = [  # (id, chart, texts the exported SVG must draw)
    ("heatmap", lambda: charts.heatmap(W, TOKENS, TOKENS, title="W", row_title="query", col_title="key"),
     ["W", "query", "key", "[CLS]", "weight"]),
    ("heatmap_numbers", lambda: charts.heatmap(W, TOKENS, TOKENS, row_title="query", col_title="key", cell=30,
                                               domain=(0.0, 1.0)), ["query", "key", "sat", f"{W[2, 3]:.2f}"]),
    ("product_diagram", lambda: charts.product_diagram(W, np.arange(5.0), W @ np.arange(5.0), TOKENS),
     ["weights W (rows sum to 1)", "values v", "output = W · v", f"{(W @ np.arange(5.0))[2]:.2f}"]),
    ("attention_overview", lambda: charts.attention_overview(RNG.random((6, 12, 4, 4)), (3, 1)),
     ["All heads: click one to inspect it", "layer", "head", "share of attention"]),
    ("attention_row", lambda: charts.attention_row(W[2], TOKENS), ["key token", "attention weight", "2: cat"]),
    ("series_lines", lambda: charts.series_lines({"raw": RNG.random(300), "Gaussian": RNG.random(300)}, 40,
                                                 title="Raw and smoothed", y_title="CO₂ (ppm)"),
     ["Raw and smoothed", "time step", "CO₂ (ppm)", "raw", "Gaussian"]),
    ("focus_weights", lambda: charts.focus_weights(RNG.random(300), RNG.random(300), 40, 20, 60, title="Weights"),
     ["Weights", "time step", "weight (bars)", "value (line)"]),
    ("weight_matrix", lambda: charts.weight_matrix(W, np.arange(5), 5, 2, title="Gaussian W", select_rows="wrow"),
     ["Gaussian W", "output step i", "input step j"]),
    ("lookup_bars", lambda: charts.lookup_bars(["kittens", "pasta", "rockets"], np.array([0.7, 0.2, 0.1]),
                                               np.array([0.8, 0.15, 0.05]), score_title="cosine"),
     ["cosine", "softmax weight", "kittens", "80%", "15%", "5%"]),
    ("profile_bar", lambda: charts.profile_bar(np.array([0.25, 0.75]), ["cats", "music"]), ["cats", "music", "40%", "100%"]),
    ("blend_diagram", lambda: charts.blend_diagram(np.array([0.5, 0.3, 0.2]), RNG.random((3, 2)), RNG.random(2),
                                                   ["a", "b", "c"], ["cats", "music"]),
     ["weights", "values", "= Σ weight·value", "result", "cats"]),
    ("cosine_by_layer", lambda: charts.cosine_by_layer(RNG.random(7), "bank"),
     ["cosine", "0 = embedding, then after layer 1 … 6", "3", "6", "0.0", "1.0"]),  # the 0..1 axis, whatever the data
    ("cosine_by_layer_with_control",
     lambda: charts.cosine_by_layer({"A vs B": RNG.random(7), "A vs C (control)": RNG.random(7)}, "bank"),
     ["“bank”", "A vs B", "A vs C (control)", "cosine"]),
    ("map_row", lambda: charts.map_row(RNG.random((2, 3, 3)), ["head 1", "head 5"], ["x", "y", "z"], 20),
     ["head 1", "head 5", "query", "key", "x", "z"]),
    ("score_histogram", lambda: charts.score_histogram(RNG.normal(size=8000), RNG.normal(size=8000), 64),
     ["score of random q, k in d = 64 dimensions", "pairs", "q·k (raw)", "q·k / √d"]),
    ("layer_spread", lambda: charts.layer_spread(RNG.random(6), RNG.random(6)),
     ["spread of scores (std)", "layer", "q·k / √d (as trained)", "6"]),
]


@pytest.mark.parametrize("build, expected", [b[1:] for b in BUILDERS], ids=[b[0] for b in BUILDERS])
def test_each_chart_exports_as_an_svg_document_with_its_text(build, expected):
    svg = export.chart_svg(build())
    assert svg.startswith(b"<svg ") and svg.rstrip().endswith(b"</svg>")
    texts = svg_texts(svg)
    for text in expected:
        assert text in texts, f"{text!r} not drawn; drawn: {texts[:40]}"
    assert re.search(rb"<svg [^>]*><title>[^<]+</title>", svg), "the SVG names the chart in a <title>"


def test_a_chart_without_title_gets_the_one_given_for_the_file():
    strip = charts.vector_strip(RNG.normal(size=32), "q: 32 numbers")
    assert svg_texts(export.chart_svg(strip)) == []  # on the page, the heading above names it
    svg = export.chart_svg(strip, title="q of token 3: 32 numbers")
    assert svg_texts(svg) == ["q of token 3: 32 numbers"]
    assert b"<title>q of token 3: 32 numbers</title>" in svg


def test_inline_spec_is_plain_json_and_leaves_the_page_spec_alone():
    values = W.copy()
    values[1, 1] = np.nan  # a masked cell
    spec = charts.series_lines({"raw": RNG.random(50)}, 3, title="t")  # width "container", Arrow datasets
    before = {name: table for name, table in spec["datasets"].items()}
    inline = export.inline_spec(spec)
    json.dumps(inline, allow_nan=False)  # no Arrow table, numpy scalar or NaN left
    assert inline["width"] == export.EXPORT_WIDTH and spec["width"] == "container"
    assert spec["datasets"] == before and "background" not in spec
    assert len(inline["datasets"]["lines"]) == spec["datasets"]["lines"].num_rows
    heat = export.inline_spec(charts.heatmap(values, TOKENS, TOKENS))
    cells = {(c["row"], c["col"]): c["value"] for c in heat["datasets"]["cells"]}
    assert cells[(1, 1)] is None and cells[(0, 0)] == pytest.approx(W[0, 0])


def test_a_large_dataset_exports_all_its_rows():
    big = charts.score_histogram(RNG.normal(size=6000), RNG.normal(size=6000), 16)  # 12,000 rows > altair's 5,000
    spec = export.inline_spec(big)
    assert sum(len(v) for v in spec["datasets"].values()) == 12_000


def test_svg_export_never_fetches_data():
    spec = {"data": {"url": "https://example.com/data.csv"}, "mark": "point",
            "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    with pytest.raises(ValueError, match="not allowed"):
        export.chart_svg(spec)


# ---- CSV ----------------------------------------------------------------------------------


def read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), index_col=0, keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matrix_csv_has_labels_and_round_trips_every_number(dtype):
    m = RNG.normal(size=(5, 3)).astype(dtype)
    cols = ["dim 0", "dim, 1", 'dim "2"']  # a comma and quotes must survive
    data = export.matrix_csv(m, TOKENS, cols, corner="token")
    lines = data.decode().splitlines()
    assert len(lines) == 1 + 5
    assert lines[0] == 'token,dim 0,"dim, 1","dim ""2"""'
    assert [line.split(",")[0] for line in lines[1:]] == TOKENS
    back = read_csv(data)
    assert back.index.name == "token" and list(back.index) == TOKENS and list(back.columns) == cols
    np.testing.assert_array_equal(back.to_numpy().astype(dtype), m)  # exact, not approximately


def test_matrix_csv_writes_missing_values_empty_and_keeps_infinities():
    m = np.array([[0.5, np.nan], [-np.inf, 1.0]])
    data = export.matrix_csv(m, ["a", "b"], ["x", "y"])
    assert data.decode().splitlines() == [",x,y", "a,0.5,", "b,-inf,1.0"]
    np.testing.assert_array_equal(read_csv(data).to_numpy(), m)


def test_matrix_csv_labels_cannot_become_spreadsheet_formulas():
    data = export.matrix_csv(np.ones((2, 1)), ["=HYPERLINK(\"http://x\")", "@SUM(A1)"], ["+cmd"], corner="-x")
    back = read_csv(data)
    assert list(back.index) == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]
    assert list(back.columns) == ["'+cmd"] and back.index.name == "'-x"


def test_matrix_csv_takes_a_vector_as_one_column_and_refuses_labels_that_do_not_fit():
    assert export.matrix_csv(np.array([1.0, 2.0]), ["a", "b"], ["v"]).decode() == ",v\na,1.0\nb,2.0\n"
    with pytest.raises(ValueError, match=r"labels 4x5 do not fit matrix \(5, 5\)"):
        export.matrix_csv(W, TOKENS[:4], TOKENS)


# ---- the pages' buttons -------------------------------------------------------------------


@pytest.fixture
def deferred(monkeypatch) -> dict[str, tuple[str, str, object]]:
    """Every file a download button registers: deferred id -> (file name, MIME type, callable)."""
    files: dict[str, tuple[str, str, object]] = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)
        files[file_id] = (file_name, mimetype, data_callable)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return files


@pytest.fixture
def svg_renders(monkeypatch) -> list[int]:
    """Counts calls of the SVG renderer."""
    calls: list[int] = []
    render = export.vl_convert.vegalite_to_svg
    monkeypatch.setattr(export.vl_convert, "vegalite_to_svg", lambda *a, **k: calls.append(1) or render(*a, **k))
    return calls


def downloads(at, files) -> dict[str, tuple[str, object]]:
    """The page's download buttons as file name -> (MIME type, callable)."""
    out = {}
    for button in at.download_button:
        assert button.proto.ignore_rerun, f"{button.key}: a click must not rerun the page"
        name, mime, build = files[button.proto.deferred_file_id]
        out[name] = (mime, build)
    return out


def chart_data(at, name: str) -> list[pd.DataFrame]:
    """Dataset ``name`` of every chart on the page that has one, in page order."""
    return [dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data)
            for el in at.get("vega_lite_chart") for d in el.proto.datasets if d.name == name]


def shown_matrices(at, name: str = "cells") -> list[pd.DataFrame]:
    """Every heatmap on the page drawn from dataset ``name`` (a ``matrix_table``), as a labelled matrix."""
    return [as_matrix(cells) for cells in chart_data(at, name) if "row_label" in cells]


def as_matrix(cells: pd.DataFrame) -> pd.DataFrame:
    """A heatmap's ``cells`` dataset (row, col, labels, value) back as a labelled matrix (absent cells: 0)."""
    m = cells.pivot(index="row", columns="col", values="value")
    n_rows, n_cols = int(cells["row"].max()) + 1, int(cells["col"].max()) + 1
    m = m.reindex(index=range(n_rows), columns=range(n_cols)).fillna(0.0)
    rows = cells.drop_duplicates("row").set_index("row")["row_label"].astype(str)
    cols = cells.drop_duplicates("col").set_index("col")["col_label"].astype(str)
    return pd.DataFrame(m.to_numpy(), index=[rows[i] for i in range(n_rows)], columns=[cols[j] for j in range(n_cols)])


def assert_same_matrix(csv: bytes, shown: pd.DataFrame) -> None:
    got = read_csv(csv)
    assert list(got.index.astype(str)) == list(shown.index) and list(got.columns) == list(shown.columns)
    np.testing.assert_allclose(got.to_numpy(dtype=float), shown.to_numpy(dtype=float), rtol=1e-6, atol=1e-7)


PAGES = [  # (id, script, URL parameters, file names (no extension) that must be offered, CSV ones among them)
    ("home", HOME.script, None, ["qkv-weights-times-values"], ["qkv-weights-times-values"]),
    ("smoothing", SMOOTHING.script, None,
     ["qkv-smoothing-series", "qkv-smoothing-weights-step78", "qkv-smoothing-w-gaussian", "qkv-smoothing-compare",
      "qkv-smoothing-position-weights-step78", "qkv-smoothing-content-aware-weights-step78",
      "qkv-smoothing-w-content-aware"],
     ["qkv-smoothing-w-gaussian", "qkv-smoothing-w-content-aware"]),
    ("lookup", LOOKUP.script, None, ["qkv-lookup-soft-answer", "qkv-lookup-scores", "qkv-lookup-blend"],
     ["qkv-lookup-scores"]),
    ("attention", ATTENTION.script, None,
     ["qkv-attention-all-heads", "qkv-attention-layer4-head2", "qkv-attention-layer4-head2-token10"],
     ["qkv-attention-layer4-head2"]),
    ("attention-steps", ATTENTION.script, {"view": "steps", "layer": "2", "head": "7", "token": "3"},
     [f"qkv-attention-layer2-head7-{s}" for s in ("token3-x", "token3-q", "token3-output", "q", "k", "v", "output",
                                                   "scores", "scaled", "weights")],
     [f"qkv-attention-layer2-head7-{s}" for s in ("q", "k", "v", "output", "scores", "scaled", "weights")]),
    ("attention-heads", ATTENTION.script, {"view": "heads"},
     ["qkv-attention-layer4-heads-2-12-10", "qkv-attention-layer4-head2-identity-vs-trained",
      "qkv-attention-layer4-token10-joined", "qkv-attention-layer4-token10-projected"],
     ["qkv-attention-layer4-heads-2-12-10",  # the chosen head, then two that differ from it, side by side
      "qkv-attention-layer4-head2-identity-vs-trained"]),
    ("attention-context", ATTENTION.script, {"view": "context"}, ["qkv-attention-context-cosine"],
     ["qkv-attention-context-cosine"]),
    ("attention-scaling", ATTENTION.script, {"view": "scaling", "d": "256"},
     ["qkv-attention-scaling-d256", "qkv-attention-score-spread"], ["qkv-attention-score-spread"]),
]


@pytest.mark.parametrize("script, params, names, csvs", [p[1:] for p in PAGES], ids=[p[0] for p in PAGES])
def test_every_chart_has_an_svg_button_and_every_matrix_a_csv_one(deferred, svg_renders, script, params, names,
                                                                   csvs):
    at = open_page(script, params)
    assert_clean(at)
    assert svg_renders == [], "a rerun must not render SVG: files are built on click"
    files = downloads(at, deferred)
    svgs = [n for n in files if n.endswith(".svg")]  # in page order, like the charts
    assert len(svgs) == len(at.get("vega_lite_chart")), "one SVG button per chart"
    assert set(svgs) >= {f"{n}.svg" for n in names}
    assert sorted(n for n in files if n.endswith(".csv")) == sorted(f"{n}.csv" for n in csvs)
    assert {files[n][0] for n in svgs} == {"image/svg+xml"}
    assert {files[n][0] for n in files if n.endswith(".csv")} <= {"text/csv"}
    titles = [s.get("title") for s in chart_specs(at)]
    for name, title in zip(svgs, titles):  # each file really renders (the page's own data, at its size)
        svg = files[name][1]()
        assert svg.startswith(b"<svg ") and b"<title>" in svg, name
        if isinstance(title, str):
            assert title in svg_texts(svg), name
    assert len(svg_renders) == len(svgs)


def test_smoothing_w_csv_is_the_displayed_matrix_with_its_block_labels(deferred):
    at = open_page(SMOOTHING.script, {"n": "1000"})  # 1000 steps: W is shown as 200 x 200 blocks of 5
    files = downloads(at, deferred)
    pictures, rows = chart_data(at, "picture"), chart_data(at, "rows")
    assert len(pictures) == 2 and len(rows) == 2
    assert rows[0]["label"].astype(str).tolist()[:2] == ["0–4", "5–9"] and len(rows[0]) == 200
    for name, picture, row_labels in zip(("gaussian", "content-aware"), pictures, rows):
        got = read_csv(files[f"qkv-smoothing-w-{name}.csv"][1]())
        assert list(got.index.astype(str)) == row_labels["label"].astype(str).tolist() == list(got.columns)
        w = got.to_numpy(dtype=float)  # (200, 200): the image is these numbers in viridis, 0 to the largest
        np.testing.assert_allclose(decode_png(picture["url"][0]), charts.viridis(w / w.max()), atol=1)
    assert read_csv(files["qkv-smoothing-w-gaussian.csv"][1]()).index.name == "output step \\ input step"
    svg = files["qkv-smoothing-w-gaussian.svg"][1]().decode()  # the page's own picture, not an empty frame
    assert pictures[0]["url"][0] in svg


def test_lookup_csv_lists_every_key_best_first_with_score_and_weight(deferred):
    at = open_page(LOOKUP.script, {"sim": "dot"})
    files = downloads(at, deferred)
    bars = chart_data(at, "bars")[0]
    got = read_csv(files["qkv-lookup-scores.csv"][1]())
    assert got.index.name == "key" and list(got.columns) == ["dot product", "weight"]
    assert list(got.index) == bars["key"].tolist()  # the 16 keys, in the chart's order
    np.testing.assert_allclose(got["dot product"], bars["score"], rtol=1e-12)
    np.testing.assert_allclose(got["weight"], bars["weight"], rtol=1e-12)
    assert got["weight"].sum() == pytest.approx(1.0)


def test_attention_csv_is_the_selected_heads_map_with_token_labels(deferred):
    at = open_page(ATTENTION.script, {"layer": "3", "head": "5", "hide": "true"})
    files = downloads(at, deferred)
    [shown] = shown_matrices(at)
    assert shown.index[0] == "0: [CLS]" and shown.shape == (16, 16)
    csv = files["qkv-attention-layer3-head5.csv"][1]()
    assert_same_matrix(csv, shown)
    assert read_csv(csv).index.name == "query \\ key"
    assert np.allclose(read_csv(csv)["0: [CLS]"], 0.0)  # hidden, as displayed


def test_steps_csvs_are_the_matrices_of_the_selected_head(deferred):
    at = open_page(ATTENTION.script, {"view": "steps", "layer": "2", "head": "7"})
    files = downloads(at, deferred)
    shown = shown_matrices(at)  # in the order the computation runs: Q, K, QKᵀ, ÷√d, softmax, V, output
    assert len(shown) == 7
    for matrix, suffix in zip(shown, ("q", "k", "scores", "scaled", "weights", "v", "output")):
        assert_same_matrix(files[f"qkv-attention-layer2-head7-{suffix}.csv"][1](), matrix)
    q = read_csv(files["qkv-attention-layer2-head7-q.csv"][1]())
    assert q.shape == (16, 32) and q.index[2] == "2: animal" and q.columns[-1] == "31"


def test_home_csv_is_the_weight_matrix_of_the_diagram(deferred):
    at = open_page()
    files = downloads(at, deferred)
    w_panel = chart_specs(at)[0]["hconcat"][0]  # weights W | values v | output
    assert w_panel["title"] == "weights W (rows sum to 1)"
    [shown] = shown_matrices(at, w_panel["data"]["name"])
    assert_same_matrix(files["qkv-weights-times-values.csv"][1](), shown)


def test_every_chart_says_what_it_shows():
    """Each chart carries a title or a text description (read out by screen readers), never a bare "heatmap"."""
    def named(spec: dict) -> bool:
        own = spec.get("title") or spec.get("description")
        parts = spec.get("hconcat") or spec.get("vconcat") or spec.get("concat")
        return bool(own and own != "heatmap") or bool(parts) and all(named(p) for p in parts)

    for script, params, *_ in [p[1:] for p in PAGES]:
        at = open_page(script, params)
        for spec in chart_specs(at):
            assert named(spec), (script, params, json.dumps(spec)[:300])


@pytest.mark.parametrize(("name", "build", "_"), BUILDERS, ids=[b[0] for b in BUILDERS])
def test_presenter_mode_draws_every_chart_for_a_projector(name, build, _):
    """Text at least 14 px (config and cell numbers), no plot taller than a projector allows, legends fit."""
    spec = build()
    before = json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True)
    shown = export.for_projector(spec)
    assert json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True) == before  # a copy
    assert shown.get("datasets", {}).keys() == spec.get("datasets", {}).keys()
    for part in ("axis", "legend", "title", "text"):
        sizes = [v for k, v in shown["config"][part].items() if k.endswith("ontSize")]
        assert sizes and min(sizes) >= export.PROJECTOR_TEXT_PX, part
    if isinstance(shown.get("height"), (int, float)):
        assert shown["height"] <= export.PROJECTOR_MAX_HEIGHT
    for node in spec_nodes(shown):
        mark = node.get("mark")
        if isinstance(mark, dict) and mark.get("type") == "text" and "fontSize" in mark:
            assert mark["fontSize"] >= export.PROJECTOR_TEXT_PX
        if "gradientLength" in node and isinstance(shown.get("height"), (int, float)):
            assert node["gradientLength"] < shown["height"]

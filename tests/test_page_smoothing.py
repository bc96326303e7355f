"""AppTest: the /smoothing page — controls, URL state, tampered links, uploads, data volume."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from qkv_core.series import load_real_series, synthetic_series
from qkv_core.smoothing import content_aware_smooth, smooth
from qkv_ui import charts
from qkv_ui.pages import SMOOTHING

from .apptest_util import all_text, assert_clean, chart_specs, open_page
from .test_charts import decode_png

SCRIPT = SMOOTHING.script
URL_KEYS = {"src", "n", "noise", "seed", "sigma", "trunc", "t", "sigv", "col"}


def page(params: dict[str, str] | None = None):
    """The smoothing page opened as from a link with these URL parameters."""
    at = open_page(SCRIPT, params)
    assert_clean(at)
    return at


def datasets(at, chart: int) -> dict[str, pa.Table]:
    """The named Arrow datasets of the chart-th chart on the page."""
    el = at.get("vega_lite_chart")[chart]
    return {d.name: pa.ipc.open_stream(d.data.data).read_all() for d in el.proto.datasets}


def line(at, name: str, chart: int = 0) -> np.ndarray:
    """One series of a line chart (0: raw vs smoothed, 3: with the content-aware line), as drawn."""
    table = datasets(at, chart)["lines"].to_pandas()
    return table.loc[table["series"] == name, "value"].to_numpy()


def warnings(at) -> str:
    return "\n".join(w.value for w in at.warning)


# ------------------------------------------------------------------ the view


def test_default_view_draws_every_view_with_the_promised_numbers():
    at = page()
    titles = [spec.get("title") for spec in chart_specs(at)]
    assert titles == ["Raw and smoothed", "Weights for the focus step", "Gaussian W",
                      "Position only vs position and value", "Position only", "Position and value",
                      "Content-aware W"]
    values = synthetic_series("steps", 200, 0.2, 0)
    np.testing.assert_allclose(line(at, "raw"), values)
    np.testing.assert_allclose(line(at, "Gaussian"), smooth(values, 4.0, 3.0))
    spread = values.std()
    np.testing.assert_allclose(line(at, "content-aware", 3), content_aware_smooth(values, 4.0, 0.3 * spread, 3.0))
    text = all_text(at)
    assert "smoothed = W · values" in text
    assert f"Step 78: raw {values[78]:.3f} → smoothed {smooth(values, 4.0, 3.0)[78]:.3f}" in text
    assert not at.warning and dict(at.query_params) == {}  # defaults keep the link clean


def test_captions_name_both_limits_and_a_checkable_claim():
    text = all_text(at := page())
    assert "proximity only" in text and "one rule serves every point" in text
    assert "Slide σᵥ up and the content-aware line turns into the Gaussian one" in text
    assert "queries and keys" in text
    assert at.get("latex"), "the content-aware weight formula is shown"


@pytest.mark.parametrize("params, claim", [
    ({}, "the first and last 12 rows (24 of 200) reach past an end"),                     # r = 12
    ({"sigma": "50"}, "at r = 150 every one of the 200 rows reaches past an end"),       # r = 150 > n / 2
    ({"sigma": "50", "n": "1000"}, "the first and last 150 rows (300 of 1,000) reach past an end"),
    ({"sigma": "0.5", "trunc": "0.5"}, "no row reaches past an end"),                    # r = 0
])
def test_w_caption_counts_the_clipped_rows(params, claim):
    text = all_text(page(params))
    assert claim in text
    assert "first and last few rows" not in text


def test_section_four_names_the_key_and_value_jobs_and_the_matrices_that_split_them():
    text = all_text(page())
    assert "**compared** with the focus point's value (a key's job)" in text
    assert "**averaged** into the result (a value's job)" in text
    assert "x·W_kᵀ + b_k" in text and "x·W_vᵀ + b_v" in text


def test_every_widget_has_a_url_key():
    at = page()
    widgets = [*at.slider, *at.number_input, *at.get("button_group")]
    assert {w.key for w in widgets} <= URL_KEYS
    assert {"src", "n", "noise", "seed", "sigma", "trunc", "t", "sigv"} <= {w.key for w in widgets}


# ------------------------------------------------------------------ controls


def test_sigma_slider_changes_the_smoothed_line_and_the_link():
    at = page()
    before = line(at, "Gaussian")
    at.slider(key="sigma").set_value(12.0).run()
    assert_clean(at)
    after = line(at, "Gaussian")
    assert not np.allclose(before, after)
    assert np.abs(np.diff(after)).sum() < np.abs(np.diff(before)).sum()  # a wider bump: a calmer line
    assert at.query_params["sigma"] == "12"
    assert "Only the 73 steps within r = 36 count" in all_text(at)


def test_cut_off_clips_the_weights_of_the_focus_step():
    at = page({"trunc": "1"})
    weights = datasets(at, 1)["window"].to_pandas().set_index("step")["weight"]
    assert (weights[weights > 0].index.to_numpy() == np.arange(74, 83)).all()  # r = int(1·4 + 0.5) = 4
    assert np.isclose(weights.sum(), 1.0)


def test_near_the_start_the_clipped_bump_is_rescaled():
    at = page({"t": "2"})  # r = 12, but only steps 0..14 exist on the left side of the bump
    weights = datasets(at, 1)["window"].to_pandas().set_index("step")["weight"]
    assert np.count_nonzero(weights) == 15 and np.isclose(weights.sum(), 1.0)
    assert "Only the 15 steps within r = 12 count" in all_text(at)


def test_sigma_v_up_turns_the_content_aware_line_into_the_gaussian_one():
    gaps = []
    for sigv in ("0.1", "3"):
        at = page({"sigv": sigv})
        gaps.append(np.abs(line(at, "content-aware", 3) - line(at, "Gaussian", 3)).max())
        assert f"Largest gap between the two smoothed lines: {gaps[-1]:.3f}" in all_text(at)
    assert gaps[1] < 0.2 * gaps[0]


def test_content_aware_keeps_the_step_edge_that_gaussian_blurs():
    at = page({"noise": "0"})
    clean = synthetic_series("steps", 200, 0.0, 0)
    edges = np.flatnonzero(np.diff(clean)) + 1
    near = np.concatenate([np.arange(e - 3, e + 3) for e in edges])
    gauss = np.abs(line(at, "Gaussian", 3) - clean)[near].max()
    aware = np.abs(line(at, "content-aware", 3) - clean)[near].max()
    assert aware < 0.1 * gauss


def test_changing_n_keeps_the_focus_step():
    at = page({"t": "40"})
    at.slider(key="n").set_value(1000).run()
    assert_clean(at)
    assert at.slider(key="t").value == 40 and at.slider(key="t").max == 999


@pytest.mark.parametrize("src", ["sine", "random_walk", "co2"])
def test_every_built_in_series_renders(src):
    at = page({"src": src})
    assert len(chart_specs(at)) == 7
    if src == "co2":
        np.testing.assert_allclose(line(at, "raw"), load_real_series()["co2_ppm"].to_numpy())
        assert "Mauna Loa" in all_text(at)
        assert not list(at.number_input)  # no seed for real data


# ------------------------------------------------------------------ URL state


def test_link_reproduces_a_view():
    at = page({"sigma": "5", "t": "40"})
    assert at.slider(key="sigma").value == 5.0 and at.slider(key="t").value == 40
    assert datasets(at, 0)["focus"]["step"].to_pylist() == [40, 40]
    assert datasets(at, 2)["outline"]["row"].to_pylist() == [40]  # W's marked row
    values = synthetic_series("steps", 200, 0.2, 0)
    np.testing.assert_allclose(line(at, "Gaussian"), smooth(values, 5.0, 3.0))
    assert "2 · The weights behind step 40" in all_text(at)


def test_link_with_every_control_reproduces_the_series_and_the_smoothing():
    params = {"src": "sine", "n": "300", "noise": "0.5", "seed": "7", "sigma": "2.5", "trunc": "2",
              "t": "150", "sigv": "1.2"}
    at = page(params)
    assert not at.warning
    values = synthetic_series("sine", 300, 0.5, 7)
    np.testing.assert_allclose(line(at, "raw"), values)
    np.testing.assert_allclose(line(at, "Gaussian"), smooth(values, 2.5, 2.0))
    np.testing.assert_allclose(line(at, "content-aware", 3), content_aware_smooth(values, 2.5, 1.2 * values.std(), 2.0))
    at.slider(key="t").set_value(151).run()  # any move writes the whole view back to the link
    assert {k: at.query_params[k] for k in params} == {**params, "t": "151"}


TAMPERED = [
    ({"sigma": "abc"}, "sigma", ("sigma", 4.0)),  # not a number
    ({"sigma": "0"}, "sigma", ("sigma", 4.0)),  # below the range
    ({"sigma": "nan"}, "sigma", ("sigma", 4.0)),  # NaN
    ({"t": "-5"}, "t", ("t", 78)),  # negative step
    ({"t": "4.5"}, "t", ("t", 78)),  # not whole
    ({"n": "99999"}, "n", ("n", 200)),  # too long
    ({"noise": "inf"}, "noise", ("noise", 0.2)),  # infinite
    ({"trunc": "-1"}, "trunc", ("trunc", 3.0)),  # negative cut-off
    ({"sigv": "1e999"}, "sigv", ("sigv", 0.3)),  # overflows to inf
    ({"seed": "x"}, "seed", ("seed", 0)),  # not a number
    ({"src": "evil"}, "src", ("src", "steps")),  # unknown source
    ({"src": "<img src=x onerror=alert(1)>"}, "src", ("src", "steps")),  # markup
]


@pytest.mark.parametrize(("params", "key", "fallback"), TAMPERED, ids=lambda x: str(x))
def test_tampered_link_shows_a_notice_and_falls_back_to_the_default(params, key, fallback):
    at = page(params)
    notice = warnings(at)
    assert f"`{key}`" in notice and "default" in notice
    assert "<img" not in notice and "onerror" not in notice  # the raw value is never echoed
    name, default = fallback
    widget = at.get("button_group")[0] if name == "src" else at.number_input(key=name) if name == "seed" \
        else at.slider(key=name)
    assert widget.value == default
    assert len(chart_specs(at)) == 7


def test_focus_step_past_the_end_moves_to_the_middle_with_a_note():
    at = page({"t": "1500"})
    assert at.slider(key="t").value == 100
    assert "past the end" in "\n".join(i.value for i in at.info)


# ------------------------------------------------------------------ data volume


def test_long_series_send_at_most_200_by_200_cells_and_thin_lines():
    at = page({"n": "5000", "sigma": "50", "trunc": "6"})
    for chart in (2, 6):
        data = datasets(at, chart)
        assert data["rows"].num_rows == 200  # W drawn as 200 × 200 blocks: one image, 200 rows to click
        assert decode_png(data["picture"]["url"][0].as_py()).shape == (200, 200, 3)
    assert datasets(at, 0)["lines"].num_rows <= 2 * 801
    assert "each cell shows the average of a 25 × 25 block" in all_text(at)


def test_a_full_matrix_is_still_capped():
    at = page({"sigma": "50", "trunc": "6"})  # n = 200, reach beyond the series: no zero weight at all
    data = datasets(at, 2)
    pixels = decode_png(data["picture"]["url"][0].as_py())
    assert pixels.shape == (200, 200, 3)
    palette = charts.viridis(np.linspace(0.0, 1.0, 1024)).astype(int)  # (1024, 3)
    level = np.abs(pixels.astype(int)[:, :, None, :] - palette).sum(axis=-1).argmin(axis=-1)  # (200, 200) colour -> t
    assert (level.diagonal() == level.max(axis=1)).all()  # every row is a bump peaking at its own step
    assert (level > 0).mean() > 0.5  # reaching far along its row (no band)
    assert data["scale"]["weight"].to_pylist()[0] == 0.0  # the legend still starts at 0


def test_banded_matrix_paints_zero_outside_its_band():
    at = page({"n": "2000", "sigma": "4"})
    data = datasets(at, 2)
    pixels = decode_png(data["picture"]["url"][0].as_py())  # 200 × 200 blocks, only the diagonal band non-zero
    zero = (pixels == charts.viridis(0.0)).all(axis=-1)
    assert zero[0, -1] and zero[-1, 0] and not zero[100, 100]
    assert zero.mean() > 0.9


# ------------------------------------------------------------------ uploads


def upload_page(data: bytes, name: str = "series.csv", params: dict[str, str] | None = None):
    at = page({"src": "upload", **(params or {})})
    at.file_uploader(key="upload").upload(name, data, "text/csv").run()
    return at


def test_upload_source_waits_for_a_file_and_says_links_cannot_carry_it():
    at = page({"src": "upload"})
    assert not chart_specs(at)
    assert "Upload a CSV file" in all_text(at)
    assert "A link can't carry it" in all_text(at)


def test_upload_smooths_the_chosen_column():
    data = b"day,temp,rain\n" + b"".join(b"%d,%d,%d\n" % (i, i * i % 17, i % 5) for i in range(60))
    at = upload_page(data)
    assert_clean(at)
    assert at.selectbox(key="col").options == ["day", "temp", "rain"]
    np.testing.assert_allclose(line(at, "raw"), np.arange(60))
    at.selectbox(key="col").set_value("temp").run()
    assert_clean(at)
    np.testing.assert_allclose(line(at, "raw"), [i * i % 17 for i in range(60)])
    assert at.query_params["col"] == "temp"


def test_upload_link_keeps_the_column_choice():
    at = upload_page(b"a,b\n1,10\n2,20\n3,30\n", params={"col": "b"})
    np.testing.assert_allclose(line(at, "raw"), [10, 20, 30])


HOSTILE = [
    (b"", ["empty"]),  # zero bytes
    (b"\x89PNG\r\n\x1a\n" + bytes(64), ["PNG", "not a CSV"]),  # an image named .csv
    (b"PK\x03\x04" + bytes(64), ["zip"]),  # an .xlsx workbook
    (b"<!DOCTYPE html><html><body>1,2</body></html>", ["web page"]),  # a saved web page
    (b"city,country\nParis,France\nLima,Peru\n", ["No numeric column", "'city'"]),  # no numbers
    (b"x\n1\n", ["only 1 data row"]),  # one row
    (b"x,y\n", ["no data"]),  # header only
    (b"x\n1\nnan\n", ["1 usable value"]),  # a NaN cell leaves one value
    (b"x\n1\ninf\n3\n", ["infinite"]),  # inf
    (b"a,b\n1,2\n3,4,5\n", ["could not be read"]),  # ragged
    (b"x\n" + b"1.5\n" * 1_600_000, ["6.4 MB", "the limit is 5 MB"]),  # over-size
    (b"x\n" + b"1\n" * 20_001, ["more than 20,000 rows"]),  # too long
]


@pytest.mark.parametrize(("data", "words"), HOSTILE, ids=[h[1][0] for h in HOSTILE])
def test_hostile_upload_gets_a_clear_message_and_no_traceback(data, words):
    at = upload_page(data)
    assert_clean(at)
    assert "can't be used as a series" in "\n".join(e.value for e in at.error)
    reason = "\n".join(t.value for t in at.text)
    for word in words:
        assert word in reason, reason
    assert not chart_specs(at)


def test_markup_in_an_upload_is_shown_as_plain_text():
    data = b"![pic](http://example.com/x.png),[link](http://example.com)\nfoo,bar\nbaz,qux\n"
    at = upload_page(data, name="[evil](http://example.com).csv")
    assert_clean(at)
    reason = "\n".join(t.value for t in at.text)
    assert "No numeric column" in reason and "[link](http://example.com)" in reason  # shown, as plain text…
    assert "example.com" not in all_text(at)  # …and never inside markdown


def test_notes_about_dropped_cells_are_plain_text():
    at = upload_page(b"v\n1\n\n2\nabc\n3\n")
    assert_clean(at)
    np.testing.assert_allclose(line(at, "raw"), [1, 2, 3])
    assert any("Dropped 1" in t.value for t in at.text)

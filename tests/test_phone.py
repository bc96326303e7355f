"""Charts on a phone: text sizes become expressions of the window's width; desk sizes and the exports stay as they were."""

from __future__ import annotations

import copy
import re

import numpy as np
import vl_convert

from qkv_ui import charts, export
from qkv_ui.phone import DESK_AXIS_LABEL_PX, PHONE_MAX_WIDTH, PHONE_TEXT_PX, for_phone, on_phone

from .apptest_util import spec_nodes


def _sizes(expr: dict) -> tuple[float, float]:
    """(phone, desk) of an ``on_phone`` expression."""
    phone, desk = re.fullmatch(r".* \? ([\d.]+) : ([\d.]+)", expr["expr"]).groups()
    return float(phone), float(desk)


def _text_marks(spec):
    """The text marks of a spec (their mark definitions)."""
    return [n["mark"] for n in spec_nodes(spec) if isinstance(n.get("mark"), dict) and n["mark"].get("type") == "text"]


def test_heatmap_numbers_and_axis_labels_grow_to_14_px_on_a_phone_only():
    spec = charts.heatmap(np.full((3, 3), 1 / 3), ["a", "b", "c"], ["a", "b", "c"], cell=34)
    template = copy.deepcopy({k: v for k, v in spec.items() if k != "datasets"})
    shown = for_phone(spec)
    marks = _text_marks(shown)
    assert marks, "the heatmap prints its numbers: a text mark"
    assert {_sizes(m["fontSize"]) for m in marks} == {(PHONE_TEXT_PX, 11)}  # the builder's 11 px on the desk
    assert _sizes(shown["config"]["axis"]["labelFontSize"]) == (PHONE_TEXT_PX, DESK_AXIS_LABEL_PX)
    assert {k: v for k, v in spec.items() if k != "datasets"} == template  # the (cached) template is untouched
    assert shown["datasets"] is spec["datasets"]  # data is passed on, not copied


def test_every_panel_of_a_diagram_gets_phone_sizes():
    spec = charts.product_diagram(np.eye(4), np.arange(4.0), np.arange(4.0), list("abcd"))
    marks = _text_marks(for_phone(spec))
    assert len(marks) == 3  # numbers in W, v and W·v
    assert all(_sizes(m["fontSize"]) == (PHONE_TEXT_PX, 11) for m in marks)


def test_sizes_a_chart_sets_itself_are_kept():
    spec = {"mark": {"type": "text", "fontSize": 20}, "config": {"axis": {"labelFontSize": 16}}}
    shown = for_phone(spec)
    assert _sizes(shown["mark"]["fontSize"]) == (20, 20)
    assert shown["config"]["axis"]["labelFontSize"] == 16


def test_the_expression_reads_the_window_width():
    spec = {"data": {"values": [{"a": "x"}]}, "mark": {"type": "text", "text": "hi", "fontSize": on_phone(14, 11)},
            "encoding": {"x": {"field": "a", "type": "nominal"}}}
    vega = vl_convert.vegalite_to_vega(spec)
    assert f"windowSize()[0] <= {PHONE_MAX_WIDTH}" in str(vega)
    # No window (a file export): the desk size.
    assert 'font-size="11px"' in vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])


def test_svg_export_keeps_desk_sizes():
    svg = export.chart_svg(charts.heatmap(np.eye(3), ["a", "b", "c"], ["a", "b", "c"], cell=34)).decode()
    assert 'font-size="11px"' in svg and f'font-size="{PHONE_TEXT_PX}px"' not in svg


def test_w_fits_a_phone_but_keeps_the_projector_size():
    spec = charts.weight_matrix(np.eye(4), np.arange(4), 4, 1, title="W")
    fit = {p["name"]: p["expr"] for p in spec["params"] if p["name"] in ("width", "height")}
    assert fit.keys() == {"width", "height"} and all("windowSize()[0] - 32" in e for e in fit.values())
    shown = export.for_projector(spec)
    assert shown["height"] == export.PROJECTOR_MAX_HEIGHT  # capped for the projector, not overridden by the phone fit
    assert not {p["name"] for p in shown["params"]} & {"width", "height"}

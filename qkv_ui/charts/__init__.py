"""Chart builders: the presentation layer shared by every page, one module per kind of picture.

Every builder returns a ready Vega-Lite spec for ``st.vega_lite_chart``: a layout compiled once
(``template``) filled with Arrow datasets per call. Nothing here computes model maths; it only
draws arrays that ``qkv_core`` returns.

- ``palette``: every colour and colour scheme, by name
- ``template``: compile once, fill per call; Arrow column helpers
- ``matrix``: the heatmap (alone or as a panel), the weights × values diagrams, W, vector strips
- ``series``: lines over time or layers, focus weights, histograms
- ``bars``: one query's attention, /lookup's scores and weights, a value's split over its parts
- ``raster``: maps painted as images, the all-heads overview
- ``small_maps``: a row of attention maps in one chart
- ``explain``: the explain view's knockout grid, per-token bars and explanations side by side
"""

from __future__ import annotations

from .explain import explanation_bars, head_grid, token_bars
from .bars import MAX_LOOKUP_ROWS, attention_row, lookup_bars, profile_bar, top_rows
from .matrix import blend_diagram, block_labels, heatmap, product_diagram, vector_strip, weight_matrix
from .palette import DIVERGING, LINE_COLORS, SEQUENTIAL
from .raster import OVERVIEW_MIN_PIXELS, attention_overview, png_data_url, viridis
from .small_maps import map_row
from .series import cosine_by_layer, focus_weights, layer_spread, score_histogram, series_lines

__all__ = [
    "DIVERGING", "LINE_COLORS", "MAX_LOOKUP_ROWS", "OVERVIEW_MIN_PIXELS", "SEQUENTIAL",
    "attention_overview", "attention_row", "explanation_bars", "head_grid", "token_bars", "blend_diagram", "block_labels", "cosine_by_layer", "focus_weights",
    "heatmap", "layer_spread", "map_row", "lookup_bars", "png_data_url", "product_diagram", "profile_bar", "score_histogram",
    "series_lines", "top_rows", "vector_strip", "viridis", "weight_matrix",
]

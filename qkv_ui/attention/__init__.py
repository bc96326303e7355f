"""The /attention page's views, one module each: a view takes the shared encoder (and a selection), draws one lesson.

Computation comes from ``qkv_core`` (``heads``, ``steps``, ``patterns``, ``vectors``, ``scaling``): one call per
view returns a frozen result, and the view draws it with ``qkv_ui.charts``.
User text reaches the screen only inside widgets, tables and chart data, never through markdown.
"""

from qkv_ui.attention import context, explain, sqrt_d
from qkv_ui.attention.common import VIEWS, Selection, input_notes, what_if_notes
from qkv_ui.attention.context import context_view
from qkv_ui.attention.explain import explain_view
from qkv_ui.attention.heads import heads_view
from qkv_ui.attention.maps import map_view
from qkv_ui.attention.sqrt_d import scaling_view
from qkv_ui.attention.stepwise import steps_view

EXTRA_PARAMS = [*context.PARAMS, *sqrt_d.PARAMS]  # the URL parameters of the views without a selection
explain_params = explain.params  # (n_layers, n_heads) -> the explain view's parameters (off= follows the model)

__all__ = ["EXTRA_PARAMS", "VIEWS", "explain_params", "Selection", "context_view", "explain_view", "heads_view", "input_notes", "map_view",
           "scaling_view", "steps_view", "what_if_notes"]

"""Charts as templates: a layout compiled once, its data filled in on every call.

Pages redraw on every slider move, and building and validating an Altair chart costs 5–300 ms.
So each chart's layout is built with Altair once per layout (``compiled``: altair validates it
then) with *named* datasets and params, and each call only fills in fresh Arrow tables and param
values (``filled``, well under 1 ms). Streamlit sends Arrow datasets as they are, ~10× faster
than DataFrames. Layouts depend on sizes and options, never on the numbers drawn.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import altair as alt
import numpy as np
import pyarrow as pa


Build = Callable[..., alt.TopLevelMixin]  # a function building an Altair chart from a layout


def compiled(maxsize: int = 16, *, validate: bool = True) -> Callable[[Build], Callable[..., dict]]:
    """Decorator: a function building an Altair chart becomes a cached function of its Vega-Lite dict.

    Its arguments (hashable) are the layout; the dict is built once per layout and shared, so
    callers never change it (``filled`` copies what it sets). ``validate=False`` skips altair's
    schema check (~60 % of the cost) for layouts that change often and are validated in tests.
    """
    def wrap(build: Build) -> Callable[..., dict]:
        @functools.lru_cache(maxsize=maxsize)
        @functools.wraps(build)
        def template(*args: Any, **kwargs: Any) -> dict:
            return build(*args, **kwargs).to_dict(validate=validate)
        return template
    return wrap


def filled(template: dict, params: dict[str, object] | None = None, **datasets: pa.Table) -> dict:
    """A compiled spec with its named datasets and top-level param values set (the template is not changed)."""
    spec = {**template, "datasets": datasets}
    if params:
        known = {p["name"] for p in template.get("params", [])}
        if not known >= params.keys():
            raise ValueError(f"params {sorted(params.keys() - known)} are not in the template ({sorted(known)})")
        spec["params"] = [{**p, "value": params[p["name"]]} if p["name"] in params else p
                          for p in template["params"]]
    return spec


def names(codes: np.ndarray, labels: Sequence[str]) -> pa.DictionaryArray:
    """A string column stored as small integer codes into ``labels`` (each label is sent once)."""
    return pa.DictionaryArray.from_arrays(np.asarray(codes, dtype=np.int32), pa.array(list(labels), pa.string()))


def numbers(values: np.ndarray) -> pa.Array:
    """A float column; NaN (a masked cell) becomes null, which Vega leaves out like pandas' NaN."""
    return pa.array(np.asarray(values, dtype=float), from_pandas=True)

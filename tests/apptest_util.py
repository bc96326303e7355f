"""Shared helpers for Streamlit AppTest tests."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
# s for every AppTest run: generous, since CI shares two cores (the first /attention run loads the model).
TIMEOUT = 90


def open_page(script: str | None = None, params: dict[str, str] | None = None, timeout: float = TIMEOUT) -> AppTest:
    """Run the app (optionally switched to a page script, with URL parameters) and return it."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    if script is not None:
        at.switch_page(script)
        at.run()
    return at


def assert_clean(at: AppTest) -> None:
    """No exception element and no uncaught error in the run."""
    assert not at.exception, [e.value for e in at.exception]


def chart_specs(at: AppTest) -> list[dict]:
    """The Vega-Lite specs of every Altair chart on the page."""
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def all_text(at: AppTest) -> str:
    """Everything the page wrote as markdown, captions, titles, alerts (for substring checks)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "code"):
        parts.extend(str(el.value) for el in at.get(kind))
    return "\n".join(parts)


def spec_nodes(node):
    """Every dict in a Vega-Lite spec tree, its datasets left out (the data is not part of the layout)."""
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key != "datasets":
                yield from spec_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from spec_nodes(value)

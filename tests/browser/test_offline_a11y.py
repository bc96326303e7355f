"""Real browser: every view renders with the network cut off, fits a projector, and passes axe-core."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from .helpers import CHARTS, SPILLS, assert_no_exception, box_still, browser_idle, new_page, open_view
from .server import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VIEWS = [  # (path and query, heading, id)
    ("", "QKV Explainer", "home"),
    ("smoothing", "Context matters", "smoothing"),
    ("lookup", "Search, softly", "lookup"),
    ("attention", "Attention on your text", "attention"),
    ("attention?view=steps", "Attention on your text", "attention-steps"),
    ("attention?view=heads", "Attention on your text", "attention-heads"),
    ("attention?view=context", "Attention on your text", "attention-context"),
    ("attention?view=scaling", "Attention on your text", "attention-scaling"),
    ("attention?view=explain", "Attention on your text", "attention-explain"),
]


@pytest.fixture
def offline_page(browser, server):
    """A page whose every request not to our server is blocked and recorded."""
    page = new_page(browser, viewport={"width": 1400, "height": 1800})
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(server.url) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    page.blocked = blocked
    yield page
    page.context.close()


@pytest.mark.parametrize("path, heading, name", VIEWS, ids=[v[2] for v in VIEWS])
def test_renders_completely_offline(server, offline_page, path, heading, name):
    open_view(offline_page, f"{server.url}/{path}", heading)
    expect(offline_page.locator(CHARTS).first).to_be_visible()
    browser_idle(offline_page)  # images and fonts loaded or failed: every request the view makes was made
    assert offline_page.blocked == [], f"tried to reach the network: {offline_page.blocked}"


@pytest.mark.parametrize("path, heading, name", VIEWS[:4], ids=[v[2] for v in VIEWS[:4]])
def test_projector_main_chart_fits_without_horizontal_scroll(browser, server, artifacts, path, heading, name):
    # 1280 x 720 at 150 % zoom = 853 x 480 CSS pixels at 1.5 device pixels each.
    page = new_page(browser, viewport={"width": 853, "height": 480}, device_scale_factor=1.5)
    open_view(page, f"{server.url}/{path}", heading)
    chart = page.locator(CHARTS).first
    chart.scroll_into_view_if_needed()
    box = box_still(chart)
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 853 + 1, box
    inner = chart.evaluate("el => el.scrollWidth - el.clientWidth")  # the chart itself must not scroll sideways
    assert inner <= 1, f"the main chart scrolls sideways by {inner}px"
    page.screenshot(path=str(artifacts / f"projector-{name}.png"))
    page.context.close()



@pytest.mark.parametrize("path, heading, name", VIEWS, ids=[v[2] for v in VIEWS])
def test_no_chart_spills_out_of_its_column_at_1280(browser, server, path, heading, name):
    page = new_page(browser, viewport={"width": 1280, "height": 720})
    open_view(page, f"{server.url}/{path}", heading)  # waits for every chart drawn and still (sized to its column)
    expect(page.locator(CHARTS).first).to_be_visible()
    assert page.evaluate(SPILLS) == []
    page.context.close()


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path, heading, name", VIEWS, ids=[v[2] for v in VIEWS])
def test_axe_finds_no_serious_violations(browser, server, artifacts, scheme, path, heading, name):
    assert AXE.exists(), "axe-core missing: run `make test` (it installs node_modules)"
    page = new_page(browser, viewport={"width": 1400, "height": 1800}, color_scheme=scheme)
    open_view(page, f"{server.url}/{path}", heading)  # the run over, every chart drawn and still
    browser_idle(page)
    violations = _axe(page)
    report = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
               "targets": [n["target"] for n in v["nodes"]][:5]} for v in violations]
    (artifacts / f"axe-{name}-{scheme}.json").write_text(json.dumps(report, indent=1))
    assert report == []
    assert_no_exception(page)
    page.context.close()

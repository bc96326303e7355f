"""Real browser: the room scans the QR code off a projector, and predicts before the map appears.

The QR test reads the code the way a phone would: from a screenshot of a 1280 × 720 projector at
150 % zoom (853 × 480 CSS px at device scale 1.5), decoded by zbarimg (Debian's zbar-tools).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from urllib.parse import parse_qsl, urlparse

import pytest
from playwright.sync_api import Page, expect

from .helpers import (SLOW_TIMEOUT, assert_no_exception, browser_idle, charts_still, new_page, open_view, rerun,
                      settle)
from .server import free_port
from .test_offline_a11y import AXE

WIDTH, HEIGHT, SCALE = 853, 480, 1.5
MIN_DEVICE_PX = 280  # the smallest code on a 1280 × 720 screen at 150 %
LINK = '[data-testid="stSidebar"] [data-testid="stCode"]'
QR = ".st-key-room-qr img"
ZBARIMG = shutil.which("zbarimg")


@pytest.fixture
def projector(browser):
    page = new_page(browser, viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=SCALE)
    yield page
    page.context.close()


def open_sidebar(page: Page) -> None:
    """Presenter mode starts with the sidebar collapsed: open it, as the presenter does to show the code."""
    expect(page.locator(LINK)).not_to_be_in_viewport()
    button = page.locator('[data-testid="stExpandSidebarButton"]')
    button.hover()  # Streamlit shows the button on hover of the header
    button.click()
    expect(page.locator(LINK)).to_be_in_viewport()


def zbar(png_path) -> list[str]:
    out = subprocess.run([ZBARIMG, "--quiet", "--raw", "-Sbinary", str(png_path)], capture_output=True, check=False)
    return [line for line in out.stdout.decode("utf-8").split("\n") if line]


def scan(page: Page, path) -> str:
    """The QR code's image fully on screen and big enough, then what a screenshot of the screen decodes to."""
    code = page.locator(QR)
    expect(code).to_be_visible()
    page.wait_for_function("(sel) => { const i = document.querySelector(sel); return i && i.complete && "
                           "i.naturalWidth > 0; }", arg=QR)
    box = code.bounding_box()
    assert box["width"] * SCALE >= MIN_DEVICE_PX and box["height"] * SCALE >= MIN_DEVICE_PX, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT and box["x"] + box["width"] <= WIDTH, box
    page.screenshot(path=str(path))  # the whole screen, as the room sees it
    found = zbar(path)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.skipif(ZBARIMG is None, reason="zbarimg missing: run `make test` (it installs zbar-tools)")
def test_the_projected_code_opens_exactly_the_sidebars_link(server, projector, artifacts):
    page = projector
    page.goto(f"{server.url}/attention?present=1&step=12&view=heads&layer=1")
    expect(page.locator(".st-key-presenter-counter")).to_contain_text("Step 12 / ", timeout=SLOW_TIMEOUT)
    settle(page, at_least=1, timeout=SLOW_TIMEOUT)
    open_sidebar(page)
    link = page.locator(LINK).inner_text().strip()
    assert link == f"{server.url}/attention?view=heads&layer=1"  # the visitor's link: no present, step or qr
    assert scan(page, artifacts / "room-qr-projector.png") == link

    # Another view: the code follows it (here with a sentence of the presenter's own, encoded).
    page.goto(f"{server.url}/attention?present=1&text=Der%20B%C3%A4r%20schl%C3%A4ft%2C%20weil%20er%20m%C3%BCde%20ist.")
    expect(page.locator(".st-key-presenter-counter")).to_be_visible(timeout=SLOW_TIMEOUT)
    settle(page, at_least=1, timeout=SLOW_TIMEOUT)
    expect(page.locator(LINK)).to_be_in_viewport()  # the browser remembers the sidebar open
    link = page.locator(LINK).inner_text().strip()
    assert dict(parse_qsl(urlparse(link).query)) == {"text": "Der Bär schläft, weil er müde ist."}
    assert scan(page, artifacts / "room-qr-projector-text.png") == link
    assert_no_exception(page)

    with rerun(page):
        page.get_by_text("QR code of this view", exact=True).click()  # the presenter hides it
    expect(page.locator(QR)).to_have_count(0)
    expect(page.locator(LINK)).to_have_text(link)  # the link stays
    assert dict(parse_qsl(urlparse(page.url).query))["qr"] == "0"


class _Forwarder:
    """A TCP proxy on another port: the browser's address differs from the server's, as behind Community Cloud."""

    def __init__(self, target_port: int):
        self.port, self.target = free_port(), target_port
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def test_behind_a_proxy_the_link_uses_the_browsers_address(server, page):
    proxy = _Forwarder(server.port)
    try:
        address = f"http://localhost:{proxy.port}"
        open_view(page, f"{address}/smoothing?sigma=20", "Context matters")
        expect(page.locator(LINK)).to_have_text(f"{address}/smoothing?sigma=20")
    finally:
        proxy.close()


def test_predict_on_the_map_pick_reveal_and_the_map_appears(server, page, artifacts):
    open_view(page, f"{server.url}/attention?predict=1", "Attention on your text")
    box = page.locator(".st-key-predict-map")
    expect(box).to_contain_text("which token will token 10 ('it') look at most?")
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(0)  # the map waits
    page.screenshot(path=str(artifacts / "predict-map-asked.png"))
    with rerun(page):
        box.get_by_text("2: animal", exact=True).click()
    with rerun(page):
        box.get_by_role("button", name="Reveal").click()
    expect(box).to_contain_text("Right.")
    expect(box).to_contain_text("Token 2 ('animal')")
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(3)  # overview, detail map, row
    charts_still(page)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "predict-map-revealed.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path, heading", [
    ("smoothing?present=1&step=3&predict=1", "Context matters"),  # the QR code in the sidebar and a question
    ("attention?view=scaling&d=1024&predict=1", "Attention on your text"),
], ids=["qr-and-smoothing-question", "scaling-question"])
def test_qr_and_questions_are_offline_and_pass_axe(browser, server, artifacts, scheme, path, heading):
    assert AXE.exists(), "axe-core missing: run `make test` (it installs node_modules)"
    page = new_page(browser, viewport={"width": 1400, "height": 1800}, color_scheme=scheme)
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith((server.url, "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    try:
        page.goto(f"{server.url}/{path}")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=SLOW_TIMEOUT)
        settle(page, at_least=1, timeout=SLOW_TIMEOUT)
        if "present=1" in path:
            open_sidebar(page)
            expect(page.locator(QR)).to_be_visible()
        expect(page.locator('[class*="st-key-predict-"] button').first).to_be_visible()
        browser_idle(page)
        assert blocked == [], f"tried to reach the network: {blocked}"
        page.add_script_tag(path=str(AXE))
        # The banner's Next is a secondary button: as a primary one it was white on light red in the dark theme (2.2:1).
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        report = [{"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]][:5]}
                  for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert report == [], report
        assert_no_exception(page)
        page.screenshot(path=str(artifacts / f"room-{path.split('?')[0]}-{scheme}.png"))
    finally:
        page.context.close()

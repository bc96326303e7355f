"""Server-level figures: cold start to a rendered home page, and idle memory."""

from __future__ import annotations

import statistics
import time

from tests.browser.helpers import new_page, open_view
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer

from .common import rss_mb

RUNS = 5


def run() -> dict[str, float]:
    """cold_start_s: server process start -> home page rendered in Chromium; rss_mb_idle after it."""
    from playwright.sync_api import sync_playwright

    starts, rss = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for _ in range(RUNS):
            page = new_page(browser)  # the run tap open_view waits on
            with StreamlitServer() as srv:
                open_view(page, srv.url, "QKV Explainer")
                starts.append(time.perf_counter() - srv.started_at)
                time.sleep(1.0)
                rss.append(rss_mb(srv.proc.pid))
            page.context.close()
        browser.close()
    return {"cold_start_s": statistics.median(starts), "rss_mb_idle": statistics.median(rss)}

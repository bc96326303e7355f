"""/attention figures: our traced forward pass vs transformers, page reruns, load time, memory."""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .common import median_ms, rss_mb

RUNS = 7


def _text_of(encoder, n_tokens: int) -> str:
    """A text that tokenizes to exactly n_tokens pieces (including [CLS] and [SEP])."""
    words = ("attention mixes values by weights that queries and keys decide " * 200).split()
    for n_words in range(n_tokens, 0, -1):
        text = " ".join(words[:n_words])
        if encoder.tokenize(text).T <= n_tokens:
            return text
    raise RuntimeError("could not build text")


def _forward_figures() -> dict[str, float]:
    import torch
    from transformers import AutoModel

    from qkv_core.encoder import default_model_path, load_pretrained

    loads = []
    for _ in range(RUNS):
        start = time.perf_counter()
        encoder = load_pretrained()
        loads.append(time.perf_counter() - start)
    reference = AutoModel.from_pretrained(str(default_model_path()), attn_implementation="eager").eval()
    figures = {"model_load_s": statistics.median(loads)}
    for n in (128, 512):
        text = _text_of(encoder, n)
        ids = torch.from_numpy(encoder.tokenize(text).ids.copy())[None]

        def ours() -> None:
            encoder.trace(text)

        def theirs() -> None:
            with torch.inference_mode():
                reference(input_ids=ids, output_attentions=True, output_hidden_states=True)

        # interleave to share the machine's noise fairly
        ours_ms, theirs_ms = [], []
        for _ in range(RUNS):
            ours_ms.append(median_ms(ours, runs=1, warmup=1))
            theirs_ms.append(median_ms(theirs, runs=1, warmup=1))
        figures[f"trace_{n}_ms"] = statistics.median(ours_ms)
        figures[f"trace_{n}_vs_transformers_ratio"] = statistics.median(ours_ms) / statistics.median(theirs_ms)
    return figures


def _rerun_figure() -> dict[str, float]:
    from tests.apptest_util import open_page

    at = open_page("pages/story/attention.py")
    heads = [3, 5, 7, 9, 11, 1, 4, 6, 8]

    def rerun() -> None:
        at.slider(key="head").set_value(heads[rerun.i % len(heads)]).run()
        rerun.i += 1

    rerun.i = 0
    figures = {"attention_rerun_ms": median_ms(rerun, runs=RUNS, warmup=2)}
    assert not at.exception, "the attention page raised during the benchmark"

    # The walkthrough at 128 tokens: choose another query token in the step-by-step view.
    from qkv_core.encoder import load_pretrained

    walk = open_page("pages/story/attention.py", params={"view": "steps"})
    walk.text_area(key="text").input(_text_of(load_pretrained(), 128)).run()
    pills = next(b for b in walk.get("button_group") if b.key == "token")
    tokens = [5, 40, 77, 100, 12, 63, 90, 120, 30]

    def choose_token() -> None:
        next(b for b in walk.get("button_group") if b.key == "token").set_value(tokens[choose_token.i % 9]).run()
        choose_token.i += 1

    choose_token.i = 0
    assert pills is not None and not walk.exception
    figures["walkthrough_rerun_ms"] = median_ms(choose_token, runs=RUNS, warmup=2)
    assert not walk.exception, "the step view raised during the benchmark"
    return figures


def _knockout_figure() -> dict[str, float]:
    """The explain view's knockout lab at 32 tokens: a rerun after switching one more head off (a new head set
    each time, so the knockout is computed, not cached; head importance and leave-one-out are cached by then)."""
    from qkv_core.encoder import load_pretrained
    from tests.apptest_util import open_page

    lab = open_page("pages/story/attention.py", params={"view": "explain"})
    lab.text_area(key="text").input(_text_of(load_pretrained(), 32)).run()
    heads = [(5, 11), (3, 1), (0, 2), (4, 7), (1, 9), (2, 4), (5, 0), (3, 10), (1, 1), (4, 3), (2, 8), (0, 6)]

    def switch_one_off() -> None:
        lab.session_state["off"] = frozenset(heads[: switch_one_off.i % len(heads) + 1])  # as the grid's click does
        lab.run()
        switch_one_off.i += 1

    switch_one_off.i = 0
    figure = median_ms(switch_one_off, runs=RUNS, warmup=2)
    assert not lab.exception, "the explain view raised during the benchmark"
    return {"knockout_rerun_ms": figure}


def _server_rss() -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import new_page, open_view
    from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer

    values = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for _ in range(3):
            page = new_page(browser)  # the run tap open_view waits on
            with StreamlitServer() as srv:
                open_view(page, f"{srv.url}/attention", "Attention on your text")
                time.sleep(1.0)
                values.append(rss_mb(srv.proc.pid))
            page.context.close()
        browser.close()
    return {"rss_mb_after_attention": statistics.median(values)}


def _all_pages_rss() -> dict[str, float]:
    """Server memory after home, /smoothing, /lookup and every /attention view, each a session of its own."""
    from tests.browser.server import StreamlitServer

    from .ws_pages import problems, visit_all

    values = []
    for _ in range(3):
        with StreamlitServer() as srv:
            visits = visit_all(srv.port, srv.proc.pid)
        failed = problems(visits)
        assert not failed, f"pages failed during the benchmark: {failed}"
        values.append(visits[-1].rss_mb)
    return {"rss_mb_after_all_pages": statistics.median(values)}


def run() -> dict[str, float]:
    """All /attention figures."""
    return {**_forward_figures(), **_rerun_figure(), **_knockout_figure(), **_server_rss(), **_all_pages_rss()}

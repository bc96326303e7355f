"""What the server keeps in memory: no module that only costs memory, and traces within a byte budget.

Community Cloud gives an app as little as 690 MB. ``torch.broadcast_shapes`` imports torch's symbolic
shapes and with them sympy and mpmath (about 480 modules, 35 MB that stay for the server's life); the
app's own model code must never need them, nor sentence-transformers and what it brings, which are
installed only because the model's package requires them.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from qkv_ui.model import TRACE_BUDGET_BYTES, TraceCache, _nbytes

ROOT = Path(__file__).resolve().parents[1]
NEVER = ("sympy", "mpmath", "torch._dynamo", "transformers", "sentence_transformers", "sklearn")

# Everything the pages ask of the model: a trace with and without the what-ifs, sentence embeddings
# (a batch with padding, so a key mask), each in a fresh interpreter.
SCRIPT = """
import json, sys
from qkv_core.encoder import load_pretrained
encoder = load_pretrained()
encoder.trace("The animal didn't cross the street because it was too tired.")
encoder.trace("The animal didn't cross the street.", causal=True, scale=1.0)
encoder.embed(["a short one", "and a somewhat longer sentence than that"])
top = {name.split('.')[0] for name in sys.modules}
print(json.dumps(sorted(top | {name for name in sys.modules if name.startswith('torch._')})))
"""


def test_the_model_work_of_every_page_imports_no_module_that_only_costs_memory():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "torch" in loaded and "tokenizers" in loaded  # the script did load the model
    assert sorted(loaded & set(NEVER)) == []


# --- the trace cache: bounded by bytes -------------------------------------------------------------------
MB = 2**20


@dataclasses.dataclass(frozen=True)
class FakeTrace:
    name: str
    arrays: tuple[np.ndarray, ...]


def _trace(name: str, mb: int) -> FakeTrace:
    return FakeTrace(name, (np.zeros(mb * MB // 8), np.zeros(0)))


def test_a_trace_is_measured_by_its_arrays():
    assert _nbytes(_trace("t", 3)) == 3 * MB


def test_cached_traces_are_reused_and_not_recomputed():
    cache, made = TraceCache(budget_bytes=100 * MB), []
    first = cache.get(("a",), lambda: made.append("a") or _trace("a", 1))
    again = cache.get(("a",), lambda: made.append("a") or _trace("a", 1))
    assert again is first and made == ["a"]


def test_long_texts_push_out_the_least_recently_used_within_the_budget():
    cache = TraceCache(budget_bytes=200 * MB, max_entries=6)
    cache.get(("short",), lambda: _trace("short", 1))
    cache.get(("long-1",), lambda: _trace("long-1", 95))  # a 512-token trace is about 95 MB
    cache.get(("short",), lambda: _trace("short", 1))  # used again: now the most recent
    cache.get(("long-2",), lambda: _trace("long-2", 95))
    assert cache.nbytes <= 200 * MB and len(cache) == 3
    cache.get(("long-3",), lambda: _trace("long-3", 95))  # long-1 is the least recently used: it goes
    assert cache.nbytes <= 200 * MB
    made = []
    cache.get(("long-1",), lambda: made.append(1) or _trace("long-1", 95))
    assert made == [1]  # recomputed: it had been dropped
    cache.get(("long-3",), lambda: made.append(3) or _trace("long-3", 95))
    assert made == [1]  # still cached


def test_at_most_six_traces_and_one_over_the_budget_is_still_kept():
    cache = TraceCache(budget_bytes=10 * MB, max_entries=6)
    for i in range(9):
        cache.get((i,), lambda i=i: _trace(str(i), 1))
    assert len(cache) == 6
    huge = cache.get(("huge",), lambda: _trace("huge", 50))
    assert len(cache) == 1 and cache.get(("huge",), lambda: None) is huge


def test_the_servers_budget_holds_two_512_token_traces_for_a_what_if():
    assert 2 * 95 * MB <= TRACE_BUDGET_BYTES <= 256 * MB


def test_the_servers_cache_keeps_a_room_of_visitors_texts():
    # 100 visitors, each with a text of their own (a short trace is about 1 MB): a visitor's next click
    # finds its text still traced, however many others typed in between.
    cache, made = TraceCache(), []
    for visitor in range(120):
        cache.get((visitor,), lambda v=visitor: made.append(v) or _trace(str(v), 1))
    for visitor in range(120):
        cache.get((visitor,), lambda v=visitor: made.append(v) or _trace(str(v), 1))
    assert made == list(range(120)) and cache.nbytes <= TRACE_BUDGET_BYTES

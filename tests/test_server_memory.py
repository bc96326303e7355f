"""What the server keeps in memory: nothing the pages do pulls in modules that only cost memory.

Community Cloud gives an app as little as 690 MB. ``torch.broadcast_shapes`` imports torch's symbolic
shapes and with them sympy and mpmath (about 480 modules, 35 MB that stay for the server's life); the
app's own model code must never need them, nor sentence-transformers and what it brings, which are
installed only because the model's package requires them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
print(json.dumps(sorted({name.split('.')[0] for name in sys.modules} | {n for n in sys.modules if n.startswith('torch._')})))
"""


def test_the_model_work_of_every_page_imports_no_module_that_only_costs_memory():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "torch" in loaded and "tokenizers" in loaded  # the script did load the model
    assert sorted(loaded & set(NEVER)) == []

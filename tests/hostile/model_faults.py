"""Broken copies of the model folder, for fault tests (point QKV_MODEL_PATH at one).

Each fault comes with words the page's error must contain: what is wrong, and the fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from qkv_core.encoder import default_model_path

FIX_WORDS = ("pip install --force-reinstall", "QKV_MODEL_PATH")  # every message says how to fix it

FAULTS = {  # name -> words saying what is wrong
    "absent": ("does not exist",),  # QKV_MODEL_PATH names a folder that is not there
    "truncated": ("corrupt or truncated",),  # the weights file cut short (an interrupted copy)
    "empty-weights": ("corrupt or truncated",),  # a zero-byte weights file
    "no-weights": ("model.safetensors", "missing"),  # the weights file deleted
    "bad-config": ("config.json", "not valid JSON"),  # config.json overwritten with junk
    "not-a-folder": ("is not a folder",),  # the path names a file
}


def broken_model(tmp_path: Path, fault: str) -> Path:
    """A copy of the bundled model folder under tmp_path, broken as ``fault`` names."""
    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {', '.join(FAULTS)}, got {fault!r}")
    target = tmp_path / f"model-{fault}"
    if fault == "absent":
        return target
    if fault == "not-a-folder":
        target.write_text("not a model")
        return target
    source = Path(default_model_path())
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("model.safetensors"))
    weights = target / "model.safetensors"
    if fault == "truncated":
        with open(source / "model.safetensors", "rb") as f:
            weights.write_bytes(f.read(1_000_000))  # of 90 MB
    elif fault == "empty-weights":
        weights.write_bytes(b"")
    elif fault == "bad-config":
        shutil.copy(source / "model.safetensors", weights)
        (target / "config.json").write_text("{not json")
    return target

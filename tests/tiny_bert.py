"""A small randomly initialised BERT checkpoint folder, for tests that must not assume the bundled model's sizes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from a model hub

import torch

TINY_SIZES = {"n_layers": 2, "n_heads": 4, "d_model": 64, "d_ff": 128, "max_positions": 64}


def save_tiny_bert(folder: Path, tokenizer_from: Path, seed: int = 0) -> Path:
    """Save a random 2-layer, 4-head, width-64 BERT (transformers' own code) with the tokenizer of ``tokenizer_from``."""
    from transformers import BertConfig as HFBertConfig
    from transformers import BertModel

    torch.manual_seed(seed)
    s = TINY_SIZES
    config = HFBertConfig(
        vocab_size=30522, hidden_size=s["d_model"], num_hidden_layers=s["n_layers"],
        num_attention_heads=s["n_heads"], intermediate_size=s["d_ff"], max_position_embeddings=s["max_positions"],
        initializer_range=0.2,
    )
    model = BertModel(config).eval()
    with torch.no_grad():  # LayerNorms start as identity; make them matter too
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "vocab.txt"):
        shutil.copy(tokenizer_from / name, folder / name)
    return folder

"""The independent reference for head masks: transformers' BertModel with a head's columns of W_o scaled.

transformers 5 has no ``head_mask`` argument. Multiplying head h's attention weights in layer l
by m is the same maths as multiplying head h's columns of ``encoder.layer[l].attention.output.dense.weight``
by m (the head's output A_h V_h only meets W_o through those d_head columns), so the reference
scales those columns in a copy of the weights and restores them afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch


@contextlib.contextmanager
def scaled_heads(hf_model, head_mask: np.ndarray) -> Iterator[None]:
    """Within the block, head (l, h)'s columns of layer l's W_o are multiplied by head_mask[l, h]."""
    config = hf_model.config
    d_head = config.hidden_size // config.num_attention_heads
    saved = []
    with torch.no_grad():
        for layer, module in enumerate(hf_model.encoder.layer):
            dense = module.attention.output.dense
            saved.append(dense.weight.detach().clone())
            for head in range(config.num_attention_heads):
                dense.weight[:, head * d_head : (head + 1) * d_head] *= float(head_mask[layer, head])
    try:
        yield
    finally:
        with torch.no_grad():
            for module, weight in zip(hf_model.encoder.layer, saved):
                module.attention.output.dense.weight.copy_(weight)


def hf_states(hf_model, hf_tokenizer, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Final hidden states (B, T, D) and mean-pooled L2-normalised embeddings (B, D) from transformers."""
    batch = hf_tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    with torch.inference_mode():
        states = hf_model(**batch).last_hidden_state  # (B, T, D)
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)  # (B, T, 1)
    pooled = (states * mask).sum(1) / mask.sum(1)  # (B, D)
    return states.numpy(), torch.nn.functional.normalize(pooled, dim=-1).numpy()


def mask_with(shape: tuple[int, int], off: list[tuple[int, int]], value: float = 0.0) -> np.ndarray:
    """An all-ones (L, H) mask with the listed (layer, head) entries set to ``value``."""
    mask = np.ones(shape, dtype=np.float32)
    for layer, head in off:
        mask[layer, head] = value
    return mask

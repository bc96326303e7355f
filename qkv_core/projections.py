"""Why attention learns its projections: one head's trained weights against W_q = W_k = identity.

Letter legend used in shape comments:

    T        tokens (word pieces, [CLS] and [SEP] included)
    D        model width
    d_head   width of one head's query / key vectors

With identity projections a token's query and key are its own input vector x (the layer's
input, ``trace.hidden_states[layer]``), so the scores are x_i · x_j / √D: every vector is
most like itself, and each token mostly attends to itself. Trained W_q, W_k let a head ask
for something other than "tokens like me".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qkv_core.checks import check_index
from qkv_core.encoder import Trace
from qkv_core.numerics import MASKED_SCORE, entropy, read_only, softmax

__all__ = ["ProjectionComparison", "compare_projections"]


@dataclass(frozen=True, eq=False)
class ProjectionComparison:
    """One head's weights with its trained W_q, W_k and with both replaced by the identity."""

    layer: int  # 0-based
    head: int  # 0-based
    identity: np.ndarray  # (T, T) softmax(X Xᵀ / √D), X the layer's input
    trained: np.ndarray  # (T, T) the head's weights as the model computed them
    self_weight: tuple[float, float]  # mean over tokens of w_ii: identity, trained
    mean_entropy: tuple[float, float]  # mean row entropy in nats: identity, trained
    max_entropy: float  # log(T), a row spread evenly over every token


def compare_projections(trace: Trace, layer: int, head: int) -> ProjectionComparison:
    """The head's trained weights next to identity projections (no learned W_q, W_k) on the same layer input.

    Steps:
        1) input      X = trace.hidden_states[layer], the layer's input            (T, D)
        2) score      S = X Xᵀ / √D  (W_q = W_k = I, no bias)                      (T, T)
        3) mask       keys after the query hidden if the trace is causal
        4) softmax    each row                                                      (T, T)
        5) compare    mean self-weight w_ii and mean row entropy, identity vs trained
    """
    layer = check_index("layer", layer, trace.n_layers)
    head = check_index("head", head, trace.n_heads)
    x = trace.hidden_states[layer].astype(np.float64)  # 1) (T, D)
    t, d = x.shape
    if t == 0:
        raise ValueError("compare_projections needs at least one token")
    scores = x @ x.T / math.sqrt(d)  # 2) (T, D) @ (D, T) -> (T, T)
    if trace.causal:  # 3)
        scores = np.where(np.triu(np.ones((t, t), dtype=bool), 1), MASKED_SCORE, scores)
    identity = softmax(scores)  # 4) (T, T)
    trained = trace.attentions[layer, head].astype(np.float64)  # (T, T)
    pair = (identity, trained)
    return ProjectionComparison(  # 5)
        layer=layer,
        head=head,
        identity=read_only(identity),
        trained=read_only(trained),
        self_weight=tuple(float(np.diagonal(w).mean()) for w in pair),
        mean_entropy=tuple(float(entropy(w).mean()) for w in pair),
        max_entropy=math.log(t),
    )

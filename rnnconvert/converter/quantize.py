"""Storing weights as float16, or int8 with per-channel scales (``convert(..., dtype=...)``).

What is stored (docs/FORMAT.md, section 3.1): every float32 weight array of rank >= 2 that
a node names other than a ``bias`` slot -- kernels, recurrent kernels, embeddings,
convolution kernels. Biases (a GRU's (2, 3H) bias too),
normalization statistics and other rank-0/1 arrays stay float32: they are a tiny share of
the bytes and feed every output unit directly.

* ``float16``: the values rounded to float16 (relative error <= 2^-11 per weight).
* ``int8``: symmetric, one scale per output channel -- the last axis (a kernel's output
  units; for an LSTM that is every gate unit on its own), or axis 0 for an embedding
  matrix (one scale per token row): ``scale = max|w| / 127`` over the channel,
  ``q = round(w / scale)`` in [-127, 127]; the runtime computes ``q * scale``.

The converter then runs the bundle as stored on the test-vector inputs and records the
worst difference per output from the float32 model's outputs as
``test_vectors.quantization_error``: quantization error is reported, never passed off as
parity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..runtime.model import Model
from ..runtime.quantize import SCALE_PREFIX, dequantize

DTYPES = ("float32", "float16", "int8")
#: Ops whose weights are statistics or per-position scales, not kernels: stored as they are.
_STATISTICS_OPS = frozenset({"Normalization", "RMSNormalization", "GroupNormalization"})
_F16_MAX = float(np.finfo(np.float16).max)


def _quantized_keys(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, int]:
    """Weight keys to store in reduced precision -> the channel axis for int8 scales."""
    keys: dict[str, int] = {}
    for node in doc["nodes"]:
        if node.get("op") in _STATISTICS_OPS:
            continue
        for slot, key in node.get("weights", {}).items():
            a = arrays.get(key)
            if slot == "bias" or a is None or a.dtype != np.float32 or a.ndim < 2 or a.size == 0:
                continue
            keys[key] = 0 if slot == "embeddings" else a.ndim - 1
    return keys


def quantize(
    doc: dict[str, Any], arrays: dict[str, np.ndarray], dtype: str
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """Return ``(stored arrays, quantization entry per key)`` for ``dtype``; ``arrays`` is not modified."""
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if dtype == "float32":
        return arrays, {}
    out = dict(arrays)
    meta: dict[str, dict[str, Any]] = {}
    for key, axis in sorted(_quantized_keys(doc, arrays).items()):
        w = arrays[key]
        if dtype == "float16":
            big = float(np.max(np.abs(w[np.isfinite(w)]), initial=0.0))
            if big > _F16_MAX:
                raise InputError(
                    f"weight {key} has |value| {big:.3g}, beyond float16's range; use --dtype int8 or float32"
                )
            out[key] = w.astype(np.float16)
            meta[key] = {"scheme": "float16"}
            continue
        if not np.all(np.isfinite(w)):
            raise InputError(
                f"weight {key} contains NaN or Inf, which int8 cannot store; use --dtype float16 or float32"
            )
        other = tuple(a for a in range(w.ndim) if a != axis)
        peak = np.max(np.abs(w), axis=other)  # (channels,)
        scale = np.where(peak > 0, peak / np.float32(127.0), np.float32(1.0)).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = w.shape[axis]
        q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        out[key] = q
        out[SCALE_PREFIX + key] = scale
        meta[key] = {"scheme": "int8", "axis": axis, "scale": SCALE_PREFIX + key}
    return out, meta


def measure_error(doc: dict[str, Any], stored: dict[str, np.ndarray], meta: dict[str, dict[str, Any]]) -> list[float]:
    """Worst |bundle as stored - expected| per output over the test vectors (float32 truth)."""
    specs = {
        k: {"shape": list(a.shape), "dtype": str(a.dtype), **({"quantization": meta[k]} if k in meta else {})}
        for k, a in stored.items()
    }
    arrays = dequantize({"weights": {"arrays": specs}}, stored)
    model = Model.from_arrays(doc, arrays)
    tv = doc["test_vectors"]
    worst = [0.0] * len(doc["outputs"])
    for call in tv["calls"]:
        got = model.predict([arrays[k] for k in call["inputs"]])
        got = got if isinstance(got, list) else [got]
        for j, (g, key) in enumerate(zip(got, call["outputs"])):
            e = arrays[key]
            fin = np.isfinite(e) & np.isfinite(g)
            if fin.any():
                worst[j] = max(worst[j], float(np.max(np.abs(g[fin].astype(np.float64) - e[fin]))))
    return worst


__all__ = ["DTYPES", "measure_error", "quantize"]

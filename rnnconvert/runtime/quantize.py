"""Weights stored in reduced precision, expanded to float32 when a bundle loads.

A bundle may store a weight array as ``float16`` or as ``int8`` with one float32 scale per
channel (``rnnconvert MODEL OUT --dtype float16|int8``); ``weights.arrays[KEY]`` then says
how (docs/FORMAT.md, section 3.1)::

    "KEY": {"shape": [D, G], "dtype": "float16", "quantization": {"scheme": "float16"}}
    "KEY": {"shape": [D, G], "dtype": "int8",
            "quantization": {"scheme": "int8", "axis": 1, "scale": "__scales__/KEY"}}

``float16``: value = float32(stored), exact. ``int8``: value = float32(q) * scale[c], one
float32 multiply, where ``c`` is the index along ``axis`` and the scale array (float32,
shape ``(shape[axis],)``) is stored under the key ``scale`` names. The runtime always
computes in float32: storage shrinks (2x, 4x), arithmetic does not change.

The error a storage choice costs is measured when the bundle is written and recorded as
``test_vectors.quantization_error`` (one max |error| per output, against the float32
model's outputs); :func:`vector_allowance` and :func:`describe` give it to ``check``.

Imports NumPy and the standard library only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError

SCALE_PREFIX = "__scales__/"
SCHEMES = ("float16", "int8")


def is_quantized(doc: dict[str, Any]) -> bool:
    arrays = (doc.get("weights") or {}).get("arrays") or {}
    return any(isinstance(s, dict) and s.get("quantization") is not None for s in arrays.values())


def storage_dtype(doc: dict[str, Any]) -> str:
    """``float32``, or the scheme the bundle's weights are stored with (``float16``, ``int8``)."""
    arrays = (doc.get("weights") or {}).get("arrays") or {}
    for spec in arrays.values():
        q = spec.get("quantization") if isinstance(spec, dict) else None
        if isinstance(q, dict):
            return str(q.get("scheme"))
    return "float32"


def dequantize(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` with every quantized weight expanded to float32; scale arrays are dropped.

    Raises FormatError for a quantization entry that does not fit its array."""
    specs = (doc.get("weights") or {}).get("arrays") or {}
    if not any(isinstance(s, dict) and "quantization" in s for s in specs.values()):
        return arrays
    out: dict[str, np.ndarray] = {}
    for key, arr in arrays.items():
        if key.startswith(SCALE_PREFIX):
            continue
        spec = specs.get(key)
        q = spec.get("quantization") if isinstance(spec, dict) else None
        out[key] = arr if q is None else _expand(key, arr, q, arrays)
    return out


def _expand(key: str, arr: np.ndarray, q: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
    where = f"model.json: weights.arrays[{key!r}].quantization"
    if not isinstance(q, dict) or q.get("scheme") not in SCHEMES:
        raise FormatError(f"{where} must be an object with scheme one of {list(SCHEMES)}, got {q!r}")
    if q["scheme"] == "float16":
        if arr.dtype != np.float16:
            raise FormatError(f"{where}: scheme float16 needs a float16 array, got {arr.dtype}")
        return arr.astype(np.float32)
    axis, scale_key = q.get("axis"), q.get("scale")
    if arr.dtype != np.int8:
        raise FormatError(f"{where}: scheme int8 needs an int8 array, got {arr.dtype}")
    if not isinstance(axis, int) or isinstance(axis, bool) or not 0 <= axis < arr.ndim:
        raise FormatError(f"{where}: axis must be an integer in [0, {arr.ndim}), got {axis!r}")
    scale = arrays.get(scale_key) if isinstance(scale_key, str) else None
    if scale is None or scale.dtype != np.float32 or scale.shape != (arr.shape[axis],):
        raise FormatError(f"{where}: scale must name a float32 array of shape ({arr.shape[axis]},), got {scale_key!r}")
    shape = [1] * arr.ndim
    shape[axis] = arr.shape[axis]
    out = arr.astype(np.float32)
    out *= scale.reshape(shape)
    return out


def vector_allowance(doc: dict[str, Any], output_index: int) -> float:
    """How far a quantized bundle's outputs may be from its (float32) test vectors: the
    error the converter measured for that output when it wrote the bundle, plus 10%
    for BLAS summation-order differences between machines; 0.0 for a float32 bundle."""
    errors = (doc.get("test_vectors") or {}).get("quantization_error")
    if not isinstance(errors, list) or not 0 <= output_index < len(errors):
        return 0.0
    e = errors[output_index]
    return 1.1 * float(e) if isinstance(e, (int, float)) and not isinstance(e, bool) else 0.0


def describe(doc: dict[str, Any]) -> list[str]:
    """Lines for ``rnnconvert check``: the storage dtype and the error it costs per output
    (empty for a float32 bundle)."""
    scheme = storage_dtype(doc)
    if scheme == "float32":
        return []
    arrays = doc["weights"]["arrays"]
    n = sum(1 for s in arrays.values() if isinstance(s, dict) and s.get("quantization") is not None)
    lines = [f"weights: {n} array(s) stored as {scheme}" + (" with per-channel scales" if scheme == "int8" else "")]
    errors = (doc.get("test_vectors") or {}).get("quantization_error")
    outputs = [o.get("name", f"output{i}") for i, o in enumerate(doc.get("outputs") or [])]
    if isinstance(errors, list):
        for name, e in zip(outputs, errors):
            lines.append(f"  {name}: {scheme} storage costs max |error| {float(e):.3g} against the float32 weights")
    return lines


__all__ = ["SCALE_PREFIX", "dequantize", "describe", "is_quantized", "storage_dtype", "vector_allowance"]

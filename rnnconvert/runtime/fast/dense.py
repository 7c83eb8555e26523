"""The prepared Dense: its activation bound at load and applied in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import blas
from ..ops.activations import activation_fn
from ..ops.core import dense
from .scan import FastFn

F32 = np.float32
_INF = float("inf")


def _inplace_activation(spec: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """The activation applied in place to a fresh float32 array (the reference op's math)."""
    kind = spec.get("type")
    params = {k: v for k, v in spec.items() if k != "type"}
    if kind == "linear":
        return lambda y: y
    if kind == "tanh":
        return lambda y: np.tanh(y, out=y)
    if kind == "relu" and all(not params.get(k) for k in ("negative_slope", "max_value", "threshold")):
        return lambda y: np.maximum(y, 0.0, out=y)
    if kind == "softmax" and params.get("axis", -1) == -1:

        def softmax(y: np.ndarray) -> np.ndarray:
            # exp(y - max) / sum, as the reference; the max keeps exp from overflowing.
            if y.ndim == 2 and y.shape[0] == 1:  # one row (streaming): whole-array reductions, ~2x cheaper
                m = y.max()
                if -_INF < m < _INF:  # finite: y - m raises no invalid-value warning to silence
                    np.subtract(y, m, out=y)
                    np.exp(y, out=y)
                    np.divide(y, y.sum(), out=y)
                    return y
            with np.errstate(invalid="ignore"):
                np.subtract(y, np.maximum.reduce(y, axis=-1, keepdims=True), out=y)
                np.exp(y, out=y)
                np.divide(y, np.add.reduce(y, axis=-1, keepdims=True), out=y)
            return y

        return softmax
    return activation_fn(spec)


def fast_dense(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    """Dense with its activation bound at load and applied in place; float32 inputs only
    (any other dtype runs the reference op, which promotes as NumPy does)."""
    kernel = weights["kernel"]
    bias = weights.get("bias")
    if kernel.dtype != F32 or (bias is not None and bias.dtype != F32):
        return None
    act = _inplace_activation(config["activation"])
    mm_row = blas.row_matmul(kernel) if kernel.ndim == 2 else np.matmul
    reference: dict[str, Any] = {**weights, "activation": config["activation"]}  # inputs that are not float32

    def run(x: np.ndarray, **_: Any) -> list[np.ndarray]:
        if x.dtype != F32:
            return dense(x, **reference)
        if x.ndim == 2 and x.shape[0] == 1:  # one row: the vector-matrix product, kept on this thread
            y = mm_row(x, kernel)
        else:
            y = np.matmul(x, kernel)  # (..., U)
        if bias is not None:
            np.add(y, bias, out=y)
        return [act(y)]

    return run

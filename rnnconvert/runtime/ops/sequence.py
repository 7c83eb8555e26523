"""Ops that rearrange or combine whole tensors: Reverse, ZeroMasked, Merge, FoldTime, UnfoldTime."""

from __future__ import annotations

import numpy as np

from ...errors import FormatError


def reverse(x: np.ndarray, *, axis: int) -> list[np.ndarray]:
    """``x`` reversed along ``axis`` (a Bidirectional layer re-reverses its backward sequence)."""
    return [np.flip(x, axis=axis)]


def zero_masked(x: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """``where(mask[..., None], x, 0)``: ``x`` (B, T, ...) with the steps whose ``mask``
    (B, T) is false set to zero.

    Keras's unrolled scan (``unroll=True``) applies ``zero_output_for_mask`` this way,
    after the loop and with the mask in time order even when a ``go_backwards``
    sequence is in processing order; the converter reproduces that with this op.
    """
    m = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))  # (B, T, 1, ...)
    return [np.where(m, x, np.float32(0)).astype(x.dtype, copy=False)]


def merge(*xs: np.ndarray, mode: str, axis: int = -1) -> list[np.ndarray]:
    """Combine same-shaped tensors element-wise, or concatenate them.

    ``mode``: ``concat`` (along ``axis``), ``sum``, ``sub`` (x0 - x1), ``mul``,
    ``ave`` (sum / n), ``max``, ``min``. Element-wise modes fold left to right.
    """
    if mode == "concat":
        return [np.concatenate(xs, axis=axis)]
    if mode == "ave":
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return [total / np.float32(len(xs))]
    fold = {"sum": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum, "min": np.minimum}.get(mode)
    if fold is None:
        raise FormatError(f"Merge mode {mode!r} is not one of concat, sum, sub, mul, ave, max, min")
    out = xs[0]
    for x in xs[1:]:
        out = fold(out, x)
    return [out]


def fold_time(x: np.ndarray) -> list[np.ndarray]:
    """(B, T, ...) -> (B*T, ...): TimeDistributed runs its inner layer on every step."""
    return [x.reshape((x.shape[0] * x.shape[1], *x.shape[2:]))]


def unfold_time(y: np.ndarray, like: np.ndarray) -> list[np.ndarray]:
    """(B*T, ...) -> (B, T, ...) with B and T taken from ``like``."""
    return [y.reshape((like.shape[0], like.shape[1], *y.shape[1:]))]

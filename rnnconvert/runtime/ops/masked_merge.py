"""Keras 3's mask-aware element-wise merges: Multiply, Maximum, Minimum."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import FormatError


def masked_merge(*xs: np.ndarray, mode: str, masks: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """Merge ``n`` tensors x_k (B, T, ..., D); ``masks[k]`` is the (B, T, ...) mask of input k
    or None (the node's named inputs ``mask_<k>``, format 1.2). A mask m_k acts broadcast
    over the last axis.

    ``mul``: masked-out entries of each input count as 1, the product is taken, and
    when every input is masked the entries outside m_0 ∨ … ∨ m_{n-1} are set to 0.

    ``max`` / ``min`` (op f), folding left to right with a running mask r (r = m_0):
    for each next x with mask m: x ← where(m, x, y); y ← where(r, y, x);
    r ← r ∨ m while both exist, else r is gone for good; y ← f(y, x).
    """
    n = len(xs)
    ms = list(masks) if masks is not None else [None] * n
    if len(ms) != n:
        raise FormatError(f"MaskedMerge of {n} inputs given {len(ms)} masks")
    masked = [m[..., None].astype(bool) if m is not None else None for m in ms]  # (B, T, ..., 1)
    if mode == "mul":
        out: np.ndarray | None = None
        union: np.ndarray | None = None
        for x, m in zip(xs, masked):
            if m is not None:
                x = np.where(m, x, np.float32(1))
                union = m if union is None else np.logical_or(union, m)
            out = x if out is None else out * x
        if union is not None and out is not None and all(m is not None for m in masked):
            out = np.where(union, out, np.float32(0))
        return [np.asarray(out, dtype=np.float32)]
    fold = {"max": np.maximum, "min": np.minimum}.get(mode)
    if fold is None:
        raise FormatError(f"MaskedMerge mode {mode!r} is not one of mul, max, min")
    out, run = xs[0], masked[0]
    for x, m in zip(xs[1:], masked[1:]):
        if m is not None:
            x = np.where(m, x, out)
        if run is not None:
            out = np.where(run, out, x)
        run = np.logical_or(run, m) if (m is not None and run is not None) else None
        out = fold(out, x)
    return [np.asarray(out, dtype=np.float32)]

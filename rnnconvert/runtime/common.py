"""Small helpers the runtime, the converter and the command line share, written once.

NumPy and the standard library only (the runtime imports this).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ..display import format_shape  # noqa: F401  (re-exported: one shape format everywhere)

#: Key prefix of the test-vector arrays a bundle stores beside its weights.
VECTOR_PREFIX = "__vectors__/"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file's bytes, read a MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def max_abs_error(got: np.ndarray, expected: np.ndarray, *, nan_must_match: bool = True) -> float:
    """The largest ``|got - expected|`` over the positions where ``expected`` is finite.

    A non-finite ``got`` where ``expected`` is finite counts as an infinite error; with
    ``nan_must_match`` a NaN in one and not the other anywhere is an infinite error too.
    Computed in float64, so the comparison adds no rounding of its own.
    """
    g = np.asarray(got)
    e = np.asarray(expected)
    if g.shape != e.shape:
        raise ValueError(f"shapes differ: {g.shape} and {e.shape}")
    if nan_must_match and not np.array_equal(np.isnan(g), np.isnan(e)):
        return float("inf")
    fin = np.isfinite(e)
    if not fin.any():
        return 0.0
    diff = np.abs(g[fin].astype(np.float64) - e[fin].astype(np.float64))
    if not np.all(np.isfinite(diff)):
        return float("inf")
    return float(np.max(diff))


__all__ = ["VECTOR_PREFIX", "format_shape", "max_abs_error", "sha256_file"]

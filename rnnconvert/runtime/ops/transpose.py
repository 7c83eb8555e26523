"""Transpose: any permutation of the axes, the batch axis included."""

from __future__ import annotations

import numpy as np


def transpose(x: np.ndarray, *, perm: list[int]) -> list[np.ndarray]:
    """``y = x.transpose(perm)``: axis k of y is axis perm[k] of x. A time-major
    recurrent layer ((T, B, D) in Keras) runs between two of these swapping axes 0 and 1."""
    return [np.ascontiguousarray(np.transpose(x, perm))]

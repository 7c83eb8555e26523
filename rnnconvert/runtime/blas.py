"""BLAS threading rules: products small enough that OpenBLAS runs them on the calling thread.

A BLAS thread waiting for a core costs milliseconds on a busy machine, while splitting a
small product costs nothing measurable on an idle one; the fast paths (runtime/fast/) and
the reference ConvLSTM (ops/conv_lstm.py) size their products with these bounds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Products up to this M*N*K run single-threaded in OpenBLAS (65536 * GEMM_MULTITHREAD_THRESHOLD).
SINGLE_THREAD_MNK = 1 << 18
#: Vector-matrix products below this K*N run single-threaded in OpenBLAS (115200 * 4).
SINGLE_THREAD_KN = 460800


def row_matmul(W: np.ndarray) -> Callable[..., np.ndarray]:
    """``matmul(v, W, out=)`` for one row ``v`` (1, K), in column blocks OpenBLAS runs on
    the calling thread: a BLAS thread waiting for a core costs milliseconds on a busy
    machine, and splitting one row's product costs nothing measurable on an idle one."""
    K, N = W.shape
    if K * N < SINGLE_THREAD_KN:
        return np.matmul
    width = max(16, SINGLE_THREAD_KN // max(1, K) // 16 * 16 - 16)
    parts = [(W[:, c : c + width], slice(c, c + width)) for c in range(0, N, width)]

    def blocked(v: np.ndarray, _w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty((v.shape[0], N), np.float32)
        for w, cols in parts:
            np.matmul(v, w, out=out[:, cols])
        return out

    return blocked


__all__ = ["SINGLE_THREAD_KN", "SINGLE_THREAD_MNK", "row_matmul"]

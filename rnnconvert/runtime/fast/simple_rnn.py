"""The prepared SimpleRNN."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import blas
from ..ops.activations import activation_fn, is_elementwise
from .scan import F32, FastFn, Projection, Recurrent, joined, stacked


class _SimpleRNN(Recurrent):
    n_states = 1

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]):
        super().__init__(config)
        H = self.H = int(config["units"])
        self.proj = Projection(np.asarray(weights["kernel"], F32), weights.get("bias"))
        rec = np.asarray(weights["recurrent_kernel"], F32)
        self.R, self.RT = np.ascontiguousarray(rec), np.ascontiguousarray(rec.T)
        self.WR = stacked(self.proj.W, rec, self.proj.b)  # [x_t, h, 1] @ WR
        self.mm_R, self.mm_WR = blas.row_matmul(self.R), blas.row_matmul(self.WR)
        spec = config["activation"]
        self.tanh = spec.get("type") == "tanh"
        self.act = activation_fn(spec)
        self.G = H

    def _alloc(self, B: int) -> dict[str, Any]:
        return {"z": np.empty((self.H, B), F32)}

    def _one_step(self, x_t: np.ndarray, states: list[np.ndarray]) -> list[np.ndarray]:
        xh = joined(x_t, states[0], self.proj.b is not None)
        z = (self.mm_WR if xh.shape[0] == 1 else np.matmul)(xh, self.WR)  # (B, H)
        h = np.tanh(z, out=z) if self.tanh else self.act(z)
        return [self._out(h), h]

    def _chunk(self, xs: np.ndarray, n: int, slots: np.ndarray, buf: dict[str, Any], row: bool) -> None:
        H, z = self.H, buf["z"]
        matmul, add = np.matmul, np.add
        if row:
            zr, hr = z.reshape(1, H), slots.reshape(slots.shape[0], 1, H)
        for k in range(n):
            if row:
                self.mm_R(hr[k], self.R, out=zr)
            else:
                matmul(self.RT, slots[k], out=z)
            if self.tanh:
                add(z, xs[k], out=z)
                np.tanh(z, out=slots[k + 1])
            else:
                add(z, xs[k], out=z)
                slots[k + 1] = self.act(z)


def fast_simple_rnn(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    if not is_elementwise(config["activation"]):
        return None  # an axis activation over the units axis needs the row-major reference op
    return _SimpleRNN(config, weights)

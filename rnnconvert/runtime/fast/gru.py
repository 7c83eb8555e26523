"""The prepared GRU (both reset_after variants): gates folded into the weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import blas
from .scan import F32, FastFn, Projection, Recurrent, eligible, scaled


class _GRU(Recurrent):
    n_states = 1

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray], fold: tuple[str, float, float]):
        super().__init__(config)
        H = self.H = int(config["units"])
        kind, scale, offset = fold
        self.kind = kind
        self.reset_after = bool(config["reset_after"])
        gates = slice(0, 2 * H)  # z, r
        factor = 0.5 if kind == "tanh" else scale
        kernel = scaled(weights["kernel"], gates, factor)
        rec = scaled(weights["recurrent_kernel"], gates, factor)
        bias = weights.get("bias")
        bh = None
        if bias is not None:
            bias = scaled(bias, gates, factor)
            if self.reset_after:
                # z and r add the two biases; the candidate's recurrent bias sits inside r * (...).
                bx, bh_all = bias[0].copy(), bias[1]
                bx[gates] += bh_all[gates]
                bias, bh = bx, np.ascontiguousarray(bh_all[2 * H :])
        if kind == "clip":
            bias = np.zeros(3 * H, F32) if bias is None else bias
            bias[gates] += F32(offset)
        self.proj = Projection(kernel, bias)
        self.bh = None if bh is None else bh[:, None]  # (H, 1)
        self.R = np.ascontiguousarray(rec)  # (H, 3H)
        self.RT = np.ascontiguousarray(rec.T)  # (3H, H)
        self.R_zr, self.R_h = np.ascontiguousarray(rec[:, : 2 * H]), np.ascontiguousarray(rec[:, 2 * H :])
        self.RT_zr, self.RT_h = np.ascontiguousarray(self.RT[: 2 * H]), np.ascontiguousarray(self.RT[2 * H :])
        self.mm_R, self.mm_R_zr, self.mm_R_h = (
            blas.row_matmul(self.R),
            blas.row_matmul(self.R_zr),
            blas.row_matmul(self.R_h),
        )
        self.mm_W = blas.row_matmul(self.proj.W)

    def _alloc(self, B: int) -> dict[str, Any]:
        H = self.H
        buf: dict[str, Any] = {"inner": np.empty((3 * H, B), F32), "t": np.empty((H, B), F32)}
        if self.bh is not None:
            # (H, B), not (H, 1): a broadcast add along the contiguous axis costs ~3x a plain one
            buf["bh"] = np.ascontiguousarray(np.broadcast_to(self.bh, (H, B)))
        return buf

    def _one_step(self, x_t: np.ndarray, states: list[np.ndarray]) -> list[np.ndarray]:
        H = self.H
        (h0,) = states
        one = x_t.shape[0] == 1
        xz = (self.mm_W if one else np.matmul)(x_t, self.proj.W)  # (B, 3H)
        if self.proj.b is not None:
            np.add(xz, self.proj.b, out=xz)
        zr = xz[:, : 2 * H]
        if self.reset_after:
            inner = (self.mm_R if one else np.matmul)(h0, self.R)  # (B, 3H)
            np.add(zr, inner[:, : 2 * H], out=zr)
        else:
            np.add(zr, (self.mm_R_zr if one else np.matmul)(h0, self.R_zr), out=zr)
        if self.kind == "tanh":
            np.tanh(zr, out=zr)
            np.multiply(zr, F32(0.5), out=zr)
            np.add(zr, F32(0.5), out=zr)
        else:
            np.minimum(zr, 1.0, out=zr)
            np.maximum(zr, 0.0, out=zr)
        z, r = zr[:, :H], zr[:, H:]
        if self.reset_after:
            hh = inner[:, 2 * H :]
            if self.bh is not None:
                np.add(hh, self.bh[:, 0], out=hh)
            np.multiply(hh, r, out=hh)
        else:
            hh = (self.mm_R_h if one else np.matmul)(np.multiply(r, h0), self.R_h)
        np.add(hh, xz[:, 2 * H :], out=hh)
        np.tanh(hh, out=hh)
        h = np.subtract(h0, hh)
        np.multiply(h, z, out=h)
        np.add(h, hh, out=h)
        return [self._out(h), h]

    def _chunk(self, xs: np.ndarray, n: int, slots: np.ndarray, buf: dict[str, Any], row: bool) -> None:
        H = self.H
        inner, t = buf["inner"], buf["t"]
        izr, ih, zg, r = inner[: 2 * H], inner[2 * H :], inner[:H], inner[H : 2 * H]
        xzr, xh = xs[:, : 2 * H], xs[:, 2 * H :]
        matmul, add, sub, mul, tanh, minimum, maximum = (
            np.matmul,
            np.add,
            np.subtract,
            np.multiply,
            np.tanh,
            np.minimum,
            np.maximum,
        )
        sig, bh, reset_after = self.kind == "tanh", buf.get("bh"), self.reset_after
        half = F32(0.5)
        if row:
            hr = slots.reshape(slots.shape[0], 1, H)
            inner_r, izr_r, ih_r, t_r = (
                inner.reshape(1, 3 * H),
                izr.reshape(1, 2 * H),
                ih.reshape(1, H),
                t.reshape(1, H),
            )
        for k in range(n):
            h = slots[k]
            if reset_after:
                if row:
                    self.mm_R(hr[k], self.R, out=inner_r)
                else:
                    matmul(self.RT, h, out=inner)
            elif row:
                self.mm_R_zr(hr[k], self.R_zr, out=izr_r)
            else:
                matmul(self.RT_zr, h, out=izr)
            add(izr, xzr[k], out=izr)
            if sig:
                tanh(izr, out=izr)
                mul(izr, half, out=izr)
                add(izr, half, out=izr)
            else:
                minimum(izr, 1.0, out=izr)
                maximum(izr, 0.0, out=izr)
            if reset_after:
                if bh is not None:
                    add(ih, bh, out=ih)
                mul(ih, r, out=ih)  # r * (h @ U_h + bh_h)
            else:
                mul(r, h, out=t)
                if row:
                    self.mm_R_h(t_r, self.R_h, out=ih_r)
                else:
                    matmul(self.RT_h, t, out=ih)  # (r * h) @ U_h
            add(ih, xh[k], out=ih)
            tanh(ih, out=ih)  # the candidate hh
            sub(h, ih, out=t)
            mul(t, zg, out=t)
            add(t, ih, out=slots[k + 1])  # h' = hh + z * (h - hh) = z * h + (1 - z) * hh


def fast_gru(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    fold = eligible(config)
    return None if fold is None else _GRU(config, weights, fold)

"""Fast paths for the common recurrent configurations, prepared once at load time.

The reference ops (lstm.py, gru.py) state the math; these compute the same thing with
few NumPy calls per timestep, which is what decides speed at small batch sizes:

* gate activations ``sigmoid`` (and ``tanh`` for the candidate/cell) are rewritten as
  ``sigmoid(z) = 0.5 * tanh(z / 2) + 0.5``; the ``/ 2`` is folded into the gate columns
  of the kernels and biases at load (an exact power-of-two scaling), so one ``tanh`` call
  covers every gate of a step;
* ``hard_sigmoid`` gates fold their slope into the weights the same way, leaving one
  ``clip``;
* buffers are preallocated per call and reused every step (``out=``), so memory does
  not grow with the sequence beyond the returned outputs.

A fast path is used only without a mask; masked calls take the reference op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

FastFn = Callable[..., list[np.ndarray]]


def _gate_kind(spec: dict[str, Any]) -> tuple[str, float, float] | None:
    """('tanh', scale, shift) means gate = shift + scale * tanh(z'); ('clip', ...) = clip(z' + shift)."""
    if spec.get("type") == "sigmoid":
        return ("tanh", 0.5, 0.5)
    if spec.get("type") == "hard_sigmoid":
        return ("clip", float(spec["slope"]), float(spec["offset"]))
    return None


def _prescale(arrays: list[np.ndarray | None], cols: slice, factor: float) -> list[np.ndarray | None]:
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        a = np.array(a, dtype=np.float32, copy=True)
        a[..., cols] *= np.float32(factor)
        out.append(a)
    return out


def _eligible(config: dict[str, Any]) -> tuple[str, float, float] | None:
    """The gate rewrite for a tanh layer with sigmoid-like gates; None: use the reference op."""
    if config["activation"].get("type") != "tanh":
        return None
    return _gate_kind(config["recurrent_activation"])


def fast_lstm(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    gk = _eligible(config)
    if gk is None:
        return None
    H = int(config["units"])
    kernel, rec, bias = weights["kernel"], weights["recurrent_kernel"], weights.get("bias")
    # Reorder columns i, f, c, o -> i, f, o, c so the three gates are contiguous.
    perm = np.r_[0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]
    kernel, rec = kernel[:, perm], rec[:, perm]
    bias = None if bias is None else bias[perm]
    kind, scale, shift = gk
    factor = 0.5 if kind == "tanh" else scale
    kernel, rec, bias = _prescale([kernel, rec, bias], slice(0, 3 * H), factor)
    return_sequences, go_backwards = bool(config.get("return_sequences")), bool(config.get("go_backwards"))
    half, c_shift = np.float32(scale), np.float32(shift)

    def run(x: np.ndarray, *, initial_state: list[np.ndarray] | None = None, **_: Any) -> list[np.ndarray]:
        B, T = x.shape[0], x.shape[1]
        xs = x @ kernel  # (B, T, 4H), gate columns pre-scaled
        if bias is not None:
            xs += bias
        if initial_state:
            h = np.array(initial_state[0], np.float32, copy=True)
            c = np.array(initial_state[1], np.float32, copy=True)
        else:
            h = np.zeros((B, H), np.float32)
            c = np.zeros((B, H), np.float32)
        z = np.empty((B, 4 * H), np.float32)
        tmp = np.empty((B, H), np.float32)
        seq = np.empty((B, T, H), np.float32) if return_sequences else None
        order = range(T - 1, -1, -1) if go_backwards else range(T)
        gates, cand = z[:, : 3 * H], z[:, 3 * H :]
        i, f, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H]
        for k, t in enumerate(order):
            np.matmul(h, rec, out=z)
            z += xs[:, t]
            if kind == "tanh":
                np.tanh(z, out=z)  # gates (pre-scaled) and candidate together
                gates *= half
                gates += c_shift
            else:
                np.tanh(cand, out=cand)
                gates += c_shift
                np.clip(gates, 0.0, 1.0, out=gates)
            c *= f
            np.multiply(i, cand, out=tmp)
            c += tmp
            np.tanh(c, out=tmp)
            np.multiply(o, tmp, out=h)
            if seq is not None:
                seq[:, k] = h
        y = seq if seq is not None else h.copy()
        return [y, h, c]

    return run


def fast_gru(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    gk = _eligible(config)
    if gk is None:
        return None
    H = int(config["units"])
    reset_after = bool(config["reset_after"])
    kind, scale, shift = gk
    factor = 0.5 if kind == "tanh" else scale
    kernel, rec, bias = _prescale(
        [weights["kernel"], weights["recurrent_kernel"], weights.get("bias")], slice(0, 2 * H), factor
    )
    if bias is not None and reset_after:
        bx, bh = bias[0], bias[1]
    else:
        bx, bh = bias, None
    rec_zr, rec_h = np.ascontiguousarray(rec[:, : 2 * H]), np.ascontiguousarray(rec[:, 2 * H :])
    return_sequences, go_backwards = bool(config.get("return_sequences")), bool(config.get("go_backwards"))
    half, g_shift = np.float32(scale), np.float32(shift)

    def gate(a: np.ndarray) -> None:
        if kind == "tanh":
            np.tanh(a, out=a)
            a *= half
            a += g_shift
        else:
            a += g_shift
            np.clip(a, 0.0, 1.0, out=a)

    def run(x: np.ndarray, *, initial_state: list[np.ndarray] | None = None, **_: Any) -> list[np.ndarray]:
        B, T = x.shape[0], x.shape[1]
        xs = x @ kernel  # (B, T, 3H)
        if bx is not None:
            xs += bx
        h = np.array(initial_state[0], np.float32, copy=True) if initial_state else np.zeros((B, H), np.float32)
        inner = np.empty((B, 3 * H), np.float32)
        zr = np.empty((B, 2 * H), np.float32)
        hh = np.empty((B, H), np.float32)
        rh = np.empty((B, H), np.float32)
        seq = np.empty((B, T, H), np.float32) if return_sequences else None
        order = range(T - 1, -1, -1) if go_backwards else range(T)
        z, r = zr[:, :H], zr[:, H:]
        for k, t in enumerate(order):
            x_t = xs[:, t]
            if reset_after:
                np.matmul(h, rec, out=inner)
                if bh is not None:
                    inner += bh
                np.add(x_t[:, : 2 * H], inner[:, : 2 * H], out=zr)
                gate(zr)
                np.multiply(r, inner[:, 2 * H :], out=hh)
            else:
                np.matmul(h, rec_zr, out=zr)
                zr += x_t[:, : 2 * H]
                gate(zr)
                np.multiply(r, h, out=rh)
                np.matmul(rh, rec_h, out=hh)
            hh += x_t[:, 2 * H :]
            np.tanh(hh, out=hh)
            # h' = z * h + (1 - z) * hh = hh + z * (h - hh)
            h -= hh
            h *= z
            h += hh
            if seq is not None:
                seq[:, k] = h
        y = seq if seq is not None else h.copy()
        return [y, h]

    return run


FAST_PATHS: dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], FastFn | None]] = {
    "LSTM": fast_lstm,
    "GRU": fast_gru,
}

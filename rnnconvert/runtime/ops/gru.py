"""GRU: Keras's gated recurrent unit layer, both ``reset_after`` variants.

Weights (gate columns in order z, r, h -- the bundle's ``gate_order``):
``kernel`` (D, 3H), ``recurrent_kernel`` (H, 3H), and ``bias``:
(3H,) when ``reset_after`` is false, (2, 3H) = [input bias, recurrent bias]
when it is true, absent when ``use_bias`` is false. Per step::

    reset_after = false:
        z = ra(x W_z + b_z + h U_z);  r = ra(x W_r + b_r + h U_r)
        hh = a(x W_h + b_h + (r * h) U_h)
    reset_after = true:
        z = ra(x W_z + bx_z + h U_z + bh_z);  r = ra(x W_r + bx_r + h U_r + bh_r)
        hh = a(x W_h + bx_h + r * (h U_h + bh_h))
    h' = z * h + (1 - z) * hh                           # output = h'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import activation_fn, is_elementwise
from .rnn import scan, zeros_state


def gru(
    x: np.ndarray,  # (B, T, D)
    *,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None = None,
    units: int,
    activation: dict[str, Any],
    recurrent_activation: dict[str, Any],
    reset_after: bool,
    return_sequences: bool = False,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    mask: np.ndarray | None = None,
    initial_state: list[np.ndarray] | None = None,
    initial_output: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Returns ``[y, h]``."""
    act, ract = activation_fn(activation), activation_fn(recurrent_activation)
    H = units
    xs = x @ kernel  # (B, T, 3H)
    rec_bias = None
    if bias is not None:
        if reset_after:
            xs = xs + bias[0]
            rec_bias = bias[1]
        else:
            xs = xs + bias
    U_zr, U_h = recurrent_kernel[:, : 2 * H], recurrent_kernel[:, 2 * H :]
    if is_elementwise(recurrent_activation):
        gates = ract  # one call for z and r together
    else:  # softmax-like gates act on z and r separately, as Keras applies them

        def gates(a: np.ndarray) -> np.ndarray:
            return np.concatenate([ract(a[:, :H]), ract(a[:, H:])], axis=1)

    def step(x_t: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        (h,) = states
        if reset_after:
            inner = h @ recurrent_kernel  # (B, 3H)
            if rec_bias is not None:
                inner = inner + rec_bias
            zr = gates(x_t[:, : 2 * H] + inner[:, : 2 * H])
            z, r = zr[:, :H], zr[:, H:]
            hh = act(x_t[:, 2 * H :] + r * inner[:, 2 * H :])
        else:
            zr = gates(x_t[:, : 2 * H] + h @ U_zr)
            z, r = zr[:, :H], zr[:, H:]
            hh = act(x_t[:, 2 * H :] + (r * h) @ U_h)
        h2 = z * h + (1.0 - z) * hh
        return h2, [h2]

    states = list(initial_state) if initial_state else zeros_state(x.shape[0], H, 1, xs.dtype)
    y, (h,) = scan(
        step,
        xs,
        states,
        mask=mask,
        go_backwards=go_backwards,
        return_sequences=return_sequences,
        zero_output_for_mask=zero_output_for_mask,
        initial_output=initial_output,
        units=H,
    )
    return [y, h]

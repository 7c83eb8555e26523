"""LSTM: Keras's long short-term memory layer.

Weights (gate columns in order i, f, c, o -- the bundle's ``gate_order``):
``kernel`` (D, 4H), ``recurrent_kernel`` (H, 4H), ``bias`` (4H) or absent.
Per step, with ``ra`` = recurrent_activation and ``a`` = activation::

    z = x_t @ kernel + h @ recurrent_kernel + bias      # (B, 4H)
    i, f, g, o = ra(z_i), ra(z_f), a(z_c), ra(z_o)
    c' = f * c + i * g
    h' = o * a(c')                                      # output = h'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import activation_fn
from .rnn import scan, zeros_state


def lstm(
    x: np.ndarray,  # (B, T, D)
    *,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None = None,
    units: int,
    activation: dict[str, Any],
    recurrent_activation: dict[str, Any],
    return_sequences: bool = False,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    mask: np.ndarray | None = None,
    initial_state: list[np.ndarray] | None = None,
    initial_output: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Returns ``[y, h, c]``."""
    act, ract = activation_fn(activation), activation_fn(recurrent_activation)
    H = units
    xs = x @ kernel  # (B, T, 4H)
    if bias is not None:
        xs = xs + bias

    def step(x_t: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        h, c = states
        z = x_t + h @ recurrent_kernel  # (B, 4H)
        i = ract(z[:, :H])
        f = ract(z[:, H : 2 * H])
        g = act(z[:, 2 * H : 3 * H])
        o = ract(z[:, 3 * H :])
        c2 = f * c + i * g
        h2 = o * act(c2)
        return h2, [h2, c2]

    states = list(initial_state) if initial_state else zeros_state(x.shape[0], H, 2, xs.dtype)
    y, (h, c) = scan(
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
    return [y, h, c]

"""SimpleRNN: ``h' = a(x_t @ kernel + bias + h @ recurrent_kernel)``; output = h'.

Weights: ``kernel`` (D, H), ``recurrent_kernel`` (H, H), ``bias`` (H) or absent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import activation_fn
from .rnn import scan, zeros_state


def simple_rnn(
    x: np.ndarray,  # (B, T, D)
    *,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None = None,
    units: int,
    activation: dict[str, Any],
    return_sequences: bool = False,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    mask: np.ndarray | None = None,
    initial_state: list[np.ndarray] | None = None,
    initial_output: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Returns ``[y, h]``."""
    act = activation_fn(activation)
    xs = x @ kernel  # (B, T, H)
    if bias is not None:
        xs = xs + bias

    def step(x_t: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        h2 = act(x_t + states[0] @ recurrent_kernel)
        return h2, [h2]

    states = list(initial_state) if initial_state else zeros_state(x.shape[0], units, 1, xs.dtype)
    y, (h,) = scan(
        step,
        xs,
        states,
        mask=mask,
        go_backwards=go_backwards,
        return_sequences=return_sequences,
        zero_output_for_mask=zero_output_for_mask,
        initial_output=initial_output,
        units=units,
    )
    return [y, h]

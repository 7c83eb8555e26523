"""The scan over time shared by every recurrent op.

A recurrent op supplies a *cell step* ``step(x_t, states) -> (output_t, new_states)``
working on one timestep of pre-projected input; :func:`scan` runs it over the
sequence with Keras's rules for ``go_backwards``, masks and ``return_sequences``.
Keeping the step apart from the scan is what lets the runtime stream one
timestep at a time with exactly the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

Step = Callable[[np.ndarray, list[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]


class StepInputs(Protocol):
    """What :func:`scan` reads of its input besides an array: a stand-in that computes
    each timestep's projected input when the scan asks for it (ConvLSTM's input convolution)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any] | type[np.generic]: ...

    def __getitem__(self, key: tuple[slice, int]) -> np.ndarray: ...


def scan(
    step: Step,
    xs: np.ndarray | StepInputs,  # (B, T, G) input already projected for every timestep
    states: list[np.ndarray],  # each (B, H), or (B, *S, F) for a convolutional cell
    *,
    mask: np.ndarray | None = None,  # (B, T) bool, True = step is real
    go_backwards: bool = False,
    return_sequences: bool = False,
    zero_output_for_mask: bool = False,
    units: int | tuple[int, ...],  # the shape of one step's output without the batch: H or (*S, F)
    initial_output: np.ndarray | None = None,  # (B, H): the output a masked first step repeats
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run ``step`` over axis 1 of ``xs``.

    Returns ``(y, final_states)`` where ``y`` is ``(B, T, units)`` in the order the
    steps were taken (reversed for ``go_backwards``, as Keras returns it) when
    ``return_sequences``, else the last step's output ``(B, units)``.

    Masked steps leave every state unchanged; their output is the previous
    step's output (zeros before the first real step, or ``initial_output`` when
    streaming continues an earlier chunk), or zeros when ``zero_output_for_mask``
    -- Keras's rule.
    """
    batch, steps = xs.shape[0], xs.shape[1]
    feat = tuple(units) if isinstance(units, (tuple, list)) else (int(units),)
    order: Sequence[int] = range(steps - 1, -1, -1) if go_backwards else range(steps)
    prev_out = np.zeros((batch, *feat), dtype=xs.dtype) if initial_output is None else initial_output
    seq = np.empty((batch, steps, *feat), dtype=xs.dtype) if return_sequences else None
    for k, t in enumerate(order):
        out, new_states = step(xs[:, t], states)
        if mask is not None:
            m = mask[:, t].reshape((batch,) + (1,) * len(feat))  # (B, 1) or (B, 1, ..., 1)
            states = [np.where(m, n, s) for n, s in zip(new_states, states)]
            out = np.where(m, out, 0 if zero_output_for_mask else prev_out)
        else:
            states = new_states
        prev_out = out
        if seq is not None:
            seq[:, k] = out
    if seq is not None:
        return seq, states
    return prev_out, states


def zeros_state(batch: int, units: int, count: int, dtype=np.float32) -> list[np.ndarray]:
    return [np.zeros((batch, units), dtype=dtype) for _ in range(count)]

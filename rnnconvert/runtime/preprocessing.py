"""Input preprocessing that Keras users expect next to ``predict``: ``pad_sequences``.

NumPy and the standard library only, like the rest of the runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["pad_sequences"]


def pad_sequences(
    sequences: Sequence[Any],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (and truncate) a list of sequences to one length, exactly as
    ``keras.utils.pad_sequences`` does.

    Args:
        sequences: a list of sequences (lists or arrays); each step may itself be an
            array (all steps of all sequences the same shape).
        maxlen: the length to pad/truncate to; the longest sequence when None.
        dtype: the dtype of the result (``int32`` by default, as in Keras).
        padding: ``"pre"`` or ``"post"``: pad before or after each sequence.
        truncating: ``"pre"`` or ``"post"``: drop steps from the start or the end of a
            sequence longer than ``maxlen``.
        value: the padding value (cast to ``dtype``).

    Returns:
        An array ``(len(sequences), maxlen, *step_shape)`` of ``dtype``.

    Raises:
        InputError (a ValueError, as Keras raises) on a non-iterable sequence, steps of
        different shapes, an unknown ``padding``/``truncating``, or a string ``value``
        with a non-string, non-object ``dtype``.

    Example:
        >>> pad_sequences([[1, 2], [3]], maxlen=3).tolist()
        [[0, 1, 2], [0, 0, 3]]
        >>> pad_sequences([[1, 2], [3]], padding="post").tolist()
        [[1, 2], [3, 0]]
    """
    if not hasattr(sequences, "__len__"):
        raise InputError("pad_sequences: `sequences` must be iterable")
    lengths: list[int] = []
    step_shape: tuple[int, ...] = ()
    found_step = False
    for s in sequences:
        try:
            n = len(s)
        except TypeError:
            raise InputError(f"pad_sequences: `sequences` must be a list of iterables, found {s!r}") from None
        lengths.append(n)
        if not found_step and n:
            step_shape = np.asarray(s).shape[1:]  # the first non-empty sequence sets the step shape
            found_step = True
    if maxlen is None:
        if not lengths:
            raise InputError("pad_sequences: no sequences and no maxlen")
        maxlen = max(lengths)
    is_str_dtype = np.issubdtype(dtype, np.str_)
    if isinstance(value, str) and dtype is not object and not is_str_dtype:
        raise InputError(f"pad_sequences: dtype {dtype} cannot hold the string value {value!r}; use dtype=object")
    out = np.full((len(lengths), maxlen, *step_shape), value, dtype=dtype)
    for row, s in enumerate(sequences):
        if not lengths[row]:
            continue  # an empty sequence is all padding; its truncating/padding are never looked at
        if truncating == "pre":
            kept = s[-maxlen:]  # as in Keras, maxlen=0 keeps the whole sequence (and fails below)
        elif truncating == "post":
            kept = s[:maxlen]
        else:
            raise InputError(f"pad_sequences: truncating must be 'pre' or 'post', got {truncating!r}")
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise InputError(
                f"pad_sequences: sequence {row} has steps of shape {kept.shape[1:]}, "
                f"the first non-empty sequence {step_shape}"
            )
        _place(out, row, kept, padding)
    return out


def _place(out: np.ndarray, row: int, kept: np.ndarray, padding: str) -> None:
    n = len(kept)
    try:
        if padding == "post":
            out[row, :n] = kept
        elif padding == "pre":
            out[row, -n:] = kept
        else:
            raise InputError(f"pad_sequences: padding must be 'pre' or 'post', got {padding!r}")
    except ValueError as exc:  # maxlen=0 with a non-empty sequence, as Keras fails
        if isinstance(exc, InputError):
            raise
        raise InputError(f"pad_sequences: sequence {row} does not fit maxlen={out.shape[1]}: {exc}") from None

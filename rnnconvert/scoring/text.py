"""Rows for string inputs (FORMAT.md 2.1): a string per row for a ``(B,)`` or ``(B, 1)`` input,
a list of strings for ``(B, n)``; NumPy unicode columns (``<U..``) from ``.npy``/``.npz``.

Text sequences (an input of rank 2 or more) are padded and truncated as numbers are, with the
empty string as the padding step (StringLookup's and TextVectorization's mask token); a scalar
string per row has no steps to pad. A row whose value is not a string (a number, null, a
nested list of the wrong shape, bytes that are not UTF-8) is a bad row, named like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..runtime.inputs import as_strings

if TYPE_CHECKING:
    from .rows import InputSpec


def dense_text(a: np.ndarray, spec: InputSpec, start: int) -> np.ndarray:
    """A unicode column as the model's rows; a ``(n,)`` column feeds a ``(B, 1)`` input. A bytes
    column (dtype ``S``) is read as UTF-8, as the runtime reads bytes items."""
    if a.dtype.kind == "S":
        try:
            a = np.char.decode(a, "utf-8")
        except UnicodeDecodeError:
            raise InputError(f"rows {start}..: column {spec.name!r} holds bytes that are not UTF-8") from None
    if a.dtype.kind != "U":
        raise InputError(
            f"rows {start}..: column {spec.name!r} has dtype {a.dtype}; this input takes strings "
            "(a NumPy unicode array, dtype '<U..')"
        )
    want = spec.shape[1:]
    if a.ndim == 1 and want == (1,):
        a = a[:, None]
    if a.ndim - 1 != len(want) or any(w is not None and g != w for g, w in zip(a.shape[2:], want[1:])):
        raise InputError(
            f"rows {start}..: column {spec.name!r} has rows of shape {a.shape[1:]}; the model takes {want}"
        )
    if want and want[0] is not None and a.shape[1] != want[0] and not spec.sequence:
        raise InputError(
            f"rows {start}..: column {spec.name!r} has rows of shape {a.shape[1:]}; the model takes {want}"
        )
    return a


def text_lengths(a: np.ndarray, padding: str) -> np.ndarray:
    """Each row's steps once the padding steps (all "") on the padding side are stripped."""
    real = np.any(a.reshape(len(a), a.shape[1], -1) != "", axis=2)
    first = real[:, ::-1] if padding == "post" else real
    return np.where(real.any(axis=1), a.shape[1] - np.argmax(first, axis=1), 0)


def text_row(v: Any, spec: InputSpec, step: tuple[int | None, ...]) -> tuple[np.ndarray | None, str]:
    """One raw row (from JSON Lines, Parquet, a DataFrame) as a unicode array, or the reason it is bad."""
    if v is None:
        return None, "missing (null)"
    one = not spec.sequence or spec.shape[1:] == (1,)  # a string per row
    if isinstance(v, bytes):  # a Parquet binary cell
        try:
            v = v.decode("utf-8")
        except UnicodeDecodeError:
            return None, "bytes that are not UTF-8"
    if isinstance(v, str) and one:
        return (np.array(v) if not spec.sequence else np.array([v])), ""
    if not spec.sequence or (one and not isinstance(v, (list, tuple, np.ndarray))):
        return None, f"not a string ({type(v).__name__})"
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple, np.ndarray)):
        return None, f"not a list of strings ({type(v).__name__}); the model takes {len(spec.shape) - 1}-d rows"
    if one and len(v) != 1:
        return None, f"a list of {len(v)} values; the model takes one string per row"
    if len(v) == 0:
        return np.zeros((0, *[d or 0 for d in step]), str), ""  # an empty sequence: all padding
    try:
        a = as_strings(spec.name, v)
    except InputError as exc:
        return None, str(exc).split(": ", 1)[-1]
    if a.ndim != len(step) + 1 or any(w is not None and g != w for g, w in zip(a.shape[1:], step)):
        shown = "(T" + "".join(f", {d}" for d in step) + ")"
        return None, f"wrong shape {a.shape}; the model takes rows of strings of shape {shown}"
    return a, ""


def pad_text(rows: list[np.ndarray], spec: InputSpec, length: int, padding: str) -> np.ndarray:
    """Rows of strings padded with "" to ``length`` steps (rows are already truncated)."""
    step = next((r.shape[1:] for r in rows if len(r)), tuple(d or 0 for d in spec.shape[2:]))
    width = max([1] + [r.dtype.itemsize // 4 for r in rows])
    out = np.full((len(rows), length, *step), "", f"<U{width}")
    for k, r in enumerate(rows):
        n = len(r)
        if n:
            if padding == "post":
                out[k, :n] = r
            else:
                out[k, length - n :] = r
    return out

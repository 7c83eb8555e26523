"""Pure tensor operations recorded inline in a model (tf_keras TFOpLambda / SlicingOpLambda,
Keras 3 ``keras.ops`` nodes): Slice, Squeeze, Stack, Binary, Compare, Unary, Reduce,
MatMul, Cast (FORMAT.md 5.51-5.59). NumPy only; every function computes in the dtype
of its inputs (float32 for numbers) and returns a list of arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import InputError

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": np.add,
    "subtract": np.subtract,
    "multiply": np.multiply,
    "divide": np.divide,
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "floor_divide": np.floor_divide,  # floats: floor(a / b), as TensorFlow
    "mod": np.mod,
    "squared_difference": lambda a, b: np.square(np.subtract(a, b)),
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "equal": np.equal,
    "not_equal": np.not_equal,
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
}
_UNARY: dict[str, Callable[[Any], Any]] = {
    "abs": np.abs,
    "negative": np.negative,
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x),
    "square": np.square,
    "reciprocal": lambda x: 1 / x,
    "sign": np.sign,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,  # half to even, as TensorFlow and Keras round
    "sin": np.sin,
    "cos": np.cos,
    "logical_not": np.logical_not,
}
_REDUCE: dict[str, Callable[..., Any]] = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "prod": np.prod,
    "any": np.any,
    "all": np.all,
}
BINARY_FNS = tuple(_BINARY)
COMPARE_FNS = tuple(_COMPARE)
UNARY_FNS = tuple(_UNARY)
REDUCE_FNS = tuple(_REDUCE)
CAST_DTYPES = ("float32", "int32", "bool")


def _operands(ins: tuple[np.ndarray, ...], scalar: float | None, scalar_first: bool) -> tuple[Any, Any]:
    """The two operands: two inputs, or one input and the config's scalar (in its dtype)."""
    if len(ins) == 2:
        return ins[0], ins[1]
    if scalar is None:
        raise InputError("a one-input Binary/Compare node needs its scalar")
    x = ins[0]
    whole = x.dtype.kind in "iu" and float(scalar).is_integer()
    s = np.asarray(scalar, dtype=x.dtype if whole else np.float32)
    return (s, x) if scalar_first else (x, s)


def _broadcast(a: Any, b: Any) -> None:
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise InputError(f"shapes {np.shape(a)} and {np.shape(b)} do not broadcast") from None


def binary(*ins: np.ndarray, fn: str, scalar: float | None = None, scalar_first: bool = False) -> list[np.ndarray]:
    """Element-wise arithmetic with NumPy broadcasting: ``fn(a, b)``."""
    a, b = _operands(ins, scalar, scalar_first)
    _broadcast(a, b)
    whole = a.dtype.kind in "iu" and b.dtype.kind in "iu" and fn != "divide"
    if not whole:
        a, b = a.astype(np.float32, copy=False), b.astype(np.float32, copy=False)
    with np.errstate(all="ignore"):
        y = np.floor(np.divide(a, b)) if fn == "floor_divide" and not whole else _BINARY[fn](a, b)
    return [np.asarray(y, dtype=y.dtype if whole else np.float32)]


def compare(*ins: np.ndarray, fn: str, scalar: float | None = None, scalar_first: bool = False) -> list[np.ndarray]:
    """Element-wise comparison or logic with broadcasting; a boolean result."""
    a, b = _operands(ins, scalar, scalar_first)
    _broadcast(a, b)
    return [np.asarray(_COMPARE[fn](a, b), dtype=bool)]


def unary(x: np.ndarray, *, fn: str) -> list[np.ndarray]:
    with np.errstate(all="ignore"):
        y = _UNARY[fn](x)
    return [np.asarray(y, dtype=bool if fn == "logical_not" else x.dtype)]


def _slice_key(
    x: np.ndarray, starts: list[int], stops: list[int], steps: list[int], kinds: list[str]
) -> tuple[Any, ...]:
    if len(kinds) != x.ndim:
        raise InputError(f"Slice of {len(kinds)} axes given a rank-{x.ndim} tensor")
    key: list[Any] = []
    for ax, (a, b, s, k) in enumerate(zip(starts, stops, steps, kinds)):
        if k == "index":
            n = x.shape[ax]
            if not -n <= a < n:
                raise InputError(f"Slice index {a} is out of range for axis {ax} of size {n}")
            key.append(a)
        else:
            open_start, open_stop = k in ("all", "from_start"), k in ("all", "to_end")
            key.append(slice(None if open_start else a, None if open_stop else b, s))
    return tuple(key)


def slice_(
    x: np.ndarray, *, starts: list[int], stops: list[int], steps: list[int], kinds: list[str]
) -> list[np.ndarray]:
    """Python/NumPy basic indexing, one entry per input axis (FORMAT.md 5.51)."""
    return [np.ascontiguousarray(x[_slice_key(x, starts, stops, steps, kinds)])]


def squeeze(x: np.ndarray, *, axes: list[int]) -> list[np.ndarray]:
    for a in axes:
        if not -x.ndim <= a < x.ndim or x.shape[a] != 1:
            raise InputError(f"Squeeze axis {a} of shape {x.shape} is not of size 1")
    return [np.squeeze(x, axis=tuple(axes))]


def stack(*xs: np.ndarray, axis: int) -> list[np.ndarray]:
    if any(t.shape != xs[0].shape for t in xs):
        raise InputError(f"Stack of different shapes {[t.shape for t in xs]}")
    return [np.stack(xs, axis=axis)]


def reduce(x: np.ndarray, *, fn: str, axes: list[int], keepdims: bool) -> list[np.ndarray]:
    if fn in ("max", "min") and any(x.shape[a] == 0 for a in axes):
        raise InputError(f"Reduce {fn} over an empty axis")
    y = _REDUCE[fn](x, axis=tuple(axes), keepdims=keepdims)
    return [np.asarray(y, dtype=bool if fn in ("any", "all") else x.dtype)]


def matmul(a: np.ndarray, b: np.ndarray, *, transpose_a: bool, transpose_b: bool) -> list[np.ndarray]:
    """``a @ b`` over the last two axes (either transposed first), leading axes broadcast."""
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    if a.shape[-1] != b.shape[-2]:
        raise InputError(f"MatMul of shapes {a.shape} and {b.shape}")
    _broadcast(np.empty(a.shape[:-2]), np.empty(b.shape[:-2]))
    return [np.matmul(a, b)]


def cast(x: np.ndarray, *, dtype: str) -> list[np.ndarray]:
    """float -> int32 truncates toward zero; number -> bool is ``x != 0``."""
    if dtype == "int32" and x.dtype.kind == "f":
        with np.errstate(all="ignore"):
            return [np.trunc(x).astype(np.int32)]
    return [x.astype(np.dtype(dtype))]

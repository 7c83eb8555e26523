"""The one input parser ``predict`` and ``step`` share: the forms a caller may give inputs
in, and the checks and casts that turn them into the arrays a call computes on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from ..errors import FormatError, InputError
from .common import format_shape
from .plan import TensorInfo

ArrayLike = Any
Inputs = ArrayLike | Sequence[ArrayLike] | dict[str, ArrayLike]

_PAD_HINT = "pad the sequences to one length first, e.g. with rnnconvert.runtime.pad_sequences"


class InputParser:
    """Reads the inputs of a model whose inputs are ``infos``.

    Accepted forms: one array for a single-input model (or a list/tuple holding just that
    array, as Keras accepts); a list or tuple of arrays in input order; a dict by input name.
    """

    def __init__(self, infos: list[TensorInfo], *, stateful: bool):
        self.infos = infos
        self.stateful = stateful
        # Per input, the (axis, size) pairs the bundle fixes, and the dtype each computes in:
        # float32, or int64 ids for an int input.
        self._fixed = [[(a, d) for a, d in enumerate(i.shape) if d is not None] for i in infos]
        self._free = [[a for a, d in enumerate(i.shape) if d is None and a > 0] for i in infos]
        self._dtypes = [
            np.str_ if i.dtype == "string" else np.int64 if i.dtype.startswith("int") else np.float32 for i in infos
        ]

    def split(self, x: Inputs) -> list[Any]:
        """``x`` as a list of values in input order."""
        n = len(self.infos)
        names = [i.name for i in self.infos]
        if isinstance(x, dict):
            if len(x) != n or any(name not in x for name in names):
                raise InputError(f"expected inputs {names}, got {sorted(map(str, x))}")
            return [x[name] for name in names]
        if isinstance(x, (list, tuple)) and (n > 1 or (x and all(isinstance(v, np.ndarray) for v in x))):
            if len(x) != n:
                raise InputError(f"the model takes {n} input(s) {names}, got {len(x)}")
            return list(x)
        if n != 1:  # one array for a model of several inputs
            raise InputError(f"the model takes {n} inputs {names}, got one array")
        return [x]

    def arrays(self, values: list[Any], *, chunked: Collection[str] = (), whole: bool = True) -> list[np.ndarray]:
        """Check and cast ``values`` (from :meth:`split`). ``chunked`` names inputs whose
        axis 1 may have any length (a streamed chunk); with ``whole`` (a whole call, not a
        streamed chunk) a free axis of length 0 -- an empty sequence -- is refused, as Keras
        refuses it."""
        arrays = []
        batch = None
        for k, (info, value) in enumerate(zip(self.infos, values)):
            a = as_strings(info.name, value) if info.dtype == "string" else _as_array(info, value)
            self._check_shape(k, a, chunked, whole)
            if batch is None:
                batch = a.shape[0]
            elif a.shape[0] != batch:
                raise InputError(f"input {info.name!r}: batch size {a.shape[0]} differs from the first input's {batch}")
            target = self._dtypes[k]
            if target is not np.str_ and a.dtype != target and (target is np.float32 or a.dtype.kind == "b"):
                # float inputs compute in float32 as Keras does; int inputs (ids) stay ints,
                # and float ids are truncated by the op that reads them, as Keras casts them.
                a = a.astype(target)
            arrays.append(a)
        return arrays

    def __call__(self, x: Inputs, *, chunked: Collection[str] = (), whole: bool = True) -> list[np.ndarray]:
        return self.arrays(self.split(x), chunked=chunked, whole=whole)

    def _check_shape(self, k: int, a: np.ndarray, chunked: Collection[str], whole: bool) -> None:
        info = self.infos[k]
        if a.ndim != len(info.shape):
            raise InputError(
                f"input {info.name!r}: expected shape {format_shape(info.shape)} (rank {len(info.shape)}), got {a.shape}"
            )
        for axis, want in self._fixed[k]:
            if a.shape[axis] != want and not ((axis == 1 and info.name in chunked) or (axis == 0 and self.stateful)):
                raise InputError(
                    f"input {info.name!r}: expected shape {format_shape(info.shape)}, got {a.shape} (axis {axis})"
                )
        if whole:
            for axis in self._free[k]:
                if a.shape[axis] == 0:
                    raise InputError(
                        f"input {info.name!r}: axis {axis} has length 0 (shape {a.shape}); an empty sequence has "
                        "no output, and Keras refuses it too"
                    )


def as_strings(name: str, value: Any) -> np.ndarray:
    """A string input (FORMAT.md 2.1): a NumPy array of str (or of UTF-8 bytes), or nested
    lists of Python str, as a NumPy unicode array. Anything else is refused."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return value
    try:
        a = np.asarray(value, dtype=object)
    except Exception as exc:  # ragged lists
        raise InputError(f"input {name!r}: cannot be read as an array of strings ({exc})") from None
    flat = a.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for i, v in enumerate(flat):
        if isinstance(v, (bytes, np.bytes_)):
            try:
                v = bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"input {name!r}: item {i} is bytes that are not UTF-8") from None
        if not isinstance(v, str):
            raise InputError(f"input {name!r}: expects strings, got {type(v).__name__} at item {i}")
        out[i] = v
    return np.array(out.tolist() if out.size else [], dtype=str).reshape(a.shape)


def encode_strings(a: np.ndarray) -> np.ndarray:
    """Strings as test vectors store them (FORMAT.md 8): int32 (*shape, L), each string's
    Unicode code points padded with -1 to the longest one's length L."""
    flat = [str(s) for s in np.asarray(a).reshape(-1)]
    width = max((len(s) for s in flat), default=0)
    out = np.full((len(flat), width), -1, np.int32)
    for i, s in enumerate(flat):
        out[i, : len(s)] = [ord(c) for c in s]
    return out.reshape(*np.shape(a), width)


def decode_strings(codes: np.ndarray, where: str) -> np.ndarray:
    """The inverse of :func:`encode_strings`; a code that is not a Unicode scalar value (or
    a -1 before a code point) is a malformed bundle."""
    c = np.asarray(codes)
    if c.dtype.kind not in "iu" or c.ndim < 1:
        raise FormatError(f"{where}: a string input's test vector must be an integer array (*shape, length)")
    flat = c.reshape(-1, c.shape[-1]) if c.shape[-1] else np.zeros((int(np.prod(c.shape[:-1])), 0), np.int64)
    out = []
    for row in flat.tolist():
        n = row.index(-1) if -1 in row else len(row)
        if any(v != -1 for v in row[n:]) or any(not (0 <= v < 0x110000) or 0xD800 <= v < 0xE000 for v in row[:n]):
            raise FormatError(f"{where}: a string test vector holds a code that is no Unicode character")
        out.append("".join(map(chr, row[:n])))
    return np.array(out, dtype=str).reshape(c.shape[:-1])


def _as_array(info: TensorInfo, value: Any) -> np.ndarray:
    if type(value) is np.ndarray:
        a = value
    else:
        try:
            a = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            hint = f"; {_PAD_HINT}" if isinstance(value, (list, tuple)) else ""
            raise InputError(f"input {info.name!r}: cannot be read as an array ({exc}){hint}") from None
    if a.dtype.kind not in "biuf":
        hint = f"; {_PAD_HINT}" if a.dtype.kind == "O" and isinstance(value, (list, tuple)) else ""
        raise InputError(f"input {info.name!r}: dtype {a.dtype} is not numeric; expected {info.dtype}{hint}")
    return a


__all__ = ["InputParser", "Inputs", "ArrayLike"]

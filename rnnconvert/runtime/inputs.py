"""The one input parser ``predict`` and ``step`` share: the forms a caller may give inputs
in, and the checks and casts that turn them into the arrays a call computes on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
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
        self._dtypes = [np.int64 if i.dtype.startswith("int") else np.float32 for i in infos]

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
            a = _as_array(info, value)
            self._check_shape(k, a, chunked, whole)
            if batch is None:
                batch = a.shape[0]
            elif a.shape[0] != batch:
                raise InputError(f"input {info.name!r}: batch size {a.shape[0]} differs from the first input's {batch}")
            target = self._dtypes[k]
            if a.dtype != target and (target is np.float32 or a.dtype.kind == "b"):
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

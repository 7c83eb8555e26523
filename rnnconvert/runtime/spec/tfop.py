"""Declarations of the tensor ops recorded inline in a model (FORMAT.md 5.51-5.59):
Slice, Squeeze, Stack, Binary, Compare, Unary, Reduce, MatMul, Cast (format 1.3.0)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops.tensor_ops import BINARY_FNS, CAST_DTYPES, COMPARE_FNS, REDUCE_FNS, UNARY_FNS
from .types import PER_STEP, WHOLE_SEQUENCE, Key, OpSpec, constant

_1_3 = "1.3.0"
_AXIS = {"type": "integer", "minimum": -64, "maximum": 64}
_AXES = {"type": "array", "items": _AXIS, "maxItems": 64}
_INTS = {"type": "array", "items": {"type": "integer"}, "maxItems": 64}
_BOOL = {"type": "boolean"}
SLICE_KINDS = ("index", "all", "from_start", "to_end", "range")


def _slice_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    """Per step when the time axis (1) is taken whole, in order."""
    kinds, steps = config["kinds"], config["steps"]
    if rank < 2 or len(kinds) < 2:
        return PER_STEP
    return PER_STEP if kinds[1] == "all" and steps[1] == 1 else WHOLE_SEQUENCE


def _slice_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    n = len(config["kinds"])
    if not len(config["starts"]) == len(config["stops"]) == len(config["steps"]) == n:
        return "Slice starts, stops, steps and kinds must have one entry per input axis"
    if any(s == 0 for s in config["steps"]):
        return "Slice steps must not be 0"
    return None


def _axes_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    """Per step unless one of the axes is the time axis (1)."""
    return WHOLE_SEQUENCE if any(a % rank == 1 for a in config["axes"] if rank > 1) else PER_STEP


def _stack_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    return PER_STEP if int(config["axis"]) % (rank + 1) >= 2 else WHOLE_SEQUENCE


def _reduce_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    axes = config["axes"]
    return None if axes and len(set(axes)) == len(axes) else "Reduce axes must be distinct and at least one"


_SCALAR = {
    "scalar": Key({"type": "number"}, False, _1_3, "the second operand when the node has one input"),
    "scalar_first": Key(_BOOL, False, _1_3, "the scalar is the left operand (1 - x)"),
}

TFOP_SPECS = [
    OpSpec(
        "Slice",
        _1_3,
        {
            "starts": Key(_INTS),
            "stops": Key(_INTS),
            "steps": Key(_INTS),
            "kinds": Key({"type": "array", "items": {"enum": list(SLICE_KINDS)}, "maxItems": 64}),
        },
        time=_slice_time,
        shapes=_slice_shapes,
    ),
    OpSpec("Squeeze", _1_3, {"axes": Key(_AXES)}, time=_axes_time),
    OpSpec("Stack", _1_3, {"axis": Key(_AXIS)}, variadic=True, time=_stack_time),
    OpSpec(
        "Binary",
        _1_3,
        {"fn": Key({"enum": list(BINARY_FNS)}), **_SCALAR},
        inputs=("a", "b"),
        min_inputs=1,
        time=constant(PER_STEP),
    ),
    OpSpec(
        "Compare",
        _1_3,
        {"fn": Key({"enum": list(COMPARE_FNS)}), **_SCALAR},
        inputs=("a", "b"),
        min_inputs=1,
        time=constant(PER_STEP),
    ),
    OpSpec("Unary", _1_3, {"fn": Key({"enum": list(UNARY_FNS)})}, time=constant(PER_STEP)),
    OpSpec(
        "Reduce",
        _1_3,
        {"fn": Key({"enum": list(REDUCE_FNS)}), "axes": Key(_AXES), "keepdims": Key(_BOOL)},
        time=_axes_time,
        shapes=_reduce_shapes,
    ),
    OpSpec(
        "MatMul",
        _1_3,
        {"transpose_a": Key(_BOOL), "transpose_b": Key(_BOOL)},
        inputs=("a", "b"),
        time=constant(WHOLE_SEQUENCE),
    ),
    OpSpec("Cast", _1_3, {"dtype": Key({"enum": list(CAST_DTYPES)})}, time=constant(PER_STEP)),
]


# -- output sizes before a node runs (runtime/estimate.py, issue 12 item 9) ------------------
# Broadcasting, a matrix product and a stack can grow their output past their inputs: each
# gives its whole output shape from the real inputs, so a node declaring a smaller one (or a
# lower rank) is still refused before it allocates.

_Shapes = Sequence[tuple[int, ...]]


def _broadcast_size(c: dict[str, Any], ins: _Shapes, rank: int) -> dict[int, int]:
    return dict(enumerate(np.broadcast_shapes(*ins)))  # ValueError: the op names the shapes


def _matmul_size(c: dict[str, Any], ins: _Shapes, rank: int) -> dict[int, int]:
    a, b = ins[0], ins[1]
    if len(a) < 2 or len(b) < 2:
        return {}
    rows = a[-1] if c.get("transpose_a") else a[-2]
    cols = b[-2] if c.get("transpose_b") else b[-1]
    return dict(enumerate((*np.broadcast_shapes(a[:-2], b[:-2]), rows, cols)))


def _stack_size(c: dict[str, Any], ins: _Shapes, rank: int) -> dict[int, int]:
    shape = list(ins[0])
    shape.insert(int(c["axis"]) % (len(shape) + 1), len(ins))
    return dict(enumerate(shape))


#: op -> (config, input shapes, output rank) -> {axis: size} of output 0
TFOP_SIZE_RULES = {"Binary": _broadcast_size, "Compare": _broadcast_size, "MatMul": _matmul_size, "Stack": _stack_size}

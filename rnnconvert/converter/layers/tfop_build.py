"""The bundle nodes of inline tensor operations, from arguments already read off the recorded
call (``tfop.py`` reads tf_keras's TFOpLambda / SlicingOpLambda calls and Keras 3's
``keras.ops`` nodes). Each builder checks what it can against the static shapes and raises
``Unsupported`` naming what it refuses; nothing of the file is executed."""

from __future__ import annotations

import math
from typing import Any

from ..activations import ActivationError, to_spec
from ..graph import GraphBuilder, LayerCall, Shape, Tensor, Unsupported
from .common import known

Number = int | float


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def axis_of(axis: Any, rank: int, what: str) -> int:
    """``axis`` (negative counts from the end) as a non-negative axis of a rank-``rank`` tensor."""
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
        raise Unsupported(f"{what} {axis!r} is not an axis of a rank-{rank} tensor")
    return axis % rank


def _no_batch(ax: int, what: str) -> None:
    if ax == 0:
        raise Unsupported(f"{what} acts on the batch axis")


def broadcast(a: Shape, b: Shape, what: str) -> Shape:
    r = max(len(a), len(b))
    a = (1,) * (r - len(a)) + tuple(a)
    b = (1,) * (r - len(b)) + tuple(b)
    out: list[int | None] = []
    for x, y in zip(a, b):
        if x is not None and y is not None and x != y and 1 not in (x, y):
            raise Unsupported(f"{what}: shapes {a} and {b} do not broadcast")
        out.append(y if x == 1 else x if y == 1 else x if x is not None else y)
    return tuple(out)


def _node(call: LayerCall, b: GraphBuilder, op: str, ins: list[Tensor], config: dict, shape: Shape, dtype: str):
    return b.node(op, name=call.name, inputs=ins, config=config, outputs=[(tuple(shape), dtype)], layer=call)


def transpose(call: LayerCall, b: GraphBuilder, x: Tensor, perm: Any) -> list[Tensor]:
    if perm is None:
        perm = list(range(x.rank))[::-1]
    if not isinstance(perm, list) or sorted(a % x.rank if isinstance(a, int) else -1 for a in perm) != list(
        range(x.rank)
    ):
        raise Unsupported(f"transpose perm {perm!r} is not a permutation of the {x.rank} axes")
    perm = [a % x.rank for a in perm]
    return _node(call, b, "Transpose", [x], {"perm": perm}, tuple(x.shape[p] for p in perm), x.dtype)


def reshape(call: LayerCall, b: GraphBuilder, x: Tensor, shape: Any) -> list[Tensor]:
    """Converted when the batch axis stays: ``[-1, d1, ...]`` over the same number of values per item."""
    if not isinstance(shape, list) or not shape or not all(isinstance(v, int) and v >= -1 for v in shape):
        raise Unsupported(f"reshape to {shape!r}: only a literal shape is converted")
    rest, per_item = shape[1:], known(list(x.shape[1:]))
    if shape[0] != -1 or rest.count(-1) or 0 in rest or per_item is None or math.prod(rest) != math.prod(per_item):
        raise Unsupported(f"reshape to {shape!r}: only [-1, ...] keeping each batch item's values is converted")
    return _node(call, b, "Reshape", [x], {"target_shape": rest}, (x.shape[0], *rest), x.dtype)


def expand_dims(call: LayerCall, b: GraphBuilder, x: Tensor, axis: Any, name: str | None = None) -> list[Tensor]:
    ax = axis_of(axis, x.rank + 1, "expand_dims axis")
    _no_batch(ax, "expand_dims")
    shape = x.shape[:ax] + (1,) + x.shape[ax:]
    return b.node(
        "ExpandDims",
        name=name or call.name,
        inputs=[x],
        config={"axis": ax},
        outputs=[(shape, x.dtype)],
        layer=call,
    )


def squeeze(call: LayerCall, b: GraphBuilder, x: Tensor, axis: Any) -> list[Tensor]:
    if axis is None:
        axes = [a for a, d in enumerate(x.shape) if d == 1]
        if any(d is None for d in x.shape[1:]):
            raise Unsupported("squeeze without an axis of a tensor with free dimensions")
    else:
        axes = sorted({axis_of(a, x.rank, "squeeze axis") for a in (axis if isinstance(axis, list) else [axis])})
    for a in axes:
        _no_batch(a, "squeeze")
        if x.shape[a] not in (1, None):
            raise Unsupported(f"squeeze of axis {a}, of size {x.shape[a]}")
    shape = tuple(d for a, d in enumerate(x.shape) if a not in axes)
    return _node(call, b, "Squeeze", [x], {"axes": axes}, shape, x.dtype)


def concat(call: LayerCall, b: GraphBuilder, xs: list[Tensor], axis: Any) -> list[Tensor]:
    ax = axis_of(axis, xs[0].rank, "concat axis")
    _no_batch(ax, "concat")
    if any(t.rank != xs[0].rank for t in xs):
        raise Unsupported("concat of tensors of different ranks")
    shape = list(xs[0].shape)
    dims = known([t.shape[ax] for t in xs])
    shape[ax] = None if dims is None else sum(dims)
    return _node(call, b, "Merge", xs, {"mode": "concat", "axis": ax}, tuple(shape), xs[0].dtype)


def stack(call: LayerCall, b: GraphBuilder, xs: list[Tensor], axis: Any) -> list[Tensor]:
    ax = axis_of(axis, xs[0].rank + 1, "stack axis")
    _no_batch(ax, "stack")
    if any(t.rank != xs[0].rank for t in xs):
        raise Unsupported("stack of tensors of different ranks")
    shape = xs[0].shape[:ax] + (len(xs),) + xs[0].shape[ax:]
    return _node(call, b, "Stack", xs, {"axis": ax}, shape, xs[0].dtype)


def binary(call: LayerCall, b: GraphBuilder, op: str, fn: str, left: Any, right: Any) -> list[Tensor]:
    """``fn(left, right)``: two tensors, or a tensor and a number (in either order)."""
    what = f"{op} {fn}"
    ts = [v for v in (left, right) if isinstance(v, Tensor)]
    if not ts:
        raise Unsupported(f"{what} of two constants")
    for v in (left, right):
        if not isinstance(v, Tensor) and not is_number(v):
            raise Unsupported(f"{what} with a constant {str(v)[:40]!r}: only numbers and tensors are converted")
    config: dict[str, Any] = {"fn": fn}
    if len(ts) == 1:
        config["scalar"] = float(right if isinstance(left, Tensor) else left)
        config["scalar_first"] = not isinstance(left, Tensor)
        shape = ts[0].shape
    else:
        shape = broadcast(left.shape, right.shape, what)
    if op == "Compare":
        dtype = "bool"
    elif any(t.dtype == "bool" for t in ts):
        raise Unsupported(f"{what} of a boolean tensor")
    else:
        whole = all(t.dtype.startswith("int") for t in ts) and float(config.get("scalar", 0)).is_integer()
        dtype = ts[0].dtype if whole and fn != "divide" else "float32"
    return _node(call, b, op, ts, config, shape, dtype)


def unary(call: LayerCall, b: GraphBuilder, fn: str, x: Tensor) -> list[Tensor]:
    dtype = "bool" if fn == "logical_not" else x.dtype
    if (fn == "logical_not") != (x.dtype == "bool"):
        raise Unsupported(f"{fn} of a {x.dtype} tensor")
    return _node(call, b, "Unary", [x], {"fn": fn}, x.shape, dtype)


def activation(call: LayerCall, b: GraphBuilder, name: str, x: Tensor, axis: Any = None) -> list[Tensor]:
    try:
        spec = to_spec(name, call.era)
    except ActivationError as exc:
        raise Unsupported(str(exc)) from None
    if axis is not None:
        spec["axis"] = axis_of(axis, x.rank, f"{name} axis") if isinstance(axis, int) else axis
    if name == "softmax" and not isinstance(spec.get("axis"), int):
        raise Unsupported(f"softmax over axes {axis!r}: one axis is converted")
    return _node(call, b, "Activation", [x], {"activation": spec}, x.shape, "float32")


def reduce(call: LayerCall, b: GraphBuilder, fn: str, x: Tensor, axis: Any, keepdims: Any) -> list[Tensor]:
    if axis is None:
        raise Unsupported(f"reduce {fn} over every axis, the batch axis included")
    axes = sorted({axis_of(a, x.rank, f"reduce {fn} axis") for a in (axis if isinstance(axis, list) else [axis])})
    if not axes:
        raise Unsupported(f"reduce {fn} over no axis")
    for a in axes:
        _no_batch(a, f"reduce {fn}")
    keep = bool(keepdims)
    shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape) if keep or a not in axes)
    dtype = "bool" if fn in ("any", "all") else x.dtype
    if (fn in ("any", "all")) != (x.dtype == "bool"):
        raise Unsupported(f"reduce {fn} of a {x.dtype} tensor")
    return _node(call, b, "Reduce", [x], {"fn": fn, "axes": axes, "keepdims": keep}, shape, dtype)


def matmul(call: LayerCall, b: GraphBuilder, x: Any, y: Any, ta: Any = False, tb: Any = False) -> list[Tensor]:
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)) or x.rank < 2 or y.rank < 2:
        raise Unsupported("matmul is converted between two tensors of rank >= 2")
    sa = x.shape[:-2] + ((x.shape[-1], x.shape[-2]) if ta else x.shape[-2:])
    sb = y.shape[:-2] + ((y.shape[-1], y.shape[-2]) if tb else y.shape[-2:])
    if None not in (sa[-1], sb[-2]) and sa[-1] != sb[-2]:
        raise Unsupported(f"matmul of shapes {sa} and {sb}")
    lead = broadcast(sa[:-2], sb[:-2], "matmul")
    config = {"transpose_a": bool(ta), "transpose_b": bool(tb)}
    return _node(call, b, "MatMul", [x, y], config, (*lead, sa[-2], sb[-1]), "float32")


_DTYPES = {"float32": "float32", "float64": "float32", "int32": "int32", "int64": "int32", "bool": "bool"}


def cast(call: LayerCall, b: GraphBuilder, x: Tensor, dtype: Any) -> list[Tensor]:
    if isinstance(dtype, dict):  # a serialized DType
        dtype = dtype.get("config", {}).get("name") if isinstance(dtype.get("config"), dict) else None
    if dtype not in _DTYPES:
        raise Unsupported(f"cast to {str(dtype)[:30]!r}: float32, int32 and bool are converted")
    return _node(call, b, "Cast", [x], {"dtype": _DTYPES[dtype]}, x.shape, _DTYPES[dtype])


# -- slicing ----------------------------------------------------------------------------

#: One item of a normalised slicing key: ("slice", start, stop, step), ("index", i),
#: ("newaxis",) or ("ellipsis",); start/stop/step may be None.
SliceItem = tuple[Any, ...]


def _expand_ellipsis(items: list[SliceItem], rank: int) -> list[SliceItem]:
    consumed = sum(1 for it in items if it[0] in ("slice", "index"))
    ellipses = [k for k, it in enumerate(items) if it[0] == "ellipsis"]
    if len(ellipses) > 1:
        raise Unsupported("a slice with more than one ellipsis")
    if consumed > rank:
        raise Unsupported(f"a slice of {consumed} axes of a rank-{rank} tensor")
    fill = [("slice", None, None, None)] * (rank - consumed)
    if not ellipses:
        return items + fill
    k = ellipses[0]
    return items[:k] + fill + items[k + 1 :]


def _one_axis(item: SliceItem, n: int | None, ax: int) -> tuple[int, int, int, str, int | None]:
    """(start, stop, step, kind, output size or None) of one input axis."""
    if item[0] == "index":
        i = item[1]
        if n is not None and not -n <= i < n:
            raise Unsupported(f"index {i} is out of range for axis {ax} of size {n}")
        return i, 0, 1, "index", None
    start, stop, step = item[1:]
    step = 1 if step is None else step
    if step == 0:
        raise Unsupported("a slice step of 0")
    kind = {(True, True): "all", (True, False): "from_start", (False, True): "to_end"}.get(
        (start is None, stop is None), "range"
    )
    size = None if n is None else len(range(*slice(start, stop, step).indices(n)))
    return start or 0, stop or 0, step, kind, size


def slicing(call: LayerCall, b: GraphBuilder, x: Tensor, items: list[SliceItem]) -> list[Tensor]:
    """``x[key]`` with ints, slices (negative starts, stops and steps), an ellipsis and
    newaxis: one Slice node over the input axes, then one ExpandDims per newaxis."""
    items = _expand_ellipsis(items, x.rank)
    starts: list[int] = []
    stops: list[int] = []
    steps: list[int] = []
    kinds: list[str] = []
    out: list[int | None] = []
    newaxes: list[int] = []
    ax = 0
    for it in items:
        if it[0] == "newaxis":
            newaxes.append(len(out))
            out.append(1)
            continue
        start, stop, step, kind, size = _one_axis(it, x.shape[ax], ax)
        if ax == 0 and (kind != "all" or step != 1):
            raise Unsupported("a slice of the batch axis")
        starts.append(start)
        stops.append(stop)
        steps.append(step)
        kinds.append(kind)
        if kind != "index":
            out.append(size if kind != "all" or step not in (1, -1) else x.shape[ax])
        ax += 1
    y = x
    if any(k != "all" or s != 1 for k, s in zip(kinds, steps)):
        shape = tuple(d for k, d in enumerate(out) if k not in newaxes)
        config = {"starts": starts, "stops": stops, "steps": steps, "kinds": kinds}
        (y,) = _node(call, b, "Slice", [x], config, shape, x.dtype)
    for pos in newaxes:
        (y,) = expand_dims(call, b, y, pos)
    return [y]

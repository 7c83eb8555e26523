"""Inline tensor operations: tf_keras's ``TFOpLambda`` / ``SlicingOpLambda`` layers (a
``tf.*`` function or ``x[...]`` called on a Keras tensor) and Keras 3's recorded
``keras.ops`` operation nodes. An allow-list of pure tensor operations is converted, with
the arguments read off the recorded call (FORMAT.md 5.51-5.59); any other operation is
refused by its own name. Nothing of the file is executed or imported: the function name is
only a key into the tables below."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from ..inbound import TF_OP_ARGS
from . import tfop_build as tb

Handler = Callable[[LayerCall, GraphBuilder, dict[str, Any]], list[Tensor]]

# -- argument binding --------------------------------------------------------------------


def _bind(call: LayerCall, names: tuple[str, ...], args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name (positional first, then keywords)."""
    if len(args) > len(names):
        raise Unsupported(f"{len(args)} positional arguments (the converter knows {', '.join(names)})")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k in ("name", "mask") or k.startswith("__"):
            continue
        if k not in names:
            raise Unsupported(f"argument {k}={str(v)[:30]!r} is not converted")
        bound[k] = v
    return bound


def _tensor(v: Any, what: str) -> Tensor:
    if not isinstance(v, Tensor):
        raise Unsupported(f"{what}: expected a tensor, got {str(v)[:40]!r}")
    return v


def _tensors(v: Any, what: str) -> list[Tensor]:
    if not isinstance(v, list) or not v:
        raise Unsupported(f"{what}: expected a list of tensors")
    return [_tensor(t, what) for t in v]


# -- the operations, by argument names ---------------------------------------------------


def _binary(op: str, fn: str, x: str = "x", y: str = "y") -> tuple[tuple[str, ...], Handler]:
    return (x, y), lambda c, b, a: tb.binary(c, b, op, fn, a.get(x), a.get(y))


def _unary(fn: str) -> tuple[tuple[str, ...], Handler]:
    return ("x",), lambda c, b, a: tb.unary(c, b, fn, _tensor(a.get("x"), fn))


def _act(name: str) -> tuple[tuple[str, ...], Handler]:
    return ("x", "axis"), lambda c, b, a: tb.activation(c, b, name, _tensor(a.get("x"), name), a.get("axis"))


def _reduce(fn: str, x: str = "input_tensor") -> tuple[tuple[str, ...], Handler]:
    return (x, "axis", "keepdims"), lambda c, b, a: tb.reduce(
        c, b, fn, _tensor(a.get(x), fn), a.get("axis"), a.get("keepdims")
    )


_ARITH = {
    "add": "add",
    "subtract": "subtract",
    "multiply": "multiply",
    "truediv": "divide",
    "divide": "divide",
    "pow": "pow",
    "maximum": "maximum",
    "minimum": "minimum",
    "floordiv": "floor_divide",
    "floor_div": "floor_divide",
    "floormod": "mod",
    "mod": "mod",
    "squared_difference": "squared_difference",
}
_CMP = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or")
_UNARY = (
    *("abs", "negative", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "reciprocal", "sign"),
    *("floor", "ceil", "round", "sin", "cos", "logical_not"),
)


def _tf_table() -> dict[str, tuple[tuple[str, ...], Handler]]:
    t: dict[str, tuple[tuple[str, ...], Handler]] = {}
    for name, fn in _ARITH.items():
        for prefix in ("math.", "__operators__.", "compat.v1.", ""):
            t[prefix + name] = _binary("Binary", fn)
    for fn in _CMP:
        t[f"math.{fn}"] = t[fn] = _binary("Compare", fn)
    for fn in _UNARY:
        t[f"math.{fn}"] = t[fn] = _unary(fn)
    for fn in ("sum", "mean", "max", "min", "prod", "any", "all"):
        t[f"math.reduce_{fn}"] = t[f"reduce_{fn}"] = _reduce(fn)
    for name in ("relu", "sigmoid", "tanh", "softmax"):
        for prefix in ("nn.", "math.", ""):
            t[prefix + name] = _act(name)
    t["transpose"] = t["compat.v1.transpose"] = (
        ("a", "perm"),
        lambda c, b, a: tb.transpose(c, b, a["a"], a.get("perm")),
    )
    t["reshape"] = (
        ("tensor", "shape"),
        lambda c, b, a: tb.reshape(c, b, _tensor(a.get("tensor"), "reshape"), a.get("shape")),
    )
    t["expand_dims"] = (
        ("input", "axis"),
        lambda c, b, a: tb.expand_dims(c, b, _tensor(a.get("input"), "expand_dims"), a.get("axis")),
    )
    squeeze: tuple[tuple[str, ...], Handler] = (
        ("input", "axis"),
        lambda c, b, a: tb.squeeze(c, b, _tensor(a.get("input"), "squeeze"), a.get("axis")),
    )
    t["squeeze"] = t["compat.v1.squeeze"] = squeeze
    t["concat"] = (
        ("values", "axis"),
        lambda c, b, a: tb.concat(c, b, _tensors(a.get("values"), "concat"), a.get("axis")),
    )
    t["stack"] = (
        ("values", "axis"),
        lambda c, b, a: tb.stack(c, b, _tensors(a.get("values"), "stack"), a.get("axis", 0)),
    )
    t["linalg.matmul"] = t["matmul"] = (
        ("a", "b", "transpose_a", "transpose_b"),
        lambda c, b, a: tb.matmul(c, b, a.get("a"), a.get("b"), a.get("transpose_a"), a.get("transpose_b")),
    )
    t["cast"] = (("x", "dtype"), lambda c, b, a: tb.cast(c, b, _tensor(a.get("x"), "cast"), a.get("dtype")))
    return t


TF_FUNCTIONS = _tf_table()
#: Arguments whose default value (as tf_keras records it) changes nothing.
_TF_DEFAULTS = {"conjugate": False, "transpose_a": False, "transpose_b": False, "keepdims": False}


def _tf_args(call: LayerCall, fn: str) -> tuple[list[Any], dict[str, Any]]:
    args = list(call.kwargs.get(TF_OP_ARGS) or call.inputs)
    kwargs = {k: v for k, v in call.kwargs.items() if k != TF_OP_ARGS}
    if fn in ("concat", "stack"):  # tf_keras lists the tensors of `values` as positional entries
        return [args], kwargs
    for k in ("adjoint_a", "adjoint_b", "a_is_sparse", "b_is_sparse", "conjugate", "output_type"):
        if kwargs.get(k) in (False, None):
            kwargs.pop(k, None)
    return args, kwargs


def convert_tf_op(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    fn = call.config.get("function")
    name = f"tf.{fn}" if isinstance(fn, str) else "an unnamed TensorFlow operation"
    entry = TF_FUNCTIONS.get(fn) if isinstance(fn, str) else None
    if entry is None:
        raise Unsupported(f"inline TensorFlow operation {name} is not converted")
    names, handler = entry
    args, kwargs = _tf_args(call, str(fn))
    try:
        return handler(call, b, _bind(call, names, args, kwargs))
    except Unsupported as exc:
        raise Unsupported(f"{name}: {exc}") from None


# -- slicing keys ------------------------------------------------------------------------


def _int_or_none(v: Any) -> int | None:
    if v is None or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    raise Unsupported(f"a slice bound {str(v)[:30]!r}: only integers are converted")


def slice_items(key: Any) -> list[tb.SliceItem]:
    """A recorded slicing key (tf_keras ``slice_spec`` or Keras 3 GetItem's key) normalised."""
    items = key if isinstance(key, list) else [key]
    out: list[tb.SliceItem] = []
    for it in items:
        if it is None:
            out.append(("newaxis",))
        elif isinstance(it, int) and not isinstance(it, bool):
            out.append(("index", it))
        elif isinstance(it, dict) and it.get("class_name") == "__ellipsis__":
            out.append(("ellipsis",))
        elif isinstance(it, dict) and (it.get("class_name") == "__slice__" or {"start", "stop", "step"} >= set(it)):
            s = it.get("config") if it.get("class_name") == "__slice__" else it
            s = s if isinstance(s, dict) else {}
            out.append(("slice", *(_int_or_none(s.get(k)) for k in ("start", "stop", "step"))))
        else:
            raise Unsupported(f"a slicing key {str(it)[:40]!r}: ints, slices, ... and None are converted")
    return out


def convert_slicing_op(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = _tensor((call.kwargs.get(TF_OP_ARGS) or call.inputs)[0], "getitem")
    extra = set(call.kwargs) - {TF_OP_ARGS, "slice_spec", "name"}
    if extra:
        raise Unsupported(f"x[...] with {sorted(extra)}: only slice_spec is converted")
    try:
        return tb.slicing(call, b, x, slice_items(call.kwargs.get("slice_spec")))
    except Unsupported as exc:
        raise Unsupported(f"tf.__operators__.getitem: {exc}") from None


# The walker asks before converting, so that an operation outside the allow-list is
# reported by name even downstream of another refused layer.
def _accepts(lc: dict[str, Any]) -> bool:
    fn = lc.get("config", {}).get("function") if isinstance(lc.get("config"), dict) else None
    return isinstance(fn, str) and fn in TF_FUNCTIONS


convert_tf_op.accepts = _accepts  # type: ignore[attr-defined]
convert_slicing_op.accepts = lambda lc: True  # type: ignore[attr-defined]

TFOP_TF_CONVERTERS = {"TFOpLambda": convert_tf_op, "SlicingOpLambda": convert_slicing_op}

__all__ = ["TFOP_TF_CONVERTERS", "TF_FUNCTIONS", "slice_items"]

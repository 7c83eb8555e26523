"""How each era writes the input tensors of a layer call (its *inbound node*).

Keras 1/2 ``[[layer, node, tensor(, kwargs)], ...]``, tf_keras's flat TFOpLambda form
(positional constants and tensor keyword arguments included) and Keras 3 ``{"args": ...,
"kwargs": ...}`` with ``__keras_tensor__`` records; also a model's input and output lists.
Every accessor checks the types it reads: a malformed config is a ``FormatError``.
"""

from __future__ import annotations

from typing import Any

from ..errors import FormatError
from .dialects import HistoryT, as_dict, index, name_of


def _history(h: Any) -> HistoryT:
    if not isinstance(h, list) or len(h) != 3:
        raise FormatError(f"malformed keras_history {str(h)[:60]!r}")
    return name_of(h[0], "keras_history"), index(h[1], "keras_history node"), index(h[2], "keras_history tensor")


def k3_tensors(obj: Any, found: list[HistoryT]) -> Any:
    """Replace Keras 3 ``__keras_tensor__`` records in ``obj`` by ``("__tensor__", history)``."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            t = _history(as_dict(obj.get("config")).get("keras_history"))
            found.append(t)
            return ("__tensor__", t)
        return {k: k3_tensors(v, found) for k, v in obj.items()}
    if isinstance(obj, list):
        return [k3_tensors(v, found) for v in obj]
    return obj


def _flat(items: list[Any]) -> list[Any]:
    """tf_keras nests structured inputs (stacked cells' states)."""
    out: list[Any] = []
    for it in items:
        if isinstance(it, list) and it and all(isinstance(e, list) for e in it):
            out.extend(_flat(it))
        else:
            out.append(it)
    return out


def _entry(item: Any) -> HistoryT:
    if not isinstance(item, list) or len(item) < 3:
        raise FormatError(f"malformed inbound node entry {str(item)[:60]!r}")
    return name_of(item[0], "inbound node"), index(item[1], "inbound node index"), index(item[2], "inbound tensor")


#: The positional arguments of a tf_keras inline operation (TFOpLambda / SlicingOpLambda) in
#: the order of the call, tensors as ``("__tensor__", history)``, constants as written.
TF_OP_ARGS = "__tf_op_args__"


def _tf_history(obj: Any) -> Any:
    """tf_keras writes a tensor argument of an inline operation as ``[layer, node, tensor]``."""
    if isinstance(obj, list) and len(obj) == 3 and isinstance(obj[0], str):
        if all(isinstance(v, int) and not isinstance(v, bool) for v in obj[1:]):
            return ("__tensor__", _entry(obj))
    if isinstance(obj, list):
        return [_tf_history(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _tf_history(v) for k, v in obj.items()}
    return obj


def parse_tf_op(node: Any) -> tuple[list[HistoryT], dict[str, Any]]:
    """A tf_keras inline operation's inbound node: ``[[layer, node, tensor, {kwargs}], ...]``
    (one entry per positional tensor, each repeating the call's kwargs) or one such entry;
    a constant first argument is written ``["_CONSTANT_VALUE", -1, value, {kwargs}]``.
    The tensors (positional, then those among the kwargs) are the call's inputs."""
    if isinstance(node, list) and node and isinstance(node[0], str):
        node = [node]
    if not isinstance(node, list) or not node:
        raise FormatError(f"malformed inbound node {str(node)[:60]!r}")
    positional: list[Any] = []
    kwargs: dict[str, Any] = {}
    for item in node:
        if not isinstance(item, list) or len(item) < 3:
            raise FormatError(f"malformed inbound node entry {str(item)[:60]!r}")
        if item[0] == "_CONSTANT_VALUE" and item[1] == -1:
            positional.append(item[2])
        else:
            positional.append(("__tensor__", _entry(item)))
        if len(item) > 3 and isinstance(item[3], dict):
            kwargs.update(_tf_history(item[3]))
    args = [p[1] for p in positional if isinstance(p, tuple)]
    args += [(n, k, t) for n, k, t in _tensor_histories(kwargs)]
    kwargs[TF_OP_ARGS] = positional
    return args, kwargs


def _tensor_histories(obj: Any) -> list[HistoryT]:
    found: list[HistoryT] = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, tuple) and len(o) == 2 and o[0] == "__tensor__":
            found.append(o[1])
        elif isinstance(o, dict):
            stack.extend(reversed(list(o.values())))
        elif isinstance(o, list):
            stack.extend(reversed(o))
    return found


#: tf_keras call arguments that hold a tensor as its [layer, node, tensor] record
#: (MultiHeadAttention's value / key / attention_mask).
_TF_KERAS_TENSOR_KWARGS = frozenset({"value", "key", "attention_mask", "value_mask", "key_mask"})


def _tf_keras_tensor_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    for key in _TF_KERAS_TENSOR_KWARGS & out.keys():
        v = out[key]
        if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str):
            out[key] = ("__tensor__", _entry(v))
    return out


def parse_inbound(node: Any, *, tf_op: bool = False) -> tuple[list[HistoryT], dict[str, Any]]:
    """One inbound node -> (positional input tensors, kwargs with tensor records resolved)."""
    if tf_op and not isinstance(node, dict):
        return parse_tf_op(node)
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args: list[HistoryT] = []
        k3_tensors(node.get("args", []), args)
        kwargs = k3_tensors(node.get("kwargs", {}), [])
        kwargs = kwargs if isinstance(kwargs, dict) else {}
        # Positional arguments as written, literals included (ops layers such as
        # NotEqual(x, 0.0) take scalars); tensors in it resolve like kwargs.
        kwargs["__args__"] = k3_tensors(node.get("args", []), [])
        return args, kwargs
    if isinstance(node, list):
        if not node:
            raise FormatError("an inbound node lists no input")
        if isinstance(node[0], str):  # tf_keras TFOpLambda: [layer, node, tensor, {kwargs}]
            node = [node]
        args, kwargs = [], {}
        for item in _flat(node):  # Keras 1/2: [[layer, node, tensor(, kwargs)], ...]
            args.append(_entry(item))
            if len(item) > 3 and isinstance(item[3], dict):
                kwargs.update(_tf_keras_tensor_kwargs(item[3]))
        return args, kwargs
    raise FormatError(f"malformed inbound node {str(node)[:60]!r}")


def io_list(value: Any) -> list[HistoryT]:
    """A model's ``input_layers`` / ``output_layers``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FormatError(f"model inputs/outputs must be a list, got {str(value)[:60]!r}")
    if len(value) == 3 and isinstance(value[0], str) and not isinstance(value[1], list):
        value = [value]  # Keras 3 writes a single input/output unwrapped
    out = []
    for v in value:
        if isinstance(v, list) and v and all(isinstance(e, list) for e in v):
            out.extend(io_list(v))  # Keras 3 nests structured outputs (stacked cells' states)
            continue
        if not isinstance(v, list) or len(v) < 3:
            raise FormatError(f"malformed model input/output entry {str(v)[:60]!r}")
        out.append((name_of(v[0], "model input/output"), index(v[1], "node index"), index(v[2], "tensor index")))
    return out


def named_outputs(cfg: dict[str, Any], outs: list[Any]) -> list[tuple[str, Any]]:
    """The model's outputs named after their layers (``name_1``... for a layer's further outputs)."""
    names = [n for n, _, _ in io_list(cfg.get("output_layers"))]
    seen: dict[str, int] = {}
    named = []
    for n, t in zip(names, outs):
        k = seen.get(n, 0)
        seen[n] = k + 1
        named.append((n if k == 0 else f"{n}_{k}", t))
    return named

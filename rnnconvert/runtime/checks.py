"""Load-time checks of each node's config and weights against its op's contract.

They make a malformed bundle fail at ``load`` with a FormatError naming the node,
rather than at ``predict`` -- and keep every allocation the ops make bounded by the
sizes of the weights and inputs actually present.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import FormatError
from .ops.activations import ACTIVATIONS

_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
_BOOL_KEYS = {
    "use_bias",
    "return_sequences",
    "go_backwards",
    "stateful",
    "zero_output_for_mask",
    "reset_after",
    "keepdims",
    "causal",
    "query_mask",
    "value_mask",
}
_INT_KEYS = {
    "units",
    "input_dim",
    "output_dim",
    "filters",
    "strides",
    "dilation_rate",
    "pool_size",
    "size",
    "n",
    "left",
    "right",
}
_NUM_KEYS = {"value", "mask_value"}
# Ops whose strides / dilation_rate are lists, one integer per spatial axis.
_LIST_INT_OPS = {"ConvLSTM"}


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def check_activation(spec: Any, where: str) -> None:
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str) or spec["type"] not in ACTIVATIONS:
        raise FormatError(f"{where}: activation {spec!r} is not a known activation spec")
    fn = ACTIVATIONS[spec["type"]]
    params = inspect.signature(fn).parameters
    for key, value in spec.items():
        if key == "type":
            continue
        if key not in params or key == "x":
            raise FormatError(f"{where}: activation {spec['type']!r} takes no parameter {key!r}")
        ok = (
            isinstance(value, bool)
            if key == "approximate"
            else (value is None or _num(value))
            if key == "max_value"
            else (isinstance(value, int) and not isinstance(value, bool))
            or (
                isinstance(value, list) and all(isinstance(a, int) and not isinstance(a, bool) for a in value) and value
            )
            if key == "axis"
            else _num(value)
        )
        if not ok:
            raise FormatError(f"{where}: activation parameter {key}={value!r} has the wrong type")
    for name, p in params.items():
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty and name not in spec:
            raise FormatError(f"{where}: activation {spec['type']!r} needs parameter {name!r}")


def check_node(op: str, config: dict[str, Any], weights: dict[str, np.ndarray], where: str) -> None:
    for key, value in config.items():
        if key in ("activation", "recurrent_activation"):
            check_activation(value, f"{where} {key}")
        elif key in _BOOL_KEYS and not isinstance(value, bool):
            raise FormatError(f"{where}: config {key} must be true or false, got {value!r}")
        elif key in _INT_KEYS and op in _LIST_INT_OPS and key in ("strides", "dilation_rate"):
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
            ):
                raise FormatError(f"{where}: config {key} must be a list of positive integers, got {value!r}")
        elif key in _INT_KEYS and (not isinstance(value, int) or isinstance(value, bool)):
            raise FormatError(f"{where}: config {key} must be an integer, got {value!r}")
        elif key in _NUM_KEYS and not _num(value):
            raise FormatError(f"{where}: config {key} must be a number, got {value!r}")
    for slot, arr in weights.items():
        if arr.dtype.kind not in "fiu":
            raise FormatError(f"{where}: weight {slot} has dtype {arr.dtype}")

    def need(cond: bool, what: str) -> None:
        if not cond:
            shapes = {k: tuple(v.shape) for k, v in weights.items()}
            raise FormatError(f"{where}: {what} (weights {shapes}, config units={config.get('units')})")

    if op in _GATES:
        g = _GATES[op]
        k, r, b = weights.get("kernel"), weights.get("recurrent_kernel"), weights.get("bias")
        need(k is not None and r is not None and k.ndim == 2 and r.ndim == 2, "kernel and recurrent_kernel must be 2-D")
        h = r.shape[0]
        need(
            config.get("units") == h and r.shape[1] == g * h and k.shape[1] == g * h,
            f"{op} kernels must be (D, {g}H) and (H, {g}H) with H = units",
        )
        if op == "GRU" and config.get("reset_after"):
            need(b is None or b.shape == (2, g * h), "GRU reset_after bias must be (2, 3H)")
        else:
            need(b is None or b.shape == (g * h,), f"bias must be ({g}H,)")
        need((b is not None) == bool(config.get("use_bias")), "use_bias must match the presence of a bias")
        order = config.get("gate_order")
        if op == "LSTM":
            need(order == ["i", "f", "c", "o"], "LSTM gate_order must be [i, f, c, o]")
        if op == "GRU":
            need(order == ["z", "r", "h"], "GRU gate_order must be [z, r, h]")
    elif op == "ConvLSTM":
        k, r, b = weights.get("kernel"), weights.get("recurrent_kernel"), weights.get("bias")
        need(k is not None and r is not None and 3 <= k.ndim <= 5, "ConvLSTM kernel must be (*K, C, 4F), 1-3 axes K")
        f = config.get("filters")
        rank = k.ndim - 2
        need(
            isinstance(f, int) and f > 0 and k.shape[-1] == 4 * f and r.shape == (*k.shape[:rank], f, 4 * f),
            "ConvLSTM kernels must be (*K, C, 4F) and (*K, F, 4F) with F = filters",
        )
        need(b is None or b.shape == (4 * f,), "ConvLSTM bias must be (4F,)")
        need((b is not None) == bool(config.get("use_bias")), "use_bias must match the presence of a bias")
        for key in ("strides", "dilation_rate"):
            need(isinstance(config.get(key), list) and len(config[key]) == rank, f"{key} needs {rank} values")
        need(config.get("padding") in ("valid", "same"), "ConvLSTM padding must be valid or same")
        need(config.get("data_format") in ("channels_last", "channels_first"), "unknown data_format")
        need(config.get("gate_order") == ["i", "f", "c", "o"], "ConvLSTM gate_order must be [i, f, c, o]")
    elif op == "Dense":
        k, b = weights.get("kernel"), weights.get("bias")
        need(k is not None and k.ndim == 2 and config.get("units") == k.shape[1], "Dense kernel must be (D, units)")
        need(b is None or b.shape == (k.shape[1],), "Dense bias must be (units,)")
    elif op == "Embedding":
        e = weights.get("embeddings")
        need(e is not None and e.ndim == 2, "embeddings must be 2-D")
    elif op == "Attention":
        need(config.get("score_mode") in ("dot", "concat", "additive"), "unknown Attention score_mode")
        scale, csw = weights.get("scale"), weights.get("concat_score_weight")
        need(scale is None or scale.ndim == (1 if config.get("score_mode") == "additive" else 0), "bad scale shape")
        need((csw is not None) == (config.get("score_mode") == "concat"), "concat_score_weight goes with concat")
        need(csw is None or csw.ndim == 0, "concat_score_weight must be a scalar")
    elif op == "MaskedMerge":
        masked = config.get("masked")
        need(config.get("mode") in ("mul", "max", "min"), "unknown MaskedMerge mode")
        need(isinstance(masked, list) and all(isinstance(v, bool) for v in masked), "masked must be booleans")
    elif op == "Transpose":
        perm = config.get("perm")
        need(
            isinstance(perm, list) and all(isinstance(a, int) for a in perm) and sorted(perm) == list(range(len(perm))),
            "Transpose perm must be a permutation of 0 … rank-1",
        )
    elif op == "Merge":
        need(config.get("mode") in ("concat", "sum", "sub", "mul", "ave", "max", "min"), "unknown Merge mode")

"""One declaration per op: the contract a bundle node must meet (FORMAT.md 5).

``SPECS[op]`` is an :class:`OpSpec`: config keys with their JSON Schema and the
format version that added them, weight slots and their shape rule, inputs by name,
outputs, and the op's *time rule* -- how it depends on the time axis, which the
streaming planner reads (FORMAT.md 7). The runtime's load-time checks
(:func:`check_node`), the stream plan, ``inspect``'s parameter count and the JSON
Schema generator (``python -m rnnconvert.schema.generate``) all read these
declarations; adding an op means declaring it here, writing its function in
``runtime/ops``, its converter, and its FORMAT.md section.

The runtime imports numpy and the standard library only.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import FormatError
from .activations import activation_params, check_activation, explicit_activation
from .attn import ATTN_SPECS
from .conv import CONV_SPECS
from .norm import NORM_SPECS
from .ops import AXIS_ACTIVATIONS, OP_SPECS, activation_shape, activation_time, covers_time
from .pool import POOL_SPECS
from .recurrent import (
    EVERY_CALL,
    INITIAL_STATE_RULES,
    RECURRENT_FACTS,
    RECURRENT_SPECS,
    RECURRENT_STATE_COUNT,
    WHILE_STATES_ZERO,
)
from .resize import RESIZE_SPECS
from .text import TEXT_SPECS
from .tfop import TFOP_SPECS
from .types import (
    FOLD,
    PER_STEP,
    RECURRENT,
    TIME_RULES,
    UNFOLD,
    WHOLE_SEQUENCE,
    Key,
    Named,
    OpSpec,
    Recurrent,
    Slot,
    check_value,
)

SPECS: dict[str, OpSpec] = {
    s.op: s
    for s in [
        *OP_SPECS,
        *RECURRENT_SPECS,
        # format 1.3: convolutions (issue 14)
        *CONV_SPECS,
        # format 1.3: 3-D pooling, adaptive pooling, padding, cropping (issue 14)
        *POOL_SPECS,
        # format 1.3: resizing and rescaling (issue 14)
        *RESIZE_SPECS,
        # format 1.3: attention (issue 16)
        *ATTN_SPECS,
        # format 1.3: normalization and inference-time layers (issue 16)
        *NORM_SPECS,
        # format 1.3: preprocessing and text (issue 16)
        *TEXT_SPECS,
        # format 1.3: inline tensor operations (issue 16)
        *TFOP_SPECS,
    ]
}


# -- nodes -----------------------------------------------------------------------------


def _check_config(spec: OpSpec, config: dict[str, Any], where: str) -> None:
    for key, value in config.items():
        decl = spec.config.get(key)
        if decl is None:
            known = ", ".join(k for k, d in spec.config.items() if d.until is None) or "none"
            raise FormatError(f"{where}: unknown config key {key!r} (op {spec.op} takes: {known})")
        if decl.until is not None:  # a migration rewrote it: a current document cannot carry it
            raise FormatError(f"{where}: config key {key!r} was removed in format {decl.until} ({decl.doc})")
        if "$ref" in decl.schema:
            check_activation(value, f"{where} {key}")
            continue
        why = check_value(value, decl.schema)
        if why:
            raise FormatError(f"{where}: config {key} {why}, got {value!r}")
    missing = [k for k, d in spec.config.items() if d.required and d.until is None and k not in config]
    if missing:
        raise FormatError(f"{where}: config lacks {', '.join(missing)}")


def _check_weights(spec: OpSpec, weights: dict[str, np.ndarray], where: str) -> None:
    for slot, arr in weights.items():
        if slot not in spec.weights:
            raise FormatError(f"{where}: op {spec.op} has no weight slot {slot!r} (slots: {', '.join(spec.weights)})")
        if arr.dtype.kind not in "fiu":
            raise FormatError(f"{where}: weight {slot} has dtype {arr.dtype}")
    missing = [s for s, d in spec.weights.items() if d.required and s not in weights]
    if missing:
        raise FormatError(f"{where}: lacks weight(s) {', '.join(missing)}")


def check_node(
    op: str,
    config: dict[str, Any],
    weights: dict[str, np.ndarray],
    where: str,
    *,
    n_inputs: int | None = None,
    n_outputs: int | None = None,
) -> OpSpec:
    """Check one node against its op's declaration; returns the declaration.

    Raises FormatError naming ``where`` for an unknown op, config key or weight slot,
    a value of the wrong type, a weight whose shape does not fit, or a wrong number
    of inputs or outputs."""
    spec = SPECS.get(op)
    if spec is None:
        raise FormatError(f"{where}: unknown op {op!r}")
    _check_config(spec, config, where)
    _check_weights(spec, weights, where)
    if spec.shapes is not None:
        why = spec.shapes(config, weights)
        if why:
            shapes = {k: tuple(v.shape) for k, v in weights.items()}
            raise FormatError(f"{where}: {why} (weights {shapes})")
    lo, hi = spec.input_bounds
    if n_inputs is not None and (n_inputs < lo or (hi is not None and n_inputs > hi)):
        upto = "" if hi == lo else f" to {hi if hi is not None else 'any number of'}"
        raise FormatError(f"{where}: op {spec.op} takes {lo}{upto} inputs, got {n_inputs}")
    if n_outputs is not None and not 1 <= n_outputs <= len(spec.outputs):
        raise FormatError(f"{where}: op {spec.op} has at most {len(spec.outputs)} outputs ({', '.join(spec.outputs)})")
    return spec


def check_named(spec: OpSpec, names: Sequence[str], n_inputs: int, where: str) -> None:
    """A node's ``named_inputs`` against its op's named slots: every name declared
    (a per-input slot's index below ``n_inputs``), every required slot given."""
    for name in names:
        if spec.named_slot(name, n_inputs) is None:
            known = ", ".join(f"{k}_<k>" if d.per_input else k for k, d in spec.named_inputs.items()) or "none"
            raise FormatError(f"{where}: unknown named input {name!r} (op {spec.op} takes: {known})")
    missing = [k for k, d in spec.named_inputs.items() if d.required and not d.per_input and k not in names]
    if missing:
        raise FormatError(f"{where}: named_inputs lacks {', '.join(missing)}")


def call_keys(op: str, fn: Any) -> frozenset[str]:
    """The config keys an op function takes as keyword arguments (the rest only
    describe the node: ``units``, ``stateful``, ``gate_order``, ...)."""
    params = inspect.signature(fn).parameters
    return frozenset(k for k in SPECS[op].config if k in params)


def time_rule(op: str, config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    """How a node depends on the time axis of a rank-``rank`` timed first input."""
    return SPECS[op].time(config, weights, rank)


def check_output_shapes(
    where: str, declared: Sequence[Sequence[int | None]], arrays: Sequence[Any], *, free_axes: Sequence[int] = ()
) -> None:
    """F5: every non-null dimension a node declares must equal the computed one.

    ``free_axes``: axes not checked (axis 1 of a timed tensor while streaming or
    running in time chunks). Raises FormatError naming the node."""
    for k, (want, got) in enumerate(zip(declared, arrays)):
        shape = np.shape(got)
        ok = len(shape) == len(want) and all(
            w is None or w == g or (a in free_axes) for a, (w, g) in enumerate(zip(want, shape))
        )
        if not ok:
            raise FormatError(
                f"{where}: output {k} has shape {tuple(shape)}, but the bundle declares {tuple(want)} "
                "(declared dimensions are binding, FORMAT.md 2.3)"
            )


def param_count(op: str, weights: dict[str, Any]) -> int:
    """The number of trainable-or-not parameters a node's weights hold (as Keras counts
    them), from their shapes (``weights``: slot -> array or shape)."""
    if op not in SPECS:
        return 0
    total = 0
    for slot, w in weights.items():
        if slot in SPECS[op].weights:
            total += int(np.prod(np.shape(w) if not isinstance(w, (list, tuple)) else w, dtype=np.int64))
    return total


__all__ = [
    "AXIS_ACTIVATIONS",
    "EVERY_CALL",
    "FOLD",
    "INITIAL_STATE_RULES",
    "PER_STEP",
    "RECURRENT",
    "RECURRENT_FACTS",
    "RECURRENT_STATE_COUNT",
    "SPECS",
    "TIME_RULES",
    "UNFOLD",
    "WHILE_STATES_ZERO",
    "WHOLE_SEQUENCE",
    "Key",
    "Named",
    "OpSpec",
    "Recurrent",
    "Slot",
    "activation_params",
    "activation_shape",
    "activation_time",
    "call_keys",
    "check_activation",
    "check_named",
    "check_node",
    "check_output_shapes",
    "covers_time",
    "explicit_activation",
    "param_count",
    "time_rule",
]

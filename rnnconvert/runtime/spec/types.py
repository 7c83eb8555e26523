"""The vocabulary of op declarations: config keys, weight slots, time rules, ``OpSpec``.

A config key is declared by the JSON Schema fragment it must satisfy (a small
subset: integer / number / boolean / enum / const / array of those / activation),
so one declaration feeds both the runtime's load-time checks (:func:`check_value`)
and the schema generator (``python -m rnnconvert.schema.generate``).

The runtime imports numpy and the standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: How an op depends on the time axis (axis 1) of a timed input (FORMAT.md 7):
PER_STEP = "per_step"  # each timestep on its own: a chunk of steps in, the same steps out
RECURRENT = "recurrent"  # carries states forwards through time (a stream node)
WHOLE_SEQUENCE = "whole_sequence"  # mixes timesteps: needs the whole sequence at once
FOLD = "fold"  # FoldTime: batch and time axes folded into one
UNFOLD = "unfold"  # UnfoldTime: the inverse
TIME_RULES = (PER_STEP, RECURRENT, WHOLE_SEQUENCE, FOLD, UNFOLD)

#: (config, weights, rank of the first input) -> one of TIME_RULES
TimeRule = Callable[[dict[str, Any], dict[str, np.ndarray], int], str]
#: (config, weights) -> an error message, or None when the node's weights fit its config
ShapeRule = Callable[[dict[str, Any], dict[str, np.ndarray]], "str | None"]

ACTIVATION_REF = {"$ref": "#/$defs/activation"}


def constant(rule: str) -> TimeRule:
    def time_rule(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
        return rule

    time_rule.__doc__ = rule
    return time_rule


@dataclass(frozen=True)
class Key:
    """One config key: the JSON Schema it satisfies, and whether a node must carry it."""

    schema: dict[str, Any]
    required: bool = True
    since: str = "1.0.0"
    doc: str = ""
    #: The format version that removed the key (a migration rewrites it): the schema still
    #: accepts it in older documents, the runtime refuses it in a current one.
    until: str | None = None


@dataclass(frozen=True)
class Slot:
    """One weight slot (its shape rule is the op's ``shapes`` function)."""

    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Named:
    """One named input slot (node field ``named_inputs``, format 1.2): passed to the op
    function as the keyword argument of its name. ``per_input``: one slot per positional
    input, named ``<name>_<k>`` for input k (MaskedMerge's ``mask_0``, ``mask_1``, ...)."""

    required: bool = False
    per_input: bool = False
    #: The op function's keyword: the slot's name, or for a per-input slot a list with one
    #: entry per positional input (None where the node names none).
    keyword: str = ""
    doc: str = ""

    def kwarg(self, name: str) -> str:
        return self.keyword or name


@dataclass(frozen=True)
class Recurrent:
    """The facts of a recurrent op, declared once: its gates in the order their columns
    (or kernel's last axis blocks) appear, and how many states follow its output."""

    gate_order: tuple[str, ...]
    n_states: int

    @property
    def n_gates(self) -> int:
        return len(self.gate_order)


@dataclass(frozen=True)
class OpSpec:
    """Everything a bundle reader needs to know about one op, besides its math."""

    op: str
    since: str
    config: dict[str, Key]
    weights: dict[str, Slot] = field(default_factory=dict)
    inputs: tuple[str, ...] = ("x",)  # positional data inputs, by name
    variadic: bool = False  # the last input repeats (Merge, MaskedMerge)
    min_inputs: int | None = None  # bounds when they differ from len(inputs) (optional trailing inputs)
    max_inputs: int | None = None
    named_inputs: dict[str, Named] = field(default_factory=dict)  # inputs given by name (node field "named_inputs")
    #: Positional inputs older formats allowed after the declared ones (1.1's masks, which
    #: the 1.1 -> 1.2 migration turns into named inputs): the schema accepts them, the runtime does not.
    legacy_inputs: int = 0
    mask: bool = False  # takes a node "mask"
    initial_state: bool = False  # takes node "initial_state" refs
    outputs: tuple[str, ...] = ("y",)
    time: TimeRule = constant(WHOLE_SEQUENCE)
    shapes: ShapeRule | None = None
    recurrent: Recurrent | None = None
    doc: str = ""

    def named_slot(self, name: str, n_inputs: int) -> str | None:
        """The declared slot a node's named input ``name`` fills (``name`` itself, or a
        per-input slot ``<slot>_<k>`` with k < n_inputs), or None when it is not declared."""
        if name in self.named_inputs and not self.named_inputs[name].per_input:
            return name
        stem, _, k = name.rpartition("_")
        decl = self.named_inputs.get(stem)
        if decl is not None and decl.per_input and k.isdigit() and k == str(int(k)) and int(k) < n_inputs:
            return stem
        return None

    @property
    def input_bounds(self) -> tuple[int, int | None]:
        lo = len(self.inputs) if self.min_inputs is None else self.min_inputs
        hi = None if self.variadic else (len(self.inputs) if self.max_inputs is None else self.max_inputs)
        return lo, hi


# -- values against a Key's schema ----------------------------------------------------


#: Every integer in a config fits in 32 bits (a size or axis beyond is hostile, and NumPy
#: raises OverflowError on >= 2**63); a key's schema may bound it further.
INT_RANGE = (-(2**31), 2**31 - 1)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and INT_RANGE[0] <= v <= INT_RANGE[1]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_array(value: Any, schema: dict[str, Any]) -> str | None:
    if not isinstance(value, list):
        return "must be a list"
    if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
        return f"must have {schema.get('minItems', 0)} to {schema.get('maxItems', 'any number of')} items"
    items = schema.get("items")
    if not items:
        return None
    for v in value:
        why = check_value(v, items)
        if why:
            return f"has an item that {why}"
    return None


_TYPES: dict[str, Callable[[Any], bool]] = {
    "integer": _is_int,
    "number": _is_num,
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
}


def check_value(value: Any, schema: dict[str, Any]) -> str | None:
    """Why ``value`` does not satisfy ``schema`` (the subset keys use), or None.
    Activations (``$ref``) are checked by the caller."""
    if "$ref" in schema:
        return None
    if "const" in schema:
        return None if value == schema["const"] else f"must be {schema['const']!r}"
    if "enum" in schema:
        return (
            None
            if any(value == e and type(value) is type(e) for e in schema["enum"])
            else (f"must be one of {schema['enum']!r}")
        )
    kind = schema.get("type")
    if kind == "array":
        return _check_array(value, schema)
    if kind in _TYPES and not _TYPES[kind](value):
        if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return f"must be an integer in [{INT_RANGE[0]}, {INT_RANGE[1]}]"
        return f"must be {'an' if kind == 'integer' else 'a'} {kind}"
    if "minimum" in schema and value < schema["minimum"]:
        return f"must be >= {schema['minimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"must be <= {schema['maximum']}"
    return None

"""Declarations of the attention ops (FORMAT.md 5.38-5.39): ``EinsumDense`` and
``DotProductAttention``, and the strict grammar of an EinsumDense equation.

An equation is data, never code: it is matched against the three forms Keras's
``EinsumDense`` accepts (whole string, no spaces), with every letter checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ops import activation_time
from .types import ACTIVATION_REF, WHOLE_SEQUENCE, Key, Named, OpSpec, Slot

#: The forms Keras's EinsumDense accepts: no ellipsis, a leading one on input and output,
#: or a trailing one on input and output (after at least two letters).
_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."), "right"),
)
MAX_EQUATION = 128


class EquationError(ValueError):
    """An equation outside the grammar (the caller turns it into its own error type)."""


@dataclass(frozen=True)
class Equation:
    """A parsed ``x,w->y`` equation; ``ellipsis`` is None, "left" or "right"."""

    x: str
    w: str
    y: str
    ellipsis: str | None

    def x_axis_to_y(self, axis: int, rank: int) -> int | None:
        """Where axis ``axis`` of a rank-``rank`` input lands in the output, if it is a
        batch-like axis (carried through, not contracted with the kernel); else None."""
        n_ell = rank - len(self.x)
        if self.ellipsis == "left":
            if axis < n_ell:
                return axis
            letter = self.x[axis - n_ell]
            pos = self.y.find(letter)
            return None if pos < 0 or letter in self.w else n_ell + pos
        if self.ellipsis == "right" and axis >= len(self.x):
            return len(self.y) + axis - len(self.x)
        letter = self.x[axis] if axis < len(self.x) else ""
        pos = self.y.find(letter) if letter else -1
        return None if pos < 0 or letter in self.w else pos


def parse_equation(equation: Any) -> Equation:
    """The equation, checked: one of the three forms, no letter twice in one term,
    every output letter from the input or kernel, every kernel letter in the input
    or output. Raises EquationError saying why."""
    if not isinstance(equation, str) or len(equation) > MAX_EQUATION:
        raise EquationError(f"an EinsumDense equation is a string of at most {MAX_EQUATION} characters")
    for pattern, form in _FORMS:
        m = pattern.fullmatch(equation)
        if m:
            x, w, y = m.groups()
            return _checked(equation, x, w, y, form)
    raise EquationError(f"equation {equation!r} is not of the form 'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'")


def _checked(equation: str, x: str, w: str, y: str, ellipsis: str | None) -> Equation:
    for name, term in (("input", x), ("kernel", w), ("output", y)):
        if len(set(term)) != len(term):
            raise EquationError(f"equation {equation!r}: a letter repeats in the {name} term {term!r}")
    if set(y) - set(x) - set(w):
        raise EquationError(
            f"equation {equation!r}: output letters {sorted(set(y) - set(x) - set(w))} come from nowhere"
        )
    if set(w) - set(x) - set(y):
        raise EquationError(f"equation {equation!r}: kernel letters {sorted(set(w) - set(x) - set(y))} are unbound")
    return Equation(x, w, y, ellipsis)


def _einsum_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    try:
        eq = parse_equation(config["equation"])
    except EquationError as exc:
        return str(exc)
    if w["kernel"].ndim != len(eq.w):
        return f"EinsumDense kernel must have one axis per kernel letter ({eq.w!r})"
    bias = w.get("bias")
    if bias is not None and eq.ellipsis != "right" and bias.ndim > len(eq.y):
        return "EinsumDense bias has more axes than the output"
    return None


def _einsum_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    try:
        eq = parse_equation(config["equation"])
    except EquationError:
        return WHOLE_SEQUENCE
    if rank < 3 or eq.x_axis_to_y(1, rank) != 1 or eq.x_axis_to_y(0, rank) != 0:
        return WHOLE_SEQUENCE
    return activation_time(config["activation"], rank)


_BOOL = {"type": "boolean"}
_1_3 = "1.3.0"

ATTN_SPECS = [
    OpSpec(
        "EinsumDense",
        _1_3,
        {
            "equation": Key({"type": "string", "maxLength": MAX_EQUATION}, doc="x,kernel->y (FORMAT.md 5.38)"),
            "activation": Key(ACTIVATION_REF),
        },
        {"kernel": Slot(), "bias": Slot(required=False, doc="broadcast against y's trailing axes")},
        time=_einsum_time,
        shapes=_einsum_shapes,
    ),
    OpSpec(
        "DotProductAttention",
        _1_3,
        {
            "scale": Key({"type": "number"}, doc="multiplies the scores (as float32)"),
            "scale_query": Key(_BOOL, doc="true: the query is scaled before the product"),
            "masking": Key({"enum": ["add", "where", "where_zero"]}),
            "fill": Key({"type": "number"}, doc="the masked-score constant (as float32)"),
            "causal": Key(_BOOL),
            "window": Key({"type": "integer", "minimum": 1}, required=False, doc="keep |i - j| < window"),
            "attention_axes": Key(
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": 64},
                    "minItems": 1,
                    "maxItems": 64,
                }
            ),
        },
        inputs=("query", "key", "value"),
        named_inputs={
            "query_mask": Named(doc="(B, T) bool"),
            "value_mask": Named(doc="(B, S) bool"),
            "key_mask": Named(doc="(B, S) bool"),
            "attention_mask": Named(doc="(B, T, S) bool"),
        },
        outputs=("y", "scores"),
    ),
]


# -- output sizes before a node runs (runtime/estimate.py, issue 12 item 9) ------------------
# An EinsumDense output takes letters from the kernel (a small kernel can multiply a small
# input into a huge output); attention holds (B, N, T, S) scores however small its inputs.
_Shapes = Sequence[tuple[int, ...]]


def _einsum_size(c: dict[str, Any], ins: _Shapes, rank: int) -> dict[int, int]:
    eq, x = parse_equation(c["equation"]), ins[0]
    n_ell = len(x) - len(eq.x)
    if n_ell < 0 or (eq.ellipsis is None and n_ell):
        return {}
    off = n_ell if eq.ellipsis == "left" else 0
    sizes = dict(zip(eq.w, c["weight_shapes"]["kernel"]))
    sizes.update({ch: x[off + i] for i, ch in enumerate(eq.x)})
    y = [sizes[ch] for ch in eq.y]
    if eq.ellipsis == "left":
        y = [*x[:n_ell], *y]
    elif eq.ellipsis == "right":
        y = [*y, *x[len(eq.x) :]]
    return dict(enumerate(y))


def _attention_y(c: dict[str, Any], ins: _Shapes, rank: int) -> dict[int, int]:
    q, v = ins[0], ins[2]
    return dict(enumerate((*q[:-1], v[-1])))


def _attention_scores(c: dict[str, Any], ins: _Shapes, rank: int) -> dict[int, int]:
    """(batch dims, N, T dims, S dims): query and key axes per attention axis."""
    q, k, axes = ins[0], ins[1], [int(a) for a in c["attention_axes"]]
    batch = [0] + [i for i in range(1, len(q) - 2) if i not in axes]
    return dict(enumerate((*(q[i] for i in batch), q[-2], *(q[a] for a in axes), *(k[a] for a in axes))))


#: op -> (config, input shapes, output rank) -> {axis: size} of output 0
ATTN_SIZE_RULES = {"EinsumDense": _einsum_size, "DotProductAttention": _attention_y}
#: op -> output index -> rule, for outputs after the first
ATTN_MORE_OUTPUTS = {"DotProductAttention": {1: _attention_scores}}


def _attention_work(c: dict[str, Any], ins: _Shapes, rank: int) -> dict[int, int]:
    """The scores before their softmax, and with grouped heads (N query heads over M key
    heads) the keys and values repeated to N heads: {0: their elements}."""
    scores = _attention_scores(c, ins, rank)
    total = int(np.prod(list(scores.values()), dtype=object))
    q, k, v = ins[0], ins[1], ins[2]
    if q[-2] != k[-2]:
        total += int(np.prod(k[:-2], dtype=object)) * q[-2] * (k[-1] + v[-1])  # (B, S dims) x N x (H + Hv)
    return {0: total}


#: op -> rule of its temporaries ({0: elements}): the scores before their softmax, repeated heads
ATTN_WORKSPACE = {"DotProductAttention": _attention_work}
#: ops whose rule reads its weights' shapes (config["weight_shapes"])
READS_WEIGHTS = frozenset({"EinsumDense"})

__all__ = ["ATTN_SPECS", "Equation", "EquationError", "parse_equation"]

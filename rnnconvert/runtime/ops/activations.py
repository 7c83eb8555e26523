"""Element-wise (and last-axis) activation functions, by the bundle's activation spec.

An activation in a bundle is an object ``{"type": NAME, ...params}``; every
parameter the math needs is spelled out (``hard_sigmoid`` carries its slope and
offset, because Keras 2 and Keras 3 disagree on them). ``ACTIVATIONS`` maps each
type to a pure function ``f(x, **params) -> ndarray``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import FormatError

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a large negative number overflows to inf and the quotient to 0, which
    # is the right limit; silence the warning rather than branch.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _softplus(x: np.ndarray) -> np.ndarray:
    # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 evaluated in float64: |error| < 1.5e-7, far below
    # float32 parity tolerance. NumPy has no vectorised erf and we add no SciPy.
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    y = 1.0 - poly * np.exp(-z * z)
    return (np.sign(x) * y).astype(x.dtype)


def linear(x: np.ndarray) -> np.ndarray:
    return x


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return _sigmoid(x)


def hard_sigmoid(x: np.ndarray, *, slope: float, offset: float) -> np.ndarray:
    """``clip(slope * x + offset, 0, 1)``; Keras <= 2: slope 0.2, Keras 3: slope 1/6."""
    return np.clip(x * x.dtype.type(slope) + x.dtype.type(offset), 0.0, 1.0).astype(x.dtype, copy=False)


def relu(
    x: np.ndarray,
    *,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> np.ndarray:
    """Keras's generalised relu, term for term as Keras 3 computes it: the positive
    part is ``x`` where ``x > threshold`` (plain ``max(x, 0)`` when threshold is 0),
    clipped to ``[0, max_value]`` when ``max_value`` is set, minus
    ``negative_slope * max(threshold - x, 0)``."""
    if threshold != 0.0:
        out = np.where(x > x.dtype.type(threshold), x, 0)
    else:
        out = np.maximum(x, 0)
    if max_value is not None:
        out = np.clip(out, 0.0, x.dtype.type(max_value))
    if negative_slope != 0.0:
        out = out - x.dtype.type(negative_slope) * np.maximum(x.dtype.type(threshold) - x, 0)
    return out.astype(x.dtype, copy=False)


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 6.0).astype(x.dtype, copy=False)


def leaky_relu(x: np.ndarray, *, negative_slope: float) -> np.ndarray:
    return np.where(x >= 0, x, x * x.dtype.type(negative_slope)).astype(x.dtype, copy=False)


def elu(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    with np.errstate(over="ignore"):
        neg = x.dtype.type(alpha) * np.expm1(np.minimum(x, 0))
    return np.where(x > 0, x, neg).astype(x.dtype, copy=False)


def selu(x: np.ndarray) -> np.ndarray:
    neg = x.dtype.type(_SELU_ALPHA) * np.expm1(np.minimum(x, 0))
    return (x.dtype.type(_SELU_SCALE) * np.where(x > 0, x, neg)).astype(x.dtype, copy=False)


def celu(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    a = x.dtype.type(alpha)
    return (np.maximum(x, 0) + np.minimum(0, a * np.expm1(np.minimum(x, 0) / a))).astype(x.dtype, copy=False)


def gelu(x: np.ndarray, *, approximate: bool = False) -> np.ndarray:
    if approximate:
        c = x.dtype.type(np.sqrt(2.0 / np.pi))
        inner = c * (x + x.dtype.type(0.044715) * x * x * x)
        return (x.dtype.type(0.5) * x * (1.0 + np.tanh(inner))).astype(x.dtype, copy=False)
    return (x.dtype.type(0.5) * x * (1.0 + _erf(x / x.dtype.type(np.sqrt(2.0))))).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    return _softplus(x).astype(x.dtype, copy=False)


def softsign(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.abs(x))


def swish(x: np.ndarray) -> np.ndarray:
    """Also called silu: ``x * sigmoid(x)``."""
    return x * _sigmoid(x)


def hard_swish(x: np.ndarray, *, slope: float, offset: float) -> np.ndarray:
    """``x * hard_sigmoid(x)`` (Keras 3's hard_silu / hard_swish: slope 1/6)."""
    return x * hard_sigmoid(x, slope=slope, offset=offset)


def mish(x: np.ndarray) -> np.ndarray:
    return (x * np.tanh(_softplus(x))).astype(x.dtype, copy=False)


def exponential(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(x)


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    return (-_softplus(-x)).astype(x.dtype, copy=False)


def hard_tanh(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -1.0, 1.0).astype(x.dtype, copy=False)


def tanh_shrink(x: np.ndarray) -> np.ndarray:
    return x - np.tanh(x)


def soft_shrink(x: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    t = x.dtype.type(threshold)
    return np.where(x > t, x - t, np.where(x < -t, x + t, 0)).astype(x.dtype, copy=False)


def hard_shrink(x: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    return np.where(np.abs(x) > x.dtype.type(threshold), x, 0).astype(x.dtype, copy=False)


def sparse_plus(x: np.ndarray) -> np.ndarray:
    mid = x.dtype.type(0.25) * (x + 1.0) ** 2
    return np.where(x <= -1.0, 0, np.where(x >= 1.0, x, mid)).astype(x.dtype, copy=False)


def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x.dtype.type(0.5) * (x + 1.0), 0.0, 1.0).astype(x.dtype, copy=False)


def squareplus(x: np.ndarray, *, b: float = 4.0) -> np.ndarray:
    return (x.dtype.type(0.5) * (x + np.sqrt(x * x + x.dtype.type(b)))).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, *, axis: int | list[int] = -1) -> np.ndarray:
    ax = tuple(axis) if isinstance(axis, list) else axis
    with np.errstate(invalid="ignore"):
        e = np.exp(x - np.max(x, axis=ax, keepdims=True))
        return e / np.sum(e, axis=ax, keepdims=True)


def log_softmax(x: np.ndarray, *, axis: int | list[int] = -1) -> np.ndarray:
    ax = tuple(axis) if isinstance(axis, list) else axis
    shifted = x - np.max(x, axis=ax, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=ax, keepdims=True))


def sparsemax(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """Keras 3's sparsemax, formula for formula (all its backends agree).

    With ``s`` = x sorted descending along ``axis``, ``c`` = cumsum(s) and
    ``r`` = 1..n: support = ``s - (c - 1) / r > 0``, ``k`` = |support|,
    ``tau = (sum(c over the support) - 1) / k``, output = ``max(x - tau, 0)``.
    Note Keras sums the cumulative sums over the support where the textbook
    projection (Martins & Astudillo, 2016) takes ``c[k-1]``; we reproduce Keras.
    """
    z = np.moveaxis(x, axis, -1)
    s = -np.sort(-z, axis=-1)  # descending
    c = np.cumsum(s, axis=-1)
    r = np.arange(1, z.shape[-1] + 1, dtype=x.dtype)
    support = s - (c - 1.0) / r > 0
    k = np.sum(support, axis=-1, keepdims=True).astype(x.dtype)
    tau = (np.sum(np.where(support, c, 0.0), axis=-1, keepdims=True) - 1.0) / k
    out = np.maximum(z - tau, 0)
    return np.moveaxis(out, -1, axis).astype(x.dtype, copy=False)


def glu(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    a, b = np.split(x, 2, axis=axis)
    return a * _sigmoid(b)


ACTIVATIONS: dict[str, Callable[..., np.ndarray]] = {
    "linear": linear,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "relu": relu,
    "relu6": relu6,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "celu": celu,
    "gelu": gelu,
    "softplus": softplus,
    "softsign": softsign,
    "swish": swish,
    "hard_swish": hard_swish,
    "mish": mish,
    "exponential": exponential,
    "log_sigmoid": log_sigmoid,
    "hard_tanh": hard_tanh,
    "tanh_shrink": tanh_shrink,
    "soft_shrink": soft_shrink,
    "hard_shrink": hard_shrink,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "squareplus": squareplus,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "sparsemax": sparsemax,
    "glu": glu,
}


#: Activations that mix values along an axis; a recurrent op must apply these to each gate separately.
AXIS_ACTIVATIONS = frozenset({"softmax", "log_softmax", "sparsemax", "glu"})


def is_elementwise(spec: dict[str, Any]) -> bool:
    return spec.get("type") not in AXIS_ACTIVATIONS


def activation_fn(spec: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Bind an activation spec ``{"type": ..., **params}`` to a one-argument function."""
    kind = spec.get("type")
    fn = ACTIVATIONS.get(kind) if isinstance(kind, str) else None
    if fn is None:
        raise FormatError(f"unknown activation type {kind!r}; this runtime knows: {', '.join(sorted(ACTIVATIONS))}")
    params = {k: v for k, v in spec.items() if k != "type"}
    if kind == "linear":
        return linear
    if not params:
        return fn
    return lambda x: fn(x, **params)


def apply_activation(x: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    return activation_fn(spec)(x)

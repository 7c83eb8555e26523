"""Converters for ``EinsumDense``, ``MultiHeadAttention`` and ``GroupedQueryAttention``.

MultiHeadAttention and GroupedQueryAttention become the nodes Keras computes with: an
EinsumDense projection each for query, key and value (and the sigmoid gate of
``use_gate``), one DotProductAttention node, and the EinsumDense output projection.
Which softmax masking Keras applies depends on the era and, in Keras 3, on the code
path the call takes (FORMAT.md 5.39): the converter records it in the node's config.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from ...runtime.spec.attn import EquationError, parse_equation
from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import activation, check_dtype_policy

_LETTERS = string.ascii_lowercase
#: tf.where fill of Keras 3's ops.dot_product_attention (TensorFlow backend, float32).
K3_FUSED_FILL = 3.38953e38 * -0.7
FILL = -1.0e9


def flag(call: LayerCall, key: str) -> bool:
    value = call.kwargs.get(key, False)
    if isinstance(value, Tensor):
        raise Unsupported(f"{key} given as a tensor")
    return bool(value)


def _einsum_out_shape(eq: Any, x: Tensor, kernel: np.ndarray) -> tuple[int | None, ...]:
    n_ell = x.rank - len(eq.x)
    off = n_ell if eq.ellipsis == "left" else 0
    sizes: dict[str, int | None] = {c: x.shape[off + i] for i, c in enumerate(eq.x)}
    sizes.update({c: int(n) for c, n in zip(eq.w, kernel.shape)})
    body = tuple(sizes[c] for c in eq.y)
    if eq.ellipsis == "left":
        return tuple(x.shape[:n_ell]) + body
    if eq.ellipsis == "right":
        return body + tuple(x.shape[len(eq.x) :])
    return body


def einsum_node(
    b: GraphBuilder,
    call: LayerCall,
    name: str,
    x: Tensor,
    equation: str,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    act: dict[str, Any],
    prefix: str,
) -> Tensor:
    eq = parse_equation(equation)
    if x.rank < len(eq.x) or (eq.ellipsis is None and x.rank != len(eq.x)):
        raise Unsupported(f"equation {equation!r} does not fit an input of shape {x.shape}")
    weights = {"kernel": kernel} if bias is None else {"kernel": kernel, "bias": bias}
    (y,) = b.node(
        "EinsumDense",
        name=name,
        inputs=[x],
        config={"equation": equation, "activation": act},
        weights=weights,
        weight_prefix=prefix,
        outputs=[(_einsum_out_shape(eq, x, kernel), "float32")],
        layer=call,
    )
    return y


def convert_einsum_dense(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    if len(call.inputs) != 1:
        raise Unsupported(f"expects one input, got {len(call.inputs)}")
    for key in ("quantization_config", "lora_rank"):
        if call.opt(key) not in (None, 0):
            raise Unsupported(f"{key}={call.opt(key)!r}")
    if call.opt("quantization_mode") is not None:
        raise Unsupported(f"quantization_mode={call.opt('quantization_mode')!r}")
    try:
        eq = parse_equation(call.opt("equation"))
    except EquationError as exc:
        raise Unsupported(str(exc)) from None
    bias_axes = call.opt("bias_axes")
    if bias_axes is not None and (not isinstance(bias_axes, str) or set(bias_axes) - set(eq.y)):
        raise Unsupported(f"bias_axes {bias_axes!r} must be letters of the output term {eq.y!r}")
    n = len(call.weights)
    if n != (2 if bias_axes else 1):
        raise Unsupported(f"expected {'kernel and bias' if bias_axes else 'a kernel'}, the file has {n} array(s)")
    kernel = np.asarray(call.weights[0], dtype=np.float32)
    if kernel.ndim != len(eq.w):
        raise Unsupported(f"kernel of shape {kernel.shape} for kernel term {eq.w!r}")
    bias = np.asarray(call.weights[1], dtype=np.float32) if bias_axes else None
    x = call.inputs[0]
    y = einsum_node(b, call, call.name, x, eq_str(eq), kernel, bias, activation(call), call.name)
    return [y]  # EinsumDense does not support masking: none propagates


def eq_str(eq: Any) -> str:
    ell = "..."
    if eq.ellipsis == "left":
        return f"{ell}{eq.x},{eq.w}->{ell}{eq.y}"
    if eq.ellipsis == "right":
        return f"{eq.x}{ell},{eq.w}->{eq.y}{ell}"
    return f"{eq.x},{eq.w}->{eq.y}"


def proj_equation(free: int, bound: int, out: int) -> str:
    """Keras's projection equation: ``free`` batch-like axes, ``bound`` contracted, ``out`` new."""
    x = _LETTERS[: free + bound]
    w = _LETTERS[free : free + bound] + _LETTERS[free + bound : free + bound + out]
    y = _LETTERS[:free] + _LETTERS[free + bound : free + bound + out]
    return f"{x},{w}->{y}"


ATTN_CONVERTERS = {"EinsumDense": convert_einsum_dense}

"""Converters for BatchNormalization, LayerNormalization and the activation layers
(ReLU, LeakyReLU, PReLU, ELU, Softmax)."""

from __future__ import annotations

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import expect_weights, one_input


def _axes(call: LayerCall, x: Tensor, default: int = -1) -> list[int]:
    axis = call.opt("axis", default)
    axes = [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    for a in axes:
        if x.shape[a] is None:
            raise Unsupported(f"axis {a} of input {x.shape} must be known")
    return axes


def convert_batch_normalization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    axes = _axes(call, x)
    if len(axes) != 1:
        raise Unsupported("BatchNormalization over several axes")
    if call.opt("renorm", False):
        raise Unsupported("renorm=True")
    return _normalization(
        call, b, "BatchNormalization", x, axes, (x.shape[axes[0]],), ["moving_mean", "moving_variance"]
    )


def convert_layer_normalization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    axes = _axes(call, x)
    if call.opt("rms_scaling", False):
        raise Unsupported("rms_scaling=True")
    return _normalization(call, b, "LayerNormalization", x, axes, tuple(x.shape[a] for a in axes), [])


def _normalization(
    call: LayerCall, b: GraphBuilder, op: str, x: Tensor, axes: list[int], shape: tuple, stats: list[str]
) -> list[Tensor]:
    """Both normalizations store [gamma if scale][beta if center] + statistics, all of ``shape``."""
    scale, center = bool(call.opt("scale", True)), bool(call.opt("center", True))
    names = (["gamma"] if scale else []) + (["beta"] if center else []) + stats
    arrays = expect_weights(call, [shape] * len(names))
    outs = b.node(
        op,
        name=call.name,
        inputs=[x],
        config={"axis": axes, "epsilon": call.float_opt("epsilon", 1e-3)},
        weights=dict(zip(names, arrays)),
        outputs=[(x.shape, "float32")],
        layer=call,
        output_masks=[x.mask],
    )
    return outs


def _activation_node(call: LayerCall, b: GraphBuilder, spec: dict) -> list[Tensor]:
    x = one_input(call)
    outs = b.node(
        "Activation",
        name=call.name,
        inputs=[x],
        config={"activation": spec},
        outputs=[(x.shape, "float32")],
        layer=call,
        output_masks=[x.mask],
    )
    return outs


def _num(value, default: float) -> float:
    return default if value is None else float(value)


def convert_relu_layer(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    max_value = call.opt("max_value")
    spec = {
        "type": "relu",
        "negative_slope": _num(call.opt("negative_slope"), 0.0),
        "max_value": None if max_value is None else float(max_value),
        "threshold": _num(call.opt("threshold"), 0.0),
    }
    return _activation_node(call, b, spec)


def convert_leaky_relu_layer(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    slope = call.opt("negative_slope", call.opt("alpha"))  # Keras 3 / Keras 2 name
    return _activation_node(
        call, b, {"type": "leaky_relu", "negative_slope": _num(slope, call.era.leaky_relu_slope_default)}
    )


def convert_elu_layer(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _activation_node(call, b, {"type": "elu", "alpha": _num(call.opt("alpha"), 1.0)})


def convert_softmax_layer(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    if call.call_mask(0) is not None:
        # Keras pushes masked entries to -1e9 before the softmax (a mask shaped like the
        # scores); not converted yet, so refused rather than ignored.
        raise Unsupported("a Softmax layer given a mask is not supported")
    axis = call.opt("axis", -1)
    return _activation_node(
        call, b, {"type": "softmax", "axis": list(axis) if isinstance(axis, (list, tuple)) else int(axis)}
    )


def convert_prelu(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    shared = call.opt("shared_axes") or []
    # Keras 1.2 writes [null] for "no shared axes".
    shared = [int(a) for a in (shared if isinstance(shared, (list, tuple)) else [shared]) if a is not None]
    shape = tuple(1 if (i + 1) in shared else d for i, d in enumerate(x.shape[1:]))
    if any(d is None for d in shape):
        raise Unsupported(f"PReLU on input {x.shape} needs known non-shared dimensions")
    (alpha,) = expect_weights(call, [shape])
    outs = b.node(
        "PReLU",
        name=call.name,
        inputs=[x],
        config={},
        weights={"alpha": alpha},
        outputs=[(x.shape, "float32")],
        layer=call,
        output_masks=[x.mask],
    )
    return outs

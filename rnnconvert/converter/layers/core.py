"""Converters for core layers: Dense, Activation, Embedding, Masking and inference no-ops."""

from __future__ import annotations

from ...runtime.spec import activation_shape
from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import activation, check_dtype_policy, expect_weights, one_input, passthrough_mask


def convert_dense(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    x = one_input(call)
    units = call.int_opt("units", call.opt("output_dim", 0))
    use_bias = bool(call.opt("use_bias", call.opt("bias", True)))
    if call.opt("lora_rank"):
        raise Unsupported("lora_rank: LoRA-adapted Dense layers are not converted")
    if call.opt("quantization_config"):
        raise Unsupported("quantization_config: quantized Dense layers are not converted")
    if x.rank < 2 or x.shape[-1] is None:
        raise Unsupported(f"input shape {x.shape}: the last dimension must be known")
    d = x.shape[-1]
    shapes = [(d, units)] + ([(units,)] if use_bias else [])
    arrays = expect_weights(call, shapes)
    weights = {"kernel": arrays[0]}
    if use_bias:
        weights["bias"] = arrays[1]
    act = activation(call)
    outs = b.node(
        "Dense",
        name=call.name,
        inputs=[x],
        config={"units": units, "activation": act, "use_bias": use_bias},
        weights=weights,
        outputs=[(activation_shape(act, (*x.shape[:-1], units)), "float32")],
        layer=call,
        output_masks=[x.mask],
    )
    return outs


def convert_activation(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    spec = activation(call)
    shape = activation_shape(spec, x.shape)
    outs = b.node(
        "Activation",
        name=call.name,
        inputs=[x],
        config={"activation": spec},
        outputs=[(shape, "float32")],
        layer=call,
        output_masks=[x.mask],
    )
    return outs


def convert_identity(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Dropout and friends: identity at inference; no node, the input flows on (mask included)."""
    return [one_input(call)]


def convert_embedding(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    x = one_input(call)
    input_dim = call.int_opt("input_dim")
    output_dim = call.int_opt("output_dim")
    if call.opt("quantization_config"):
        raise Unsupported("quantization_config: quantized embeddings are not converted")
    (table,) = expect_weights(call, [(input_dim, output_dim)])
    outs = b.node(
        "Embedding",
        name=call.name,
        inputs=[x],
        config={"input_dim": input_dim, "output_dim": output_dim},
        weights={"embeddings": table},
        outputs=[((*x.shape, output_dim), "float32")],
        layer=call,
    )
    mask = x.mask
    if call.opt("mask_zero", False):
        (mask,) = b.node(
            "NotEqualMask",
            name=f"{call.name}/mask",
            inputs=[x],
            config={"value": 0},
            outputs=[(x.shape, "bool")],
            layer=call,
        )
    return passthrough_mask(outs, mask)


def convert_masking(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    value = call.float_opt("mask_value", 0.0)
    data, mask = b.node(
        "Masking",
        name=call.name,
        inputs=[x],
        config={"mask_value": value},
        outputs=[(x.shape, "float32"), (x.shape[:-1], "bool")],
        layer=call,
    )
    return [data.with_mask(mask)]

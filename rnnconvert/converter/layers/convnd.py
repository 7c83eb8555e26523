"""Converters for Conv3D, the transposed convolutions (1-D, 2-D, 3-D) and the depthwise and
separable convolutions (1-D, 2-D), Keras 3 and tf_keras / Keras 2 names (FORMAT.md 5.26-5.29).

Depthwise convolutions are grouped convolutions (one group per input channel, so the
(K..., C_in, M) kernel is the (K..., 1, C_in * M) grouped kernel, output channel c * M + m
either way); a separable convolution is that depthwise node followed by a 1 x 1 (pointwise)
node carrying the bias and the activation. Transposed kernels are stored (K..., C_in, filters),
output channels last like every other kernel (Keras keeps them (K..., filters, C_in))."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import activation, check_dtype_policy, expect_weights, one_input
from .conv import _out_len
from .conv2d import _positive

_LINEAR: dict[str, Any] = {"type": "linear"}


def _tuple(value, n: int, key: str) -> list[int]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise Unsupported(f"{key}={value!r}: expected {n} values")
        return [_positive(v, key) for v in value]
    return [_positive(value, key)] * n


def _format(call: LayerCall, n: int) -> str:
    if call.opt("nb_filter") is not None or call.opt("dim_ordering") is not None:
        raise Unsupported("Keras 1 keys (nb_filter, dim_ordering) in a layer not read as Keras 1")
    fmt = call.opt("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise Unsupported(f"data_format={fmt!r}")
    if n == 1 and fmt != "channels_last":
        raise Unsupported(f"data_format={fmt!r}: 1-D convolutions are converted channels_last only")
    return fmt


def _padding(call: LayerCall, allowed: tuple[str, ...] = ("valid", "same")) -> str:
    padding = str(call.opt("padding", "valid")).lower()
    if padding not in allowed:
        raise Unsupported(f"padding={padding!r}: only {', '.join(allowed)} are converted")
    return padding


def _input(call: LayerCall, n: int, fmt: str) -> tuple[Tensor, list[int | None], int]:
    """The input, its spatial sizes and its (known) channel count."""
    x = one_input(call)
    if x.rank != n + 2:
        raise Unsupported(f"input shape {x.shape}: {call.class_name} takes (batch, {n} spatial axes, channels)")
    sizes, channels = (list(x.shape[2:]), x.shape[1]) if fmt == "channels_first" else (list(x.shape[1:-1]), x.shape[-1])
    if channels is None:
        raise Unsupported(f"input shape {x.shape}: the channel axis must be known")
    return x, sizes, channels


def _shape(x: Tensor, fmt: str, sizes: list[int | None], channels: int) -> tuple[int | None, ...]:
    return (x.shape[0], channels, *sizes) if fmt == "channels_first" else (x.shape[0], *sizes, channels)


def _conv_node(
    b: GraphBuilder,
    call: LayerCall,
    x: Tensor,
    n: int,
    *,
    name: str,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    geometry: tuple[list[int], list[int], str],
    groups: int,
    fmt: str,
    act: dict[str, Any],
    prefix: str | None = None,
) -> list[Tensor]:
    """One Conv1D / Conv2D / Conv3D node (kernel (*K, C_in / groups, filters))."""
    strides, dilation, padding = geometry
    sizes = list(x.shape[2:]) if fmt == "channels_first" else list(x.shape[1:-1])
    filters = int(kernel.shape[-1])
    out = [_out_len(sizes[a], kernel.shape[a], strides[a], dilation[a], padding) for a in range(n)]
    config: dict[str, Any] = {"filters": filters}
    if n == 1:
        config.update(strides=strides[0], padding=padding, dilation_rate=dilation[0])
    else:
        config.update(strides=strides, padding=padding, dilation_rate=dilation, groups=groups, data_format=fmt)
    config.update(activation=act, use_bias=bias is not None)
    if n == 1 and groups != 1:
        config["groups"] = groups
    return b.node(
        {1: "Conv1D", 2: "Conv2D", 3: "Conv3D"}[n],
        name=name,
        inputs=[x],
        config=config,
        weights={"kernel": kernel, **({"bias": bias} if bias is not None else {})},
        weight_prefix=prefix,
        outputs=[(_shape(x, fmt, out, filters), "float32")],
        layer=call,
    )


def _geometry(call: LayerCall, n: int) -> tuple[list[int], list[int], list[int], str]:
    ksize = _tuple(call.opt("kernel_size"), n, "kernel_size")
    strides = _tuple(call.opt("strides", 1), n, "strides")
    dilation = _tuple(call.opt("dilation_rate", 1), n, "dilation_rate")
    padding = _padding(call, ("valid", "same", "causal") if n == 1 else ("valid", "same"))
    return ksize, strides, dilation, padding


def convert_conv3d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    fmt = _format(call, 3)
    x, _, c_in = _input(call, 3, fmt)
    filters = _positive(call.opt("filters"), "filters")
    ksize, strides, dilation, padding = _geometry(call, 3)
    groups = _positive(1 if call.opt("groups") is None else call.opt("groups"), "groups")
    if c_in % groups or filters % groups:
        raise Unsupported(f"groups={groups} must divide the input channels ({c_in}) and filters ({filters})")
    use_bias = bool(call.opt("use_bias", True))
    arrays = expect_weights(call, [(*ksize, c_in // groups, filters)] + ([(filters,)] if use_bias else []))
    return _conv_node(
        b,
        call,
        x,
        3,
        name=call.name,
        kernel=arrays[0],
        bias=arrays[1] if use_bias else None,
        geometry=(strides, dilation, padding),
        groups=groups,
        fmt=fmt,
        act=activation(call),
    )


def _transpose(call: LayerCall, b: GraphBuilder, n: int) -> list[Tensor]:
    check_dtype_policy(call)
    fmt = _format(call, n)
    x, sizes, c_in = _input(call, n, fmt)
    filters = _positive(call.opt("filters"), "filters")
    ksize, strides, dilation, padding = _geometry(call, n)
    if call.opt("groups") not in (None, 1):
        raise Unsupported(f"groups={call.opt('groups')!r} in a transposed convolution")
    given = call.opt("output_padding")
    spans = [(ksize[a] - 1) * dilation[a] + 1 for a in range(n)]
    base = [spans[a] if padding == "valid" else spans[a] % 2 for a in range(n)]
    if given is None and call.opt("output_shape") is not None:
        out_pad = _keras1_output_padding(call.opt("output_shape"), fmt, sizes, strides, base, padding)
    elif given is None:
        # Keras's lengths without output_padding, as the one formula's output_padding
        out_pad = [max(sp, s) - sp if padding == "valid" else s - sp % 2 for sp, s in zip(spans, strides)]
    else:
        out_pad = [int(v) for v in (given if isinstance(given, (list, tuple)) else [given] * n)]
        if len(out_pad) != n or any(p < 0 for p in out_pad):
            raise Unsupported(f"output_padding={given!r}: expected {n} non-negative values")
    use_bias = bool(call.opt("use_bias", True))
    arrays = expect_weights(call, [(*ksize, filters, c_in)] + ([(filters,)] if use_bias else []))
    kernel = np.ascontiguousarray(np.swapaxes(arrays[0], -1, -2))  # (*K, C_in, filters)
    out = [None if s is None else (s - 1) * strides[a] + base[a] + out_pad[a] for a, s in enumerate(sizes)]
    return b.node(
        "ConvTranspose",
        name=call.name,
        inputs=[x],
        config={
            "filters": filters,
            "kernel_size": ksize,
            "strides": strides,
            "padding": padding,
            "output_padding": out_pad,
            "dilation_rate": dilation,
            "data_format": fmt,
            "activation": activation(call),
            "use_bias": use_bias,
        },
        weights={"kernel": kernel, **({"bias": arrays[1]} if use_bias else {})},
        outputs=[(_shape(x, fmt, out, filters), "float32")],
        layer=call,
    )


def _keras1_output_padding(
    shape, fmt: str, sizes: list, strides: list[int], base: list[int], padding: str
) -> list[int]:
    """Keras 1 ``Deconvolution2D(output_shape=...)``: the output padding that gives that shape.
    TensorFlow accepted a shape O whose forward convolution gives back the input length n:
    (O - k_eff) // s + 1 == n (valid), ceil(O / s) == n (same)."""
    if not isinstance(shape, (list, tuple)) or len(shape) != len(sizes) + 2:
        raise Unsupported(f"output_shape={shape!r}: expected (batch, ...) of rank {len(sizes) + 2}")
    wanted = list(shape[2:]) if fmt == "channels_first" else list(shape[1:-1])
    if any(s is None for s in sizes) or any(not isinstance(o, int) for o in wanted):
        raise Unsupported(f"output_shape={shape!r} with input sizes {sizes}: both must be known")
    pads = [o - ((n - 1) * s + b) for o, n, s, b in zip(wanted, sizes, strides, base)]
    if padding == "valid":
        ok = [0 <= p < s for p, s in zip(pads, strides)]
    else:
        ok = [1 - b <= p <= s - b for p, s, b in zip(pads, strides, base)]
    if not all(ok):
        raise Unsupported(f"output_shape={shape!r} does not fit input sizes {sizes} and strides {strides}")
    return pads


def _depthwise(call: LayerCall, b: GraphBuilder, n: int, separable: bool) -> list[Tensor]:
    check_dtype_policy(call)
    fmt = _format(call, n)
    x, _, c_in = _input(call, n, fmt)
    ksize, strides, dilation, padding = _geometry(call, n)
    mult = _positive(call.opt("depth_multiplier", 1), "depth_multiplier")
    use_bias = bool(call.opt("use_bias", True))
    shapes: list[tuple[int, ...]] = [(*ksize, c_in, mult)]
    filters = c_in * mult
    if separable:
        filters = _positive(call.opt("filters"), "filters")
        shapes.append((*([1] * n), c_in * mult, filters))
    arrays = expect_weights(call, shapes + ([(filters,)] if use_bias else []))
    bias = arrays[-1] if use_bias else None
    depthwise = arrays[0].reshape(*ksize, 1, c_in * mult)  # channel c, multiplier m -> group c, output c*M + m
    geometry = (strides, dilation, padding)
    if not separable:
        return _conv_node(
            b,
            call,
            x,
            n,
            name=call.name,
            kernel=depthwise,
            bias=bias,
            act=activation(call),
            geometry=geometry,
            groups=c_in,
            fmt=fmt,
        )
    (h,) = _conv_node(
        b,
        call,
        x,
        n,
        name=f"{call.name}/depthwise",
        kernel=depthwise,
        bias=None,
        geometry=geometry,
        groups=c_in,
        fmt=fmt,
        act=_LINEAR,
        prefix=f"{call.name}/depthwise",
    )
    return _conv_node(
        b,
        call,
        h,
        n,
        name=call.name,
        kernel=arrays[1],
        bias=bias,
        geometry=([1] * n, [1] * n, "valid"),
        groups=1,
        fmt=fmt,
        act=activation(call),
        prefix=f"{call.name}/pointwise",
    )


def convert_conv1d_transpose(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _transpose(call, b, 1)


def convert_conv2d_transpose(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _transpose(call, b, 2)


def convert_conv3d_transpose(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _transpose(call, b, 3)


def convert_depthwise_conv1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _depthwise(call, b, 1, separable=False)


def convert_depthwise_conv2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _depthwise(call, b, 2, separable=False)


def convert_separable_conv1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _depthwise(call, b, 1, separable=True)


def convert_separable_conv2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _depthwise(call, b, 2, separable=True)


#: Keras 3 and tf_keras / Keras 2 class names (aliases serialise under either name).
CONV_CONVERTERS = {
    "Conv3D": convert_conv3d,
    "Convolution3D": convert_conv3d,
    "Conv1DTranspose": convert_conv1d_transpose,
    "Convolution1DTranspose": convert_conv1d_transpose,
    "Conv2DTranspose": convert_conv2d_transpose,
    "Convolution2DTranspose": convert_conv2d_transpose,
    "Deconvolution2D": convert_conv2d_transpose,
    "Conv3DTranspose": convert_conv3d_transpose,
    "Convolution3DTranspose": convert_conv3d_transpose,
    "Deconvolution3D": convert_conv3d_transpose,
    "DepthwiseConv1D": convert_depthwise_conv1d,
    "DepthwiseConv2D": convert_depthwise_conv2d,
    "SeparableConv1D": convert_separable_conv1d,
    "SeparableConvolution1D": convert_separable_conv1d,
    "SeparableConv2D": convert_separable_conv2d,
    "SeparableConvolution2D": convert_separable_conv2d,
}

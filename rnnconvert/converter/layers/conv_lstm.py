"""Converters for ConvLSTM1D, ConvLSTM2D and ConvLSTM3D -> the ``ConvLSTM`` op.

Keras (3, tf_keras and standalone 2.x alike) computes, per timestep, an LSTM whose
products are convolutions: the input convolution with the layer's strides, dilation
and padding, the recurrent one with stride 1, no dilation and ``same`` padding; gate
blocks i, f, c, o along the kernels' last axis. The bundle states each option
explicitly (see docs/FORMAT.md, ``ConvLSTM``); the runtime computes channels last
and moves a ``channels_first`` layout in and out itself.
"""

from __future__ import annotations

from typing import Any

from ...runtime.spec import RECURRENT_FACTS
from ..graph import GraphBuilder, LayerCall, Shape, Tensor, Unsupported
from .common import activation, check_dtype_policy, dim, expect_weights, flat_tensors
from .recurrent import emit_recurrent_node

_FACTS = RECURRENT_FACTS["ConvLSTM"]

_RANK = {"ConvLSTM1D": 1, "ConvLSTM2D": 2, "ConvLSTM3D": 3}


def _tuple(call: LayerCall, key: str, rank: int, default: Any) -> list[int]:
    value = call.opt(key, default)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * rank
    if len(values) != rank or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise Unsupported(f"{key}={value!r}: expected {rank} integer(s)")
    out = [int(v) for v in values]
    if any(v <= 0 for v in out):
        raise Unsupported(f"{key}={out!r}: every value must be positive")
    return out


def _out_size(n: int, k: int, s: int, d: int, padding: str) -> int:
    if padding == "same":
        return -(-n // s)
    return max((n - ((k - 1) * d + 1)) // s + 1, 0)


def convert_conv_lstm(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    if call.era.major == 1:
        # Keras 1.2's ConvLSTM2D: per-gate arrays (W_i, U_i, b_i, …), nb_filter/nb_row/nb_col,
        # dim_ordering 'th' by default -- a different layer in all but name.
        raise Unsupported("Keras 1 ConvLSTM2D files (per-gate weights, dim_ordering) are not converted")
    rank = _RANK[call.class_name]
    if call.opt("time_major", False):
        raise Unsupported("time_major=True is not supported for ConvLSTM layers")
    if call.opt("unroll", False) not in (False, True):
        raise Unsupported("unroll must be a boolean")
    if not call.inputs:
        raise Unsupported("no input")
    x = call.inputs[0]
    init = list(call.inputs[1:]) + flat_tensors(call.kwargs.get("initial_state"))
    fmt = call.opt("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise Unsupported(f"data_format={fmt!r}")
    if x.rank != rank + 3 or any(d is None for d in x.shape[2:]):
        raise Unsupported(
            f"input shape {x.shape}: {call.class_name} takes (batch, time, {rank} spatial axes and channels),"
            " all but batch and time known"
        )
    spatial = [dim(n, "a spatial axis") for n in (x.shape[2:-1] if fmt == "channels_last" else x.shape[3:])]
    channels = dim(x.shape[-1] if fmt == "channels_last" else x.shape[2], "the channel axis")
    filters = call.opt("filters", 0)
    if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
        raise Unsupported(f"filters={filters!r}: must be a positive integer")
    ksize = _tuple(call, "kernel_size", rank, None)
    strides = _tuple(call, "strides", rank, 1)
    dilation = _tuple(call, "dilation_rate", rank, 1)
    padding = str(call.opt("padding", "valid")).lower()
    if padding not in ("valid", "same"):
        raise Unsupported(f"padding={padding!r}: ConvLSTM takes valid or same")
    use_bias = bool(call.opt("use_bias", True))
    g = _FACTS.n_gates
    shapes = [(*ksize, channels, g * filters), (*ksize, filters, g * filters)] + ([(g * filters,)] if use_bias else [])
    arrays = expect_weights(call, shapes)
    weights = {"kernel": arrays[0], "recurrent_kernel": arrays[1], **({"bias": arrays[2]} if use_bias else {})}
    out_sp = [_out_size(n, k, s, d, padding) for n, k, s, d in zip(spatial, ksize, strides, dilation)]
    if 0 in out_sp:
        raise Unsupported(f"the {padding} convolution leaves no output cells on a {spatial} input")
    mask = call.call_mask(0)
    if mask is not None and mask.rank != 2:
        raise Unsupported(f"the input's mask has shape {mask.shape}; a recurrent layer takes a (batch, time) mask")
    if init and len(init) != 2:
        raise Unsupported(f"initial_state has {len(init)} tensors; {call.class_name} takes 2 ([h, c])")
    seqs = bool(call.opt("return_sequences", False))
    go_backwards = bool(call.opt("go_backwards", False))
    # Keras 3's RNN applies zero_output_for_mask (Bidirectional forces it to
    # return_sequences); tf_keras's and Keras 2's ConvRNN never pass it to their scan.
    zero = bool(call.opt("zero_output_for_mask", False)) if call.era.major >= 3 else False
    # Keras's unrolled scan zeroes masked outputs after the loop, with the mask in time
    # order (see recurrent.py): reproduced the same way, by ZeroMasked after the node.
    late_zero = bool(call.opt("unroll", False)) and go_backwards and zero and seqs and mask is not None
    config: dict[str, Any] = {
        "filters": filters,
        "strides": strides,
        "dilation_rate": dilation,
        "padding": padding,
        "data_format": fmt,
        "use_bias": use_bias,
        "activation": activation(call, "activation", "tanh"),
        "recurrent_activation": activation(
            call, "recurrent_activation", "sigmoid" if call.era.major >= 3 else "hard_sigmoid"
        ),
        "gate_order": list(_FACTS.gate_order),
        "return_sequences": seqs,
        "go_backwards": go_backwards,
        "stateful": bool(call.opt("stateful", False)),
        "zero_output_for_mask": zero and not late_zero,
    }
    state: Shape = (x.shape[0], *out_sp, filters) if fmt == "channels_last" else (x.shape[0], filters, *out_sp)
    out_shape: Shape = (state[0], x.shape[1], *state[1:]) if seqs else state
    return emit_recurrent_node(
        call, b, "ConvLSTM", x, config, weights, out_shape, [state] * _FACTS.n_states, mask, init, late_zero=late_zero
    )

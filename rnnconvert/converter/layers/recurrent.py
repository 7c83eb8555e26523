"""Converters for the recurrent layers: LSTM, GRU, SimpleRNN.

Each normalises the Keras config (of any era) into the bundle's explicit
semantics: gate order, bias layout, both activations with their exact
parameters, and the sequence/state options.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...runtime.spec import EVERY_CALL, RECURRENT_FACTS, WHILE_STATES_ZERO
from ..graph import GraphBuilder, LayerCall, Shape, Tensor, Unsupported
from .common import activation, check_dtype_policy, expect_weights, flat_tensors, passthrough_mask


def _seq_options(call: LayerCall) -> dict[str, Any]:
    if call.opt("unroll", False) not in (False, True):
        raise Unsupported("unroll must be a boolean")
    return {
        "return_sequences": bool(call.opt("return_sequences", False)),
        "go_backwards": bool(call.opt("go_backwards", False)),
        "stateful": bool(call.opt("stateful", False)),
        "zero_output_for_mask": bool(call.opt("zero_output_for_mask", False)),
    }


def _rnn_input(call: LayerCall) -> tuple[Tensor, list[Tensor]]:
    """The sequence input and any initial states passed positionally or by keyword."""
    if not call.inputs:
        raise Unsupported("no input")
    x, extra = call.inputs[0], list(call.inputs[1:]) + flat_tensors(call.kwargs.get("initial_state"))
    if x.rank != 3 or x.shape[-1] is None:
        raise Unsupported(f"input shape {x.shape}: recurrent layers take (batch, time, features) with known features")
    return x, extra


def convert_recurrent(
    call: LayerCall, b: GraphBuilder, op: str, weights: list[np.ndarray] | None = None
) -> list[Tensor]:
    check_dtype_policy(call)
    if call.opt("time_major", False):
        from .time_major import convert_time_major

        return convert_time_major(call, b, lambda c, bb: convert_recurrent(c, bb, op, weights))
    facts = RECURRENT_FACTS[op]
    gates, n_states, order = facts.n_gates, facts.n_states, list(facts.gate_order)
    x, init = _rnn_input(call)
    # The mask the call receives (Keras 3 gives none to an RNN called with initial
    # states); x.mask, the sequence's own, is what flows on to the outputs.
    mask = call.call_mask(0)
    if mask is not None and mask.rank != 2:
        # e.g. Keras 3's TimeDistributed passes a (B, T, S) mask through unchanged;
        # Keras itself cannot run an RNN under it.
        raise Unsupported(f"the input's mask has shape {mask.shape}; a recurrent layer takes a (batch, time) mask")
    units = call.int_opt("units", call.opt("output_dim", 0))
    if units <= 0:
        raise Unsupported("units must be positive")
    use_bias = bool(call.opt("use_bias", True))
    d = x.shape[-1]
    config: dict[str, Any] = {"units": units, "use_bias": use_bias}
    config["activation"] = activation(call, "activation", "tanh")
    if op != "SimpleRNN":
        config["recurrent_activation"] = activation(call, "recurrent_activation", call.era.recurrent_activation_default)
        config["gate_order"] = order
    bias_shape: tuple[int, ...] = (gates * units,)
    if op == "GRU":
        reset_after = call.opt("reset_after")
        if reset_after is None:
            reset_after = call.era.reset_after_default
        reset_after = bool(reset_after)
        config["reset_after"] = reset_after
        if reset_after:
            bias_shape = (2, gates * units)
    shapes = [(d, gates * units), (units, gates * units)] + ([bias_shape] if use_bias else [])
    arrays = weights if weights is not None else expect_weights(call, shapes)
    wmap = {"kernel": arrays[0], "recurrent_kernel": arrays[1]}
    if use_bias:
        wmap["bias"] = arrays[2]
    seq = _seq_options(call)
    # Keras's unrolled scan (unroll=True) zeroes masked outputs only after the loop,
    # with the mask in time order even when go_backwards leaves the sequence in
    # processing order (keras backend rnn(), both Keras 3 and tf_keras): the backward
    # half of an unrolled, masked Bidirectional returning sequences hits this.
    # Reproduced as Keras computes it: carry outputs over masked steps, then ZeroMasked.
    late_zero = (
        bool(call.opt("unroll", False))
        and seq["go_backwards"]
        and seq["zero_output_for_mask"]
        and seq["return_sequences"]
        and mask is not None
    )
    if late_zero:
        seq["zero_output_for_mask"] = False
    config.update(seq)
    if init and len(init) != n_states:
        raise Unsupported(f"initial_state has {len(init)} tensors; {op} takes {n_states}")
    out_shape = (x.shape[0], x.shape[1], units) if seq["return_sequences"] else (x.shape[0], units)
    state_shape = (x.shape[0], units)
    return emit_recurrent_node(
        call, b, op, x, config, wmap, out_shape, [state_shape] * n_states, mask, init, late_zero=late_zero
    )


def emit_recurrent_node(
    call: LayerCall,
    b: GraphBuilder,
    op: str,
    x: Tensor,
    config: dict[str, Any],
    weights: dict[str, Any],
    out_shape: Shape,
    state_shapes: list[Shape],
    mask: Tensor | None,
    init: list[Tensor] | None,
    *,
    late_zero: bool,
) -> list[Tensor]:
    """The recurrent node, then what every recurrent layer does around it: Keras's
    after-the-loop zeroing of an unrolled backward scan (``late_zero``), the masks its
    outputs carry, and ``[output, *states]`` only with ``return_state``."""
    if config.get("stateful") and init:
        # F2: tf_keras uses a given initial_state only while every carried state is all
        # zeros (the first call, after reset_states); Keras 3 restarts from it every call.
        config["initial_state_rule"] = WHILE_STATES_ZERO if call.era.tf_keras else EVERY_CALL
    outs = b.node(
        op,
        name=call.name,
        inputs=[x],
        config=config,
        weights=weights,
        outputs=[(out_shape, "float32")] + [(s, "float32") for s in state_shapes],
        mask=mask,
        initial_state=init or None,
        layer=call,
    )
    if late_zero:
        assert mask is not None
        (y,) = b.node(
            "ZeroMasked",
            name=f"{call.name}/unrolled_zero_output",
            inputs=[outs[0], mask],
            config={},
            outputs=[(out_shape, "float32")],
            layer=call,
        )
        outs = [y, *outs[1:]]
    outs = passthrough_mask(outs[:1], x.mask if config["return_sequences"] else None) + passthrough_mask(outs[1:], None)
    # Keras returns [output, *states] only with return_state; the node always has them.
    return outs if call.opt("return_state", False) else outs[:1]


def convert_lstm(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return convert_recurrent(call, b, "LSTM")


def convert_gru(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return convert_recurrent(call, b, "GRU")


def convert_simple_rnn(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return convert_recurrent(call, b, "SimpleRNN")

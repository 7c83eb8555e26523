"""Converters for the wrapper layers: Bidirectional and TimeDistributed.

Bidirectional becomes two recurrent nodes (the backward one with ``go_backwards``
flipped), a ``Reverse`` of the backward sequence when it returns sequences, and a
``Merge`` -- exactly the steps Keras's ``Bidirectional.call`` takes.
"""

from __future__ import annotations

from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import flat_tensors

_RECURRENT = {"LSTM", "GRU", "SimpleRNN", "RNN", "CuDNNLSTM", "CuDNNGRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}


def _inner(call: LayerCall, spec: Any, key: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise Unsupported(f"{key}: missing or malformed wrapped layer config")
    return str(spec.get("class_name")), dict(spec["config"])


def _weight_count(cls: str, cfg: dict[str, Any]) -> int:
    if cls == "RNN":
        from .cells import _cells

        return sum(3 if c.get("use_bias", True) else 2 for _, c in _cells(cfg.get("cell")))
    return 3 if cfg.get("use_bias", True) else 2


def convert_bidirectional(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    from . import LAYER_CONVERTERS

    fcls, fcfg = _inner(call, call.opt("layer"), "layer")
    if call.opt("backward_layer"):
        bcls, bcfg = _inner(call, call.opt("backward_layer"), "backward_layer")
    else:
        bcls, bcfg = fcls, {**fcfg, "go_backwards": not fcfg.get("go_backwards", False)}
    for cls, cfg in ((fcls, fcfg), (bcls, bcfg)):
        if cls not in _RECURRENT:
            raise Unsupported(f"Bidirectional({cls}) is not supported")
        if cfg.get("time_major"):
            raise Unsupported(f"Bidirectional({cls}(time_major=True)) is not supported")
    mode = call.opt("merge_mode", "concat")
    if mode not in ("concat", "sum", "mul", "ave", None):
        raise Unsupported(f"merge_mode {mode!r}")
    seqs = bool(fcfg.get("return_sequences", False))
    want_state = bool(fcfg.get("return_state", False))
    n_fw = _weight_count(fcls, fcfg)
    if len(call.weights) != n_fw + _weight_count(bcls, bcfg):
        raise Unsupported(
            f"expected {n_fw + _weight_count(bcls, bcfg)} weight arrays, the file has {len(call.weights)}"
        )
    x = call.inputs[0]
    states = list(call.inputs[1:]) + flat_tensors(call.kwargs.get("initial_state"))
    half = len(states) // 2
    # Both halves compute with the mask the call received (none in Keras 3 when called
    # with initial states); the outputs carry the sequence's own mask.
    x_in = x.with_mask(call.call_mask(0))
    results = []
    for suffix, cls, cfg, weights, names, st in (
        ("forward", fcls, fcfg, call.weights[:n_fw], call.weight_names[:n_fw], states[:half]),
        ("backward", bcls, bcfg, call.weights[n_fw:], call.weight_names[n_fw:], states[half:]),
    ):
        # Keras forces zero_output_for_mask = return_sequences on both halves.
        sub_cfg = {**cfg, "return_state": True, "zero_output_for_mask": seqs}
        sub = LayerCall(
            name=f"{call.name}/{suffix}",
            class_name=cls,
            config=sub_cfg,
            weights=list(weights),
            weight_names=list(names),
            inputs=[x_in, *st],
            kwargs={},
            era=call.era,
            call_index=call.call_index,
        )
        results.append(LAYER_CONVERTERS[cls](sub, b))
    fw, bw = results
    y, y_rev = fw[0], bw[0]
    if seqs:
        (y_rev,) = b.node(
            "Reverse",
            name=f"{call.name}/reverse",
            inputs=[y_rev],
            config={"axis": 1},
            outputs=[(y_rev.shape, "float32")],
            layer=call,
        )
    out_mask = x.mask if seqs else None
    if mode is None:
        outputs = [y.with_mask(out_mask), y_rev.with_mask(out_mask)]
    else:
        shape = y.shape
        if mode == "concat":
            last = None if y.shape[-1] is None or y_rev.shape[-1] is None else y.shape[-1] + y_rev.shape[-1]
            shape = (*y.shape[:-1], last)
        mode_op = {"concat": "concat", "sum": "sum", "mul": "mul", "ave": "ave"}[mode]
        (merged,) = b.node(
            "Merge",
            name=f"{call.name}/merge",
            inputs=[y, y_rev],
            config={"mode": mode_op, "axis": -1},
            outputs=[(shape, "float32")],
            layer=call,
            output_masks=[out_mask],
        )
        outputs = [merged]
    if want_state:
        outputs += [t.with_mask(None) for t in fw[1:] + bw[1:]]
    return outputs


# Inner layers that act on the last axis only: applying them to (B, T, ...) is
# exactly TimeDistributed's per-step application.
_RANK_AGNOSTIC = {
    "Dense",
    "Activation",
    "Embedding",
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
}


def convert_time_distributed(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Rank-agnostic inner layers run on the whole tensor; any other supported layer
    runs on the batch and time axes folded into one (``FoldTime``/``UnfoldTime``)."""
    from . import LAYER_CONVERTERS

    cls, cfg = _inner(call, call.opt("layer"), "layer")
    if cls not in LAYER_CONVERTERS or cls in ("TimeDistributed",):
        raise Unsupported(f"TimeDistributed({cls}) is not supported")
    x = call.inputs[0]
    if x.rank < 3:
        raise Unsupported(f"input shape {x.shape}: TimeDistributed needs (batch, time, ...)")
    if cfg.get("stateful"):
        # tf_keras runs a stateful inner layer step by step through its own RNN loop.
        raise Unsupported(f"TimeDistributed around a stateful {cls} is not supported")
    folded = cls not in _RANK_AGNOSTIC
    mask = call.call_mask(0)  # what the inner layer is called with, step by step
    inner_x, inner_mask = x, mask
    if folded:
        lead = None if x.shape[0] is None or x.shape[1] is None else x.shape[0] * x.shape[1]
        (inner_x,) = b.node(
            "FoldTime",
            name=f"{call.name}/fold",
            inputs=[x],
            config={},
            outputs=[((lead, *x.shape[2:]), x.dtype)],
            layer=call,
        )
        if mask is not None and mask.rank >= 3:
            # A (B, T, S) mask reaches the inner layer's steps as (B*T, S), in Keras 3
            # (mask[:, t] per step) and tf_keras (reshaped) alike.
            (inner_mask,) = b.node(
                "FoldTime",
                name=f"{call.name}/fold_mask",
                inputs=[mask],
                config={},
                outputs=[((lead, *mask.shape[2:]), "bool")],
                layer=call,
            )
        elif mask is not None:
            if cls in _RECURRENT:
                raise Unsupported(f"a (batch, time) mask cannot mask the inner steps of TimeDistributed({cls})")
            inner_mask = None  # a per-timestep mask has nothing to mask inside one step
        inner_x = inner_x.with_mask(inner_mask)
    sub = LayerCall(
        name=call.name,
        class_name=cls,
        config=cfg,
        weights=call.weights,
        weight_names=call.weight_names,
        inputs=[inner_x],
        kwargs={},
        era=call.era,
        call_index=call.call_index,
    )
    outs = LAYER_CONVERTERS[cls](sub, b)
    inner_out_masks = [t.mask for t in outs]
    if folded:
        outs = [_unfold(call, b, t, x, f"unfold{k}") for k, t in enumerate(outs)]
    return [
        t.with_mask(_time_distributed_mask(call, b, x, inner_out_mask, folded))
        for t, inner_out_mask in zip(outs, inner_out_masks)
    ]


def _unfold(call: LayerCall, b: GraphBuilder, t: Tensor, like: Tensor, suffix: str) -> Tensor:
    (u,) = b.node(
        "UnfoldTime",
        name=f"{call.name}/{suffix}",
        inputs=[t, like],
        config={},
        outputs=[((like.shape[0], like.shape[1], *t.shape[1:]), t.dtype)],
        layer=call,
    )
    return u


def _time_distributed_mask(
    call: LayerCall, b: GraphBuilder, x: Tensor, inner: Tensor | None, folded: bool
) -> Tensor | None:
    """TimeDistributed's output mask, as each Keras computes it.

    Keras 3 (and Keras 1) pass the input mask through unchanged. tf_keras / Keras 2
    ask the inner layer: its mask on the folded input, unfolded to (B, T, ...)
    (an inner ``Embedding(mask_zero=True)`` or ``Masking`` creates one, an inner RNN
    returning sequences keeps one); when the inner layer gives none, the input mask
    reduced to (B, T) with ``any`` over its extra axes (an inner RNN returning its
    last output: a step is real if any of its inner steps was).
    """
    mask = x.mask
    if call.era.major != 2:
        return mask
    if inner is not None:
        return _unfold(call, b, inner, x, "unfold_mask") if folded else inner
    if mask is None:
        return None
    out = mask
    for k in range(mask.rank - 2):
        (out,) = b.node(
            "ReduceAny",
            name=f"{call.name}/mask_any{k}",
            inputs=[out],
            config={"axis": -1, "keepdims": False},
            outputs=[(out.shape[:-1], "bool")],
            layer=call,
        )
    return out

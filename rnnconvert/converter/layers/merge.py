"""Converters for the merge layers: Concatenate, Add, Subtract, Multiply, Average,
Maximum, Minimum (all onto ``Merge``) and Dot."""

from __future__ import annotations

from dataclasses import replace

from ..graph import CodeInModel, GraphBuilder, LayerCall, Tensor, Unsupported
from .common import known

_MODES = {"Add": "sum", "Subtract": "sub", "Multiply": "mul", "Average": "ave", "Maximum": "max", "Minimum": "min"}


def _merged_mask(call: LayerCall, b: GraphBuilder) -> Tensor | None:
    """The mask of an element-wise merge (or a concatenation along features).

    tf_keras / Keras 2 AND the masks present (a missing mask counts as all true).
    Keras 3 ORs them, and gives no mask when any input has none (OR with all true).
    """
    masks = [t.mask for t in call.inputs if t.mask is not None]
    if not masks:
        return None
    k3 = call.era.major >= 3
    if k3 and len(masks) < len(call.inputs):
        return None
    out = masks[0]
    for k, m in enumerate(masks[1:]):
        if m.ref == out.ref:
            continue
        (out,) = b.node(
            "LogicalOr" if k3 else "LogicalAnd",
            name=f"{call.name}/mask{k}",
            inputs=[out, m],
            config={},
            outputs=[(out.shape, "bool")],
            layer=call,
        )
    return out


def _concatenated_mask(call: LayerCall, b: GraphBuilder, ax: int) -> Tensor:
    """Concatenation along time (axis 1 of (B, T, D) inputs): the (B, T) masks are
    concatenated too, an unmasked input contributing all-true steps -- Keras 3 and
    tf_keras alike (tf_keras builds this only when every input is masked or D = 1)."""
    parts = []
    for k, t in enumerate(call.inputs):
        if t.mask is not None:
            if t.mask.rank != 2:
                raise Unsupported(f"input {k} has a mask of shape {t.mask.shape}; expected (batch, steps)")
            parts.append(t.mask)
            continue
        (ones,) = b.node(
            "FillLike",
            name=f"{call.name}/ones{k}",
            inputs=[t],
            config={"fill": True},
            outputs=[(t.shape, "bool")],
            layer=call,
        )
        (steps,) = b.node(
            "ReduceAny",
            name=f"{call.name}/ones{k}_steps",
            inputs=[ones],
            config={"axis": -1, "keepdims": False},
            outputs=[(t.shape[:-1], "bool")],
            layer=call,
        )
        parts.append(steps)
    lengths = [p.shape[1] for p in parts]
    (mask,) = b.node(
        "Merge",
        name=f"{call.name}/mask",
        inputs=parts,
        config={"mode": "concat", "axis": ax},
        outputs=[((parts[0].shape[0], None if (n := known(lengths)) is None else sum(n)), "bool")],
        layer=call,
    )
    return mask


def _broadcast(shapes: list[tuple]) -> tuple:
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = [s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0]
        known = [d for d in dims if d is not None and d != 1]
        out.append(known[0] if known else (1 if all(d == 1 for d in dims) else None))
    return tuple(out)


def convert_elementwise_merge(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    if call.class_name == "Subtract" and len(call.inputs) != 2:
        raise Unsupported("Subtract takes exactly two inputs")
    return _elementwise(call, b, _MODES[call.class_name])


def _elementwise(call: LayerCall, b: GraphBuilder, mode: str) -> list[Tensor]:
    if len(call.inputs) < 2:
        raise Unsupported("a merge takes at least two inputs")
    shape = _broadcast([t.shape for t in call.inputs])
    masks = [t.mask for t in call.inputs]
    if call.era.major >= 3 and mode in ("mul", "max", "min") and any(m is not None for m in masks):
        # Keras 3's Multiply, Maximum and Minimum read their inputs' masks (as the
        # tensors carry them) to decide which entries take part.
        for k, m in enumerate(masks):
            if m is not None and m.rank != call.inputs[k].rank - 1:
                raise Unsupported(f"input {k} of shape {call.inputs[k].shape} has a mask of shape {m.shape}")
        (y,) = b.node(
            "MaskedMerge",
            name=call.name,
            inputs=list(call.inputs),
            named_inputs={f"mask_{k}": m for k, m in enumerate(masks) if m is not None},
            config={"mode": mode},
            outputs=[(shape, "float32")],
            layer=call,
        )
    else:
        (y,) = b.node(
            "Merge",
            name=call.name,
            inputs=list(call.inputs),
            config={"mode": mode, "axis": -1},
            outputs=[(shape, "float32")],
            layer=call,
        )
    return [y.with_mask(_merged_mask(call, b))]


def convert_concatenate(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    if len(call.inputs) < 2:
        raise Unsupported("Concatenate takes at least two inputs")
    axis = call.int_opt("axis", -1)
    rank = call.inputs[0].rank
    ax = axis % rank
    if ax == 0:
        raise Unsupported("concatenation along the batch axis")
    dims = [t.shape[ax] for t in call.inputs]
    shape = list(call.inputs[0].shape)
    shape[ax] = None if (n := known(dims)) is None else sum(n)
    (y,) = b.node(
        "Merge",
        name=call.name,
        inputs=list(call.inputs),
        config={"mode": "concat", "axis": axis},
        outputs=[(tuple(shape), "float32")],
        layer=call,
    )
    if any(t.mask is not None for t in call.inputs):
        if ax == rank - 1:
            y = y.with_mask(_merged_mask(call, b))
        elif ax == 1 and rank == 3:
            y = y.with_mask(_concatenated_mask(call, b, ax))
        else:
            raise Unsupported(f"concatenating masked rank-{rank} tensors along axis {axis}")
    return [y]


def convert_dot(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    if len(call.inputs) != 2:
        raise Unsupported("Dot takes two inputs")
    a, c = call.inputs
    axes = call.opt("axes")
    axes = [int(axes), int(axes)] if not isinstance(axes, (list, tuple)) else [int(v) for v in axes]
    if a.rank not in (2, 3) or c.rank not in (2, 3):
        raise Unsupported("Dot of inputs of rank other than 2 or 3")
    ax_a, ax_c = axes[0] % a.rank, axes[1] % c.rank
    if ax_a == 0 or ax_c == 0:
        raise Unsupported("Dot over the batch axis")
    rest = [d for i, d in enumerate(a.shape) if i not in (0, ax_a)] + [
        d for i, d in enumerate(c.shape) if i not in (0, ax_c)
    ]
    shape = (a.shape[0], *rest) if rest else (a.shape[0], 1)
    return b.node(
        "Dot",
        name=call.name,
        inputs=[a, c],
        config={"axes": [ax_a, ax_c], "normalize": bool(call.opt("normalize", False))},
        outputs=[(shape, "float32")],
        layer=call,
    )


def convert_legacy_merge(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Keras 1's ``Merge`` layer (also in Keras 2.0-2.1 files as a legacy layer).

    ``mode``: ``sum``, ``mul``, ``ave``, ``max`` (element-wise; masks ANDed, which
    Keras 1 does for sum/mul/ave and cannot do for max), ``concat`` along
    ``concat_axis`` (masks as ``Concatenate``), ``dot`` (``batch_dot`` over
    ``dot_axes``: the ``Dot`` op) and ``cos`` (the dot product of the l2-normalized
    inputs, ``(B, 1, 1)`` for rank-2 inputs; Keras 1 divides by max(‖x‖·‖y‖, 1e-7)
    instead of normalizing each input by max(‖·‖², 1e-12), which differs only for
    inputs of norm below ~1e-4). A mode given as Python code is refused.
    """
    mode = call.opt("mode", "sum")
    if call.opt("mode_type", "raw") != "raw" or not isinstance(mode, str):
        raise CodeInModel("a Merge whose mode is a Python function holds code; rnnconvert never executes it")
    if len(call.inputs) < 2:
        raise Unsupported("Merge takes at least two inputs")
    if mode in ("sum", "mul", "ave", "max"):
        if mode == "max" and any(t.mask is not None for t in call.inputs):
            raise Unsupported("Merge(mode='max') of masked inputs (Keras 1 cannot compute its mask)")
        return _elementwise(call, b, mode)
    if mode == "concat":
        return convert_concatenate(replace(call, config={**call.config, "axis": call.int_opt("concat_axis", -1)}), b)
    if mode in ("dot", "cos"):
        if len(call.inputs) != 2:
            raise Unsupported(f"Merge(mode={mode!r}) takes two inputs")
        if mode == "cos" and any(t.rank != 2 for t in call.inputs):
            raise Unsupported("Merge(mode='cos') of inputs of rank other than 2")
        axes = call.opt("dot_axes", -1)
        sub = replace(call, config={**call.config, "axes": axes, "normalize": mode == "cos"})
        (y,) = convert_dot(sub, b)
        if mode == "dot":
            return [y]
        (z,) = b.node(
            "ExpandDims",
            name=f"{call.name}/expand",
            inputs=[y],
            config={"axis": 1},
            outputs=[((y.shape[0], 1, *y.shape[1:]), "float32")],
            layer=call,
        )
        return [z]
    raise Unsupported(f"Merge mode {mode!r}")

"""Which models can be fed a chunk of timesteps at a time, and how.

``plan_stream`` reads the graph once and gives every tensor a *kind*:

* ``timed`` -- has the streamed time axis at axis 1: a chunk of it arrives per call;
* ``running`` -- no time axis, but depends on the streamed inputs seen so far (an RNN's
  last output or states): each call gives its value after the chunk;
* ``folded`` -- a ``FoldTime`` tensor, the chunk's batch and time axes folded into one
  (TimeDistributed's inner layers): rows are independent, so it streams like ``timed``;
* ``static`` -- depends on no streamed input (a conditioning vector): the same every call.

A model streams when every node that reads a ``timed`` tensor treats timesteps on
their own or carries state forwards only (recurrent nodes without ``go_backwards``,
whose initial state, if the graph gives one, is ``static``). Nodes reading only
non-timed tensors always stream: they are recomputed on every call, as ``predict``
would compute them for the sequence so far. Recurrent nodes reading a ``timed``
sequence are the *stream nodes*: their states are carried between calls.

The runtime imports numpy and the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .ops import RECURRENT_STATE_COUNT

Ref = tuple[str, int]

TIMED, RUNNING, FOLDED, STATIC = "timed", "running", "folded", "static"

# Ops that treat every timestep on its own: on a timed input they give a timed output.
STEP_LOCAL_OPS = {
    "Dense",
    "Activation",
    "Embedding",
    "NotEqualMask",
    "Masking",
    "LogicalAnd",
    "LogicalOr",
    "FillLike",
    "ZeroMasked",
    "MaskedMerge",  # element-wise, each step with its own mask
}


@dataclass
class StreamPlan:
    """How a model streams, or why it cannot (``error``)."""

    error: str | None = None
    timed_inputs: list[str] = field(default_factory=list)  # inputs whose axis 1 is the streamed time
    output_kinds: list[str] = field(default_factory=list)
    stream_nodes: list[str] = field(default_factory=list)  # recurrent nodes whose states are carried


def _step_local(node: Any, rank: int) -> bool:
    """Whether ``node`` acts on each timestep of a rank-``rank`` input on its own."""
    op, cfg = node.op, node.config
    if op in STEP_LOCAL_OPS:
        return True
    if op == "Merge":
        return not (cfg.get("mode") == "concat" and int(cfg.get("axis", -1)) % rank == 1)
    if op == "ReduceAny":
        return int(cfg["axis"]) % rank >= 2
    if op == "ExpandDims":
        return int(cfg["axis"]) % (rank + 1) >= 2
    if op in ("BatchNormalization", "LayerNormalization"):
        axes = cfg.get("axis")
        axes = axes if isinstance(axes, list) else [axes]
        return all(isinstance(a, int) and a % rank >= 2 for a in axes)
    if op == "PReLU":  # alpha has the input's non-batch shape, 1 on shared axes
        alpha = node.weights.get("alpha")
        return alpha is not None and alpha.ndim == rank - 1 and alpha.shape[0] == 1
    return False


def _join(kinds: set[str]) -> str | None:
    """The kind of a value computed from non-timed kinds (None: they do not mix)."""
    if FOLDED in kinds:
        return None if RUNNING in kinds else FOLDED
    return RUNNING if RUNNING in kinds else STATIC


def plan_stream(inputs: Sequence[Any], nodes: Sequence[Any], output_refs: Sequence[Ref]) -> StreamPlan:
    """Classify every tensor of the graph (see the module docstring).

    ``inputs``: the model's TensorInfo list; ``nodes``: its nodes in order (each with
    ``name, op, config, weights, inputs, mask, initial_state, out_shapes, n_outputs``).
    """
    rank: dict[Ref, int] = {(i.name, 0): len(i.shape) for i in inputs}
    for n in nodes:
        for k, s in enumerate(n.out_shapes):
            rank[(n.name, k)] = len(s)
    by_name = {n.name: n for n in nodes}

    # Names whose values reach a recurrent node's sequence or mask: a (B, T) input that
    # does is a sequence of token ids or values, one that does not is a plain vector.
    feeds: set[str] = set()
    todo = [r for n in nodes if n.op in RECURRENT_STATE_COUNT for r in [n.inputs[0], *([n.mask] if n.mask else [])]]
    while todo:
        name = todo.pop()[0]
        if name not in feeds:
            feeds.add(name)
            p = by_name.get(name)
            if p is not None:
                todo.extend([*p.inputs, *([p.mask] if p.mask else [])])

    plan = StreamPlan()
    kind: dict[Ref, str] = {}
    for info in inputs:
        r = len(info.shape)
        timed = r >= 3 or (r == 2 and (info.shape[1] is None or info.name in feeds))
        kind[(info.name, 0)] = TIMED if timed else STATIC
        if timed:
            plan.timed_inputs.append(info.name)
    if not plan.timed_inputs:
        plan.error = "no input has a time axis"
        return plan

    def fail(why: str) -> StreamPlan:
        plan.error = why
        return plan

    for n in nodes:
        where = f"node {n.name!r} ({n.op})"
        refs = [*n.inputs, *([n.mask] if n.mask else [])]
        ins = {kind[r] for r in refs}
        init = {kind[r] for r in n.initial_state}
        if TIMED not in ins:
            out = _join(ins | init)
            if out is None:
                return fail(f"{where} mixes per-step and whole-sequence values")
            outs = [out] * n.n_outputs
        elif n.op in RECURRENT_STATE_COUNT:
            if kind[n.inputs[0]] != TIMED or ins != {TIMED}:
                return fail(f"{where} reads a sequence and a mask that are not streamed alike")
            if n.config.get("go_backwards"):
                return fail(f"{where} runs backwards over time (e.g. the backward half of a Bidirectional layer)")
            if init - {STATIC}:
                return fail(f"{where} starts from states computed from a streamed sequence (an encoder's)")
            plan.stream_nodes.append(n.name)
            outs = [TIMED if n.config.get("return_sequences") else RUNNING] + [RUNNING] * RECURRENT_STATE_COUNT[n.op]
        elif n.op == "FoldTime":
            outs = [FOLDED]
        elif n.op == "UnfoldTime":
            if kind[n.inputs[0]] != FOLDED:
                return fail(f"{where} unfolds a tensor that was not folded from the stream")
            outs = [TIMED]
        elif _step_local(n, rank[n.inputs[0]]):
            if ins != {TIMED}:
                return fail(f"{where} combines a streamed sequence with values that are not ({', '.join(sorted(ins))})")
            outs = [TIMED] * n.n_outputs
        else:
            return fail(f"{where} looks at more than one timestep at once")
        for k, o in enumerate(outs):
            kind[(n.name, k)] = o
    plan.output_kinds = [kind[r] for r in output_refs]
    if FOLDED in plan.output_kinds:
        return fail("a model output has its batch and time axes folded together")
    return plan

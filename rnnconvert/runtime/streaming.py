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
whose initial state, if the graph gives one, is ``static``): each op's *time rule*,
declared with the op in :mod:`rnnconvert.runtime.spec`, says which (FORMAT.md 7). Nodes reading only
non-timed tensors always stream: they are recomputed on every call, as ``predict``
would compute them for the sequence so far. Recurrent nodes reading a ``timed``
sequence are the *stream nodes*: their states are carried between calls.

The runtime imports numpy and the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .spec import FOLD, PER_STEP, RECURRENT, RECURRENT_STATE_COUNT, UNFOLD, time_rule

Ref = tuple[str, int]

TIMED, RUNNING, FOLDED, STATIC = "timed", "running", "folded", "static"


@dataclass
class StreamPlan:
    """How a model streams, or why it cannot (``error``)."""

    error: str | None = None
    timed_inputs: list[str] = field(default_factory=list)  # inputs whose axis 1 is the streamed time
    output_kinds: list[str] = field(default_factory=list)
    stream_nodes: list[str] = field(default_factory=list)  # recurrent nodes whose states are carried


def _join(kinds: set[str]) -> str | None:
    """The kind of a value computed from non-timed kinds (None: they do not mix)."""
    if FOLDED in kinds:
        return None if RUNNING in kinds else FOLDED
    return RUNNING if RUNNING in kinds else STATIC


def _timed_outputs(
    n: Any, kind: dict[Ref, str], ins: set[str], init: set[str], rank: int, plan: StreamPlan
) -> list[str] | str:
    """The kinds of the outputs of node ``n`` that reads a timed tensor, from its op's
    declared time rule (runtime/spec), or why the model cannot stream."""
    rule = time_rule(n.op, n.config, n.weights, rank)
    if rule == RECURRENT:
        if kind[n.inputs[0]] != TIMED or ins != {TIMED}:
            return "reads a sequence and a mask that are not streamed alike"
        if n.config.get("go_backwards"):
            return "runs backwards over time (e.g. the backward half of a Bidirectional layer)"
        if init - {STATIC}:
            return "starts from states computed from a streamed sequence (an encoder's)"
        plan.stream_nodes.append(n.name)
        return [TIMED if n.config.get("return_sequences") else RUNNING] + [RUNNING] * RECURRENT_STATE_COUNT[n.op]
    if rule == FOLD:
        return [FOLDED]
    if rule == UNFOLD:
        return [TIMED] if kind[n.inputs[0]] == FOLDED else "unfolds a tensor that was not folded from the stream"
    if rule == PER_STEP:
        if ins != {TIMED}:
            return f"combines a streamed sequence with values that are not ({', '.join(sorted(ins))})"
        return [TIMED] * n.n_outputs
    return "needs the whole sequence at once (it looks at more than one timestep, see FORMAT.md 7)"


def _data_refs(n: Any) -> list[Ref]:
    """What node ``n`` computes from besides initial states: its inputs, mask and named
    inputs (format 1.2: Attention's and MaskedMerge's masks)."""
    named = getattr(n, "named", None) or {}
    return [*n.inputs, *([n.mask] if n.mask else []), *named.values()]


def _reaching_recurrent(nodes: Sequence[Any]) -> set[str]:
    """Names whose values reach a recurrent node's sequence or mask, through the data
    inputs, masks and named inputs of any nodes (not initial_state refs): a (B, T) input that does is a
    sequence of token ids or values, one that does not is a plain vector (FORMAT.md 7)."""
    by_name = {n.name: n for n in nodes}
    feeds: set[str] = set()
    todo = [r for n in nodes if n.op in RECURRENT_STATE_COUNT for r in [n.inputs[0], *([n.mask] if n.mask else [])]]
    while todo:
        name = todo.pop()[0]
        if name not in feeds:
            feeds.add(name)
            p = by_name.get(name)
            if p is not None:
                todo.extend(_data_refs(p))
    return feeds


def plan_stream(inputs: Sequence[Any], nodes: Sequence[Any], output_refs: Sequence[Ref]) -> StreamPlan:
    """Classify every tensor of the graph (see the module docstring).

    ``inputs``: the model's TensorInfo list; ``nodes``: its nodes in order (each with
    ``name, op, config, weights, inputs, mask, initial_state, out_shapes, n_outputs``, and
    optionally ``named``).
    """
    rank: dict[Ref, int] = {(i.name, 0): len(i.shape) for i in inputs}
    for n in nodes:
        for k, s in enumerate(n.out_shapes):
            rank[(n.name, k)] = len(s)
    feeds = _reaching_recurrent(nodes)

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
        refs = _data_refs(n)
        ins = {kind[r] for r in refs}
        init = {kind[r] for r in n.initial_state}
        if TIMED not in ins:
            out = _join(ins | init)
            if out is None:
                return fail(f"{where} mixes per-step and whole-sequence values")
            outs = [out] * n.n_outputs
        else:
            outs_or_error = _timed_outputs(n, kind, ins, init, rank[n.inputs[0]], plan)
            if isinstance(outs_or_error, str):
                return fail(f"{where} {outs_or_error}")
            outs = outs_or_error
        for k, o in enumerate(outs):
            kind[(n.name, k)] = o
    plan.output_kinds = [kind[r] for r in output_refs]
    if FOLDED in plan.output_kinds:
        return fail("a model output has its batch and time axes folded together")
    return plan

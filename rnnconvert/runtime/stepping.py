"""Streaming at run time: ``initial_state``, ``step`` and long calls run through time in chunks.

What streams, and how, is planned by :func:`rnnconvert.runtime.streaming.plan_stream`
(from each op's dependence on the time axis); this module carries the states it names
from one chunk to the next.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError, ResourceError
from .executor import Executor
from .inputs import InputParser, Inputs
from .plan import Node, Plan, state_shape, zero_states
from .streaming import TIMED, StreamPlan, plan_stream

#: A streaming state: recurrent node name -> [*its states, its last output], each (B, H);
#: an empty list for a node not started yet that takes its initial state from the graph.
State = dict[str, list[np.ndarray]]

_MISSING = object()


class Streamer:
    """Runs ``plan`` a chunk of timesteps at a time, the states carried explicitly."""

    def __init__(self, plan: Plan, executor: Executor, parser: InputParser):
        self.plan, self.executor, self.parser = plan, executor, parser
        self._stream: StreamPlan | None = None  # computed on first use
        # ... and, with it, what step() and chunked predict look up on every call:
        self._timed: frozenset[str] = frozenset()  # the streamed inputs' names
        self._stream_pairs: list[tuple[str, Node]] = []  # (name, node) of each stream node

    def stream_plan(self) -> StreamPlan:
        if self._stream is None:
            plan = plan_stream(self.plan.inputs, self.plan.nodes, self.plan.output_refs)
            nodes = {n.name: n for n in self.plan.recurrent}
            self._timed = frozenset(plan.timed_inputs)
            self._stream_pairs = [(name, nodes[name]) for name in plan.stream_nodes]
            self._stream = plan
        return self._stream

    def _check_streamable(self) -> StreamPlan:
        plan = self.stream_plan()
        if plan.error:
            raise InputError(f"this model cannot be streamed: {plan.error}")
        return plan

    def initial_state(self, batch_size: int) -> State:
        self._check_streamable()
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        batch = int(batch_size)
        state: State = {}
        for name, n in self._stream_pairs:
            last = np.zeros(state_shape(n, batch), np.float32)
            state[name] = [] if n.initial_state else [*zero_states(n, batch), last]
        return state

    def step(self, x: Inputs, state: State) -> tuple[np.ndarray | list[np.ndarray], State]:
        plan = self._check_streamable()
        values = self.parser.split(x)
        timed = self._timed
        singles = set()
        for k, info in enumerate(self.plan.inputs):
            if info.name in timed:
                v = values[k] if isinstance(values[k], np.ndarray) else np.asarray(values[k])
                single = v.ndim == len(info.shape) - 1
                singles.add(single)
                # (B, ...) -> (B, 1, ...); indexing is ~10x cheaper than np.expand_dims
                values[k] = (v[:, None] if v.ndim else np.expand_dims(v, 1)) if single else v
        if len(singles) > 1:
            raise InputError("give every streamed input one timestep, or every one a chunk, not a mix")
        single = singles.pop()
        arrays = self.parser.arrays(values, chunked=timed, whole=False)
        batch = arrays[0].shape[0]
        self._check_state(state, batch)
        outs, finals = self.executor.run(arrays, state, carry_outputs=True)
        outs = [o if type(o) is np.ndarray else np.asarray(o) for o in outs]
        outs = [o.astype(np.float32) if o.dtype.kind in "iu" else o for o in outs]  # ids: float32 like predict
        if single:
            outs = [o[:, 0] if kind == TIMED else o for o, kind in zip(outs, plan.output_kinds)]
        new_state = {name: finals[name] for name in plan.stream_nodes}
        return (outs[0] if len(outs) == 1 else outs), new_state

    def _check_state(self, state: Any, batch: int) -> None:
        """``state`` fits the stream nodes (call after stream_plan(), which lists them)."""
        if not isinstance(state, dict):
            raise InputError("state must be the dict from model.initial_state(batch) or the previous step")
        for name, n in self._stream_pairs:
            entry = state.get(name, _MISSING)
            if entry is _MISSING:
                raise InputError(f"state lacks recurrent node {name!r}; start from model.initial_state(batch)")
            if isinstance(entry, list) and not entry and n.initial_state:
                continue
            want = state_shape(n, batch)
            count = n.n_states + 1
            ok = isinstance(entry, list) and len(entry) == count
            if ok and not all(isinstance(a, np.ndarray) and a.shape == want for a in entry):
                ok = False
            if not ok:
                raise InputError(
                    f"state[{name!r}] must be {count} arrays of shape {want} ([*states, last_output]) "
                    f"for a batch of {batch}; start from model.initial_state({batch})"
                )

    # -- long calls: through time a chunk at a time ------------------------------------
    def time_chunk(self, arrays: list[np.ndarray], limit: int) -> int:
        """Timesteps per chunk for a call whose tensors would exceed ``limit`` elements on
        the whole sequence, or 0 to run it whole.

        Only models that stream (``stream_plan()``) are chunked: they give, chunk by
        chunk with carried states, exactly what they give on the whole sequence."""
        if limit <= 0:
            return 0
        plan = self.stream_plan()
        if plan.error or self.plan.stateful:
            return 0
        timed = self._timed
        lengths = {a.shape[1] for info, a in zip(self.plan.inputs, arrays) if info.name in timed}
        if len(lengths) != 1:
            return 0
        (length,) = lengths
        total = self.executor.call_elements(arrays)
        if total <= limit or length < 2:
            return 0
        # total = fixed + per_step * T (the inputs and every node output are affine in T)
        one = self.executor.call_elements(
            [a[:, :1] if i.name in timed else a for i, a in zip(self.plan.inputs, arrays)]
        )
        per_step = max(1, (total - one) // (length - 1))
        chunk = max(1, (limit - (one - per_step)) // per_step)
        return chunk if chunk < length else 0

    def run_chunked(self, arrays: list[np.ndarray], chunk: int) -> list[np.ndarray]:
        """The whole call on ``arrays``, computed ``chunk`` timesteps at a time with the
        streaming states carried (see :meth:`step`): the call holds the inputs, the
        outputs, and one chunk's intermediate tensors -- whatever the sequence length."""
        plan = self.stream_plan()
        timed = self._timed
        is_timed = [info.name in timed for info in self.plan.inputs]
        length = next(a.shape[1] for a, t in zip(arrays, is_timed) if t)
        state = self.initial_state(arrays[0].shape[0])
        outs: list[np.ndarray] = []
        for s in range(0, length, chunk):
            part = [a[:, s : s + chunk] if t else a for a, t in zip(arrays, is_timed)]
            got, finals = self.executor.run(part, state, carry_outputs=True)
            state = {name: finals[name] for name in plan.stream_nodes}
            if not s:  # the whole outputs, allocated once the first chunk tells their shapes
                outs = [self._full_output(o, kind, length) for o, kind in zip(got, plan.output_kinds)]
            for k, (o, kind) in enumerate(zip(got, plan.output_kinds)):
                if kind == TIMED:
                    outs[k][:, s : s + o.shape[1]] = o
                else:  # a running or static value: what it is after the sequence so far
                    outs[k] = o
        return outs

    def _full_output(self, first: np.ndarray, kind: str, length: int) -> np.ndarray:
        first = np.asarray(first)
        if kind != TIMED:
            return first
        shape = (first.shape[0], length, *first.shape[2:])
        size = int(np.prod(shape, dtype=np.int64))
        limit = self.executor.max_elements
        if size > limit:
            raise ResourceError(
                f"this call's output of shape {shape} has {size:,} elements, over max_elements="
                f"{limit:,}; split the batch or the sequence, or load(..., max_elements=N)"
            )
        return np.empty(shape, first.dtype)


__all__ = ["State", "Streamer"]

"""The runtime model: a checked bundle turned into an execution plan."""

from __future__ import annotations

import inspect
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError, InputError, ResourceError
from .bundle import MAX_WEIGHT_BYTES, Bundle, read_bundle
from .checks import call_keys, check_node
from .ops import OPS, RECURRENT_STATE_COUNT, OpFn
from .ops.fast import FAST_PATHS
from .quantize import dequantize
from .spec import WHILE_STATES_ZERO
from .streaming import TIMED, StreamPlan, plan_stream

Ref = tuple[str, int]
ArrayLike = Any
#: A streaming state: recurrent node name -> [*its states, its last output], each (B, H);
#: an empty list for a node not started yet that takes its initial state from the graph.
State = dict[str, list[np.ndarray]]

_MISSING = object()

#: Default bound for Model.max_elements: 2**30 float32 values = 4 GiB.
DEFAULT_MAX_ELEMENTS = 1 << 30
#: Default Model.time_chunk_elements: a streamable model whose call would hold more than
#: 2**24 values (64 MiB of float32) runs through time in chunks of about that size.
DEFAULT_TIME_CHUNK_ELEMENTS = 1 << 24


@dataclass
class _Node:
    name: str
    op: str
    fn: OpFn
    inputs: list[Ref]
    weights: dict[str, np.ndarray]
    config: dict[str, Any]
    n_outputs: int
    mask: Ref | None = None
    initial_state: list[Ref] = field(default_factory=list)
    out_shapes: list[tuple[int | None, ...]] = field(default_factory=list)
    fast: OpFn | None = None  # a prepared fast path for unmasked calls (ops/fast.py)
    n_states: int = 0  # recurrent ops: how many states follow the output (RECURRENT_STATE_COUNT)
    call: dict[str, Any] = field(default_factory=dict)  # the config keys the op function takes


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (``None`` = free) and dtype of a model input or output."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


def _ref(value: Any, where: str) -> Ref:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or not isinstance(value[1], int)
        or isinstance(value[1], bool)
        or value[1] < 0
    ):
        raise FormatError(f"model.json: {where} must be a reference [name, index], got {value!r}")
    return value[0], value[1]


def _shape(value: Any, where: str) -> tuple[int | None, ...]:
    if not isinstance(value, list) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in value
    ):
        raise FormatError(f"model.json: {where} must be a list of integers or nulls")
    return tuple(value)


class Model:
    """A loaded bundle, ready to predict.

    Example:
        >>> from rnnconvert.runtime import load
        >>> model = load("out/")                       # doctest: +SKIP
        >>> y = model.predict(x)                       # doctest: +SKIP
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
        time_chunk_elements: int = DEFAULT_TIME_CHUNK_ELEMENTS,
    ):
        #: Bound on the number of array elements one call may hold (every node output,
        #: with the call's batch and free lengths filled in); checked before computing.
        self.max_elements = int(max_elements)
        #: A model that streams (see :meth:`stream_plan`) and is not stateful runs a call
        #: whose tensors would exceed this many elements (or ``max_elements``, if smaller)
        #: through time in chunks that fit, carrying its states: memory then holds the
        #: inputs, the outputs and one chunk, whatever the sequence length. 0 disables.
        self.time_chunk_elements = int(time_chunk_elements)
        self.path = bundle.path
        self.doc = bundle.doc
        self.vector_arrays = {k: v for k, v in bundle.arrays.items() if k.startswith("__vectors__/")}
        doc = bundle.doc
        self.format_version: str = doc["format_version"]
        self.inputs: list[TensorInfo] = []
        self.outputs: list[TensorInfo] = []
        produced: dict[str, int] = {}  # producer name -> number of outputs

        raw_inputs = doc.get("inputs")
        if not isinstance(raw_inputs, list) or not raw_inputs:
            raise FormatError("model.json: 'inputs' must be a non-empty list")
        for i, spec in enumerate(raw_inputs):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise FormatError(f"model.json: inputs[{i}] must be an object with a name")
            info = TensorInfo(spec["name"], _shape(spec.get("shape"), f"inputs[{i}].shape"), str(spec.get("dtype")))
            if info.name in produced:
                raise FormatError(f"model.json: duplicate name {info.name!r}")
            if not info.shape:
                raise FormatError(f"model.json: inputs[{i}].shape must include the batch dimension")
            produced[info.name] = 1
            self.inputs.append(info)

        raw_nodes = doc.get("nodes")
        if not isinstance(raw_nodes, list):
            raise FormatError("model.json: 'nodes' must be a list")
        unknown = sorted(
            {
                str(n.get("op"))
                for n in raw_nodes
                if isinstance(n, dict) and not (isinstance(n.get("op"), str) and n["op"] in OPS)
            }
        )
        if unknown:
            raise FormatError(
                f"model.json uses op(s) {', '.join(map(repr, unknown))} unknown to this runtime "
                f"(format {self.format_version}); known ops: {', '.join(sorted(OPS))}"
            )
        self._nodes: list[_Node] = []
        weights = dequantize(doc, bundle.arrays)  # float16 / int8 storage -> float32 (quantize.py)
        for k, raw in enumerate(raw_nodes):
            self._nodes.append(self._check_node(k, raw, produced, weights))

        raw_outputs = doc.get("outputs")
        if not isinstance(raw_outputs, list) or not raw_outputs:
            raise FormatError("model.json: 'outputs' must be a non-empty list")
        self._output_refs: list[Ref] = []
        for i, spec in enumerate(raw_outputs):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise FormatError(f"model.json: outputs[{i}] must be an object with a name")
            ref = _ref(spec.get("from"), f"outputs[{i}].from")
            self._check_ref(ref, produced, f"outputs[{i}]")
            self._output_refs.append(ref)
            self.outputs.append(
                TensorInfo(spec["name"], _shape(spec.get("shape"), f"outputs[{i}].shape"), str(spec.get("dtype")))
            )

        self._recurrent = [n for n in self._nodes if n.op in RECURRENT_STATE_COUNT]
        for n in self._recurrent:
            _state_shape(n, 1)  # a state shape that cannot be known fails here, at load
        self.stateful = any(bool(n.config.get("stateful")) for n in self._recurrent)
        fixed = {i.shape[0] for i in self.inputs if i.shape and i.shape[0] is not None}
        #: The batch size a stateful model is fixed to (from its inputs), None if free.
        self.batch_size: int | None = fixed.pop() if len(fixed) == 1 else None
        self._states: dict[str, list[np.ndarray]] = {}
        self._plan: StreamPlan | None = None  # how the model streams; computed on first use
        # ... and, with it, what step() and chunked predict look up on every call:
        self._timed: frozenset[str] = frozenset()  # the streamed inputs' names
        self._stream_pairs: list[tuple[str, _Node]] = []  # (name, node) of each stream node
        self._node_shapes = [n.out_shapes for n in self._nodes]
        # Per input, the (axis, size) pairs the bundle fixes: what _coerce_inputs checks.
        self._fixed_dims = [[(a, d) for a, d in enumerate(i.shape) if d is not None] for i in self.inputs]
        # ... and the dtype each computes in: float32, or int64 ids for an int input.
        self._input_dtypes = [np.int64 if i.dtype.startswith("int") else np.float32 for i in self.inputs]
        self._budget_cache: dict[tuple[tuple[int, ...], ...], int] = {}

    # -- loading checks ---------------------------------------------------------------
    @staticmethod
    def _check_ref(ref: Ref, produced: dict[str, int], where: str) -> None:
        if ref[0] not in produced:
            raise FormatError(f"model.json: {where} refers to {ref[0]!r}, which is not an input or an earlier node")
        if ref[1] >= produced[ref[0]]:
            raise FormatError(
                f"model.json: {where} refers to output {ref[1]} of {ref[0]!r}, which has {produced[ref[0]]}"
            )

    def _check_node(self, k: int, raw: Any, produced: dict[str, int], arrays: dict[str, np.ndarray]) -> _Node:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise FormatError(f"model.json: nodes[{k}] must be an object with a name")
        name = raw["name"]
        where = f"node {name!r}"
        if name in produced:
            raise FormatError(f"model.json: duplicate name {name!r}")
        op = raw["op"]
        fn = OPS[op]
        inputs = raw.get("inputs")
        if not isinstance(inputs, list):
            raise FormatError(f"model.json: {where}: 'inputs' must be a list")
        refs = [_ref(r, f"{where} inputs[{i}]") for i, r in enumerate(inputs)]
        for r in refs:
            self._check_ref(r, produced, where)
        mask = None
        if raw.get("mask") is not None:
            mask = _ref(raw["mask"], f"{where} mask")
            self._check_ref(mask, produced, where)
        init = raw.get("initial_state") or []
        if not isinstance(init, list):
            raise FormatError(f"model.json: {where}: 'initial_state' must be a list")
        init_refs = [_ref(r, f"{where} initial_state[{i}]") for i, r in enumerate(init)]
        for r in init_refs:
            self._check_ref(r, produced, where)
        config = raw.get("config")
        if not isinstance(config, dict):
            raise FormatError(f"model.json: {where}: 'config' must be an object")
        wmap = raw.get("weights")
        if not isinstance(wmap, dict):
            raise FormatError(f"model.json: {where}: 'weights' must be an object")
        weights: dict[str, np.ndarray] = {}
        for slot, key in wmap.items():
            if not isinstance(key, str) or key not in arrays:
                raise FormatError(
                    f"model.json: {where}: weight {slot!r} names array {key!r}, which weights.arrays lacks"
                )
            weights[slot] = arrays[key]
        outs = raw.get("outputs")
        if not isinstance(outs, list) or not outs:
            raise FormatError(f"model.json: {where}: 'outputs' must be a non-empty list")
        out_shapes = []
        for i, o in enumerate(outs):
            if not isinstance(o, dict):
                raise FormatError(f"model.json: {where}: outputs[{i}] must be an object")
            out_shapes.append(_shape(o.get("shape"), f"{where} outputs[{i}].shape"))
        check_node(op, config, weights, f"model.json: {where} (op {op})", n_inputs=len(refs), n_outputs=len(outs))
        keys = call_keys(op, fn)
        call = {k: v for k, v in config.items() if k in keys}
        # Bind the call now so a config that does not fit the op fails at load, not at predict.
        extra: dict[str, Any] = {}
        if mask is not None:
            extra["mask"] = None
        if init_refs:
            extra["initial_state"] = None
        try:
            inspect.signature(fn).bind(*([None] * len(refs)), **weights, **call, **extra)
        except TypeError as exc:
            raise FormatError(
                f"model.json: {where} (op {op}): config/weights/inputs do not fit the op: {exc}"
            ) from None
        produced[name] = len(outs)
        prepare = FAST_PATHS.get(op)
        fast = prepare(config, weights) if prepare is not None else None
        n_states = RECURRENT_STATE_COUNT.get(op, 0)
        return _Node(name, op, fn, refs, weights, config, len(outs), mask, init_refs, out_shapes, fast, n_states, call)

    # -- predicting ---------------------------------------------------------------------
    def _coerce_inputs(
        self, x: ArrayLike | Sequence[ArrayLike] | dict[str, ArrayLike], *, chunked: Collection[str] = ()
    ) -> list[np.ndarray]:
        """Check and cast the inputs; ``chunked`` names inputs whose axis 1 may have any
        length (a streamed chunk)."""
        n = len(self.inputs)
        if isinstance(x, dict):
            missing = [i.name for i in self.inputs if i.name not in x]
            if missing or len(x) != n:
                raise InputError(f"expected inputs {[i.name for i in self.inputs]}, got {sorted(x)}")
            values = [x[i.name] for i in self.inputs]
        elif n > 1 and isinstance(x, (list, tuple)):
            values = list(x)
        elif isinstance(x, (list, tuple)) and x and all(isinstance(v, np.ndarray) for v in x):
            values = list(x)  # [array] for a single-input model, as Keras accepts
        else:
            values = [x]
        if len(values) != n:
            raise InputError(f"the model takes {n} input(s) {[i.name for i in self.inputs]}, got {len(values)}")
        arrays = []
        batch = None
        for info, fixed, target, value in zip(self.inputs, self._fixed_dims, self._input_dtypes, values):
            if type(value) is np.ndarray:
                a = value
            else:
                try:
                    a = np.asarray(value)
                except Exception as exc:  # ragged lists and the like
                    raise InputError(f"input {info.name!r}: cannot be read as an array ({exc})") from None
            if a.dtype.kind not in "biuf":
                raise InputError(f"input {info.name!r}: dtype {a.dtype} is not numeric; expected {info.dtype}")
            if a.ndim != len(info.shape):
                raise InputError(
                    f"input {info.name!r}: expected shape {_fmt(info.shape)} (rank {len(info.shape)}), got {a.shape}"
                )
            for axis, want in fixed:
                if a.shape[axis] != want and not (
                    (axis == 1 and info.name in chunked) or (axis == 0 and self.stateful)
                ):
                    raise InputError(
                        f"input {info.name!r}: expected shape {_fmt(info.shape)}, got {a.shape} (axis {axis})"
                    )
            if batch is None:
                batch = a.shape[0]
            elif a.shape[0] != batch:
                raise InputError(f"input {info.name!r}: batch size {a.shape[0]} differs from the first input's {batch}")
            if a.dtype != target and (target is np.float32 or a.dtype.kind == "b"):
                # float inputs compute in float32 as Keras does; int inputs (ids) stay ints,
                # and float ids are truncated by the op that reads them, as Keras casts them.
                a = a.astype(target)
            arrays.append(a)
        return arrays

    def _run(
        self,
        arrays: list[np.ndarray],
        states: dict[str, list[np.ndarray]] | None = None,
        *,
        carry_outputs: bool = False,
    ) -> tuple[list[np.ndarray], dict[str, list[np.ndarray]]]:
        """Evaluate the graph. ``states`` gives recurrent nodes their initial states
        (``[*states]``, or ``[*states, last_output]`` with ``carry_outputs``); returns
        the model outputs and every recurrent node's final states in the same layout.

        A node whose bundle entry has ``initial_state`` refs starts from those, as Keras
        does for a stateful layer given an initial state -- except when streaming
        (``carry_outputs``) a node already started: it continues from its carried states."""
        self._check_budget(arrays)
        env: dict[str, list[np.ndarray]] = {info.name: [a] for info, a in zip(self.inputs, arrays)}
        finals: dict[str, list[np.ndarray]] = {}
        for node in self._nodes:
            args = [env[n][i] for n, i in node.inputs]
            n_states = node.n_states
            try:
                if not n_states and node.mask is None and node.fast is not None:
                    outs = node.fast(*args)  # the common stateless node, without the kwargs below
                else:
                    kwargs: dict[str, Any] = {}
                    if node.mask is not None:
                        kwargs["mask"] = env[node.mask[0]][node.mask[1]]
                    carried = states.get(node.name) if states is not None else None
                    if node.initial_state and not (carry_outputs and carried) and _use_given(node, carried):
                        kwargs["initial_state"] = [env[n][i] for n, i in node.initial_state]
                    elif carried:
                        kwargs["initial_state"] = carried[:n_states]
                        if carry_outputs:
                            kwargs["initial_output"] = carried[n_states]
                    if node.fast is not None and node.mask is None:
                        outs = node.fast(*args, **kwargs)
                    else:
                        outs = node.fn(*args, **node.weights, **node.call, **kwargs)
            except (InputError, ResourceError):
                raise
            except MemoryError:
                raise ResourceError(f"node {node.name!r} ({node.op}) ran out of memory") from None
            except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
                # Load-time checks cover the contract of every op; this is the last line for
                # inputs and bundles they could not anticipate, named rather than raw.
                raise FormatError(f"node {node.name!r} ({node.op}) cannot run on these inputs: {exc}") from None
            env[node.name] = outs
            if n_states and states is not None:
                final = outs[1:]
                if carry_outputs:  # the last output, which a masked next step repeats
                    y = outs[0]
                    if not node.config.get("return_sequences"):
                        last = y
                    elif y.shape[1]:
                        last = y[:, -1]
                    else:  # an empty chunk
                        last = kwargs.get("initial_output", np.zeros((y.shape[0], *y.shape[2:]), np.float32))
                    final.append(last)
                finals[node.name] = final
        return [env[n][i] for n, i in self._output_refs], finals

    def _check_budget(self, arrays: list[np.ndarray]) -> None:
        """Refuse, before allocating, a call whose tensors would exceed ``max_elements``."""
        total = self._call_elements(arrays)
        if total > self.max_elements:
            raise ResourceError(
                f"this call needs about {total:,} array elements, over max_elements={self.max_elements:,}; "
                "split the batch or the sequence, or load(..., max_elements=N) to raise the bound"
            )

    def _call_elements(self, arrays: list[np.ndarray]) -> int:
        """The elements a call on ``arrays`` holds: its inputs and every node output, with
        the call's batch and free lengths filled in."""
        key = tuple(a.shape for a in arrays)
        total = self._budget_cache.get(key)  # streaming asks every step, with the same shapes
        if total is None:
            batch = arrays[0].shape[0] if arrays and arrays[0].ndim else 1
            free = 1
            for info, a in zip(self.inputs, arrays):
                for axis, want in enumerate(info.shape[1:], start=1):
                    if want is None and axis < a.ndim:
                        free = max(free, a.shape[axis])
            total = sum(int(a.size) for a in arrays)
            for shapes in self._node_shapes:
                for shape in shapes:
                    n = 1
                    for axis, d in enumerate(shape):
                        n *= d if d is not None else (batch if axis == 0 else free)
                    total += n
            if len(self._budget_cache) >= 64:
                self._budget_cache.clear()
            self._budget_cache[key] = total
        return total

    def predict(self, x: ArrayLike | Sequence[ArrayLike] | dict[str, ArrayLike]) -> np.ndarray | list[np.ndarray]:
        """Run the model like Keras's ``model.predict``.

        Args:
            x: one array for a single-input model; a list of arrays in input order
                (or a dict by input name) for several. Any batch size; any length
                along dimensions the bundle marks free (``None``).

        Returns:
            One float32 array for a single-output model, else a list in output order.

        A stateful model (any recurrent node with ``stateful``) starts each call
        from the states the previous call ended with, until :meth:`reset_states`;
        its batch size is fixed.

        A long call of a model that streams runs through time in chunks (see
        ``time_chunk_elements``), which holds its memory to the inputs, the outputs and
        one chunk; the numbers are those of the whole sequence.
        """
        arrays = self._coerce_inputs(x)
        if self.stateful:
            batch = arrays[0].shape[0]
            if self.batch_size is None:
                self.batch_size = batch
            if batch != self.batch_size:
                raise InputError(
                    f"this stateful model runs with batch size {self.batch_size}, got {batch}; "
                    "Keras fixes a stateful model's batch size too"
                )
            states = self._states or {
                n.name: self._zeros(n, batch) for n in self._recurrent if n.config.get("stateful")
            }
            outs, finals = self._run(arrays, states)
            self._states = {n.name: finals[n.name] for n in self._recurrent if n.config.get("stateful")}
        else:
            chunk = self._time_chunk(arrays)
            outs = self._run_chunked(arrays, chunk) if chunk else self._run(arrays)[0]
        outs = [np.asarray(o) for o in outs]
        return outs[0] if len(outs) == 1 else outs

    # -- long sequences: through time a chunk at a time ------------------------------------
    def _time_chunk(self, arrays: list[np.ndarray]) -> int:
        """Timesteps per chunk for a call whose intermediate tensors would exceed
        ``time_chunk_elements`` on the whole sequence, or 0 to run it whole.

        Only models that stream (``stream_plan()``) are chunked: they give, chunk by
        chunk with carried states, exactly what they give on the whole sequence."""
        if self.time_chunk_elements <= 0:
            return 0
        limit = min(self.time_chunk_elements, self.max_elements)
        plan = self.stream_plan()
        if plan.error or self.stateful:
            return 0
        timed = self._timed
        lengths = {a.shape[1] for info, a in zip(self.inputs, arrays) if info.name in timed}
        if len(lengths) != 1:
            return 0
        (length,) = lengths
        total = self._call_elements(arrays)
        if total <= limit or length < 2:
            return 0
        # total = fixed + per_step * T (the inputs and every node output are affine in T)
        one = self._call_elements([a[:, :1] if i.name in timed else a for i, a in zip(self.inputs, arrays)])
        per_step = max(1, (total - one) // (length - 1))
        chunk = max(1, (limit - (one - per_step)) // per_step)
        return chunk if chunk < length else 0

    def _run_chunked(self, arrays: list[np.ndarray], chunk: int) -> list[np.ndarray]:
        """``_run`` on the whole sequence, computed ``chunk`` timesteps at a time with the
        streaming states carried (see :meth:`step`): the call holds the inputs, the
        outputs, and one chunk's intermediate tensors -- whatever the sequence length."""
        plan = self.stream_plan()
        timed = self._timed
        is_timed = [info.name in timed for info in self.inputs]
        length = next(a.shape[1] for a, t in zip(arrays, is_timed) if t)
        state = self.initial_state(arrays[0].shape[0])
        outs: list[np.ndarray] = []
        for s in range(0, length, chunk):
            part = [a[:, s : s + chunk] if t else a for a, t in zip(arrays, is_timed)]
            got, finals = self._run(part, state, carry_outputs=True)
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
        if size > self.max_elements:
            raise ResourceError(
                f"this call's output of shape {shape} has {size:,} elements, over max_elements="
                f"{self.max_elements:,}; split the batch or the sequence, or load(..., max_elements=N)"
            )
        return np.empty(shape, first.dtype)

    def reset_states(self) -> None:
        """Forget the states a stateful model carries between ``predict`` calls (back to zeros)."""
        self._states = {}

    @staticmethod
    def _zeros(node: _Node, batch: int) -> list[np.ndarray]:
        return [np.zeros(_state_shape(node, batch), np.float32) for _ in range(RECURRENT_STATE_COUNT[node.op])]

    # -- streaming ----------------------------------------------------------------------
    def stream_plan(self) -> StreamPlan:
        """How this model streams (see :mod:`rnnconvert.runtime.streaming`): which inputs
        are fed chunk by chunk, which recurrent nodes carry state, or why it cannot."""
        if self._plan is None:
            plan = plan_stream(self.inputs, self._nodes, self._output_refs)
            nodes = {n.name: n for n in self._recurrent}
            self._timed = frozenset(plan.timed_inputs)
            self._stream_pairs = [(name, nodes[name]) for name in plan.stream_nodes]
            self._plan = plan
        return self._plan

    def _check_streamable(self) -> StreamPlan:
        plan = self.stream_plan()
        if plan.error:
            raise InputError(f"this model cannot be streamed: {plan.error}")
        return plan

    def initial_state(self, batch_size: int) -> State:
        """The streaming state before the first timestep of ``batch_size`` sequences.

        The layout (also documented in docs/FORMAT.md, section 7): a dict from the name
        of each recurrent node that reads the streamed sequence to ``[*states,
        last_output]`` -- LSTM ``[h, c, y]``, GRU and SimpleRNN ``[h, y]`` -- each of
        shape ``(batch_size, units)`` (a ``ConvLSTM``'s: its state outputs' shape) and zero;
        or ``[]`` for a node whose Keras layer
        was given an ``initial_state`` tensor: it takes that on its first step.
        """
        plan = self._check_streamable()
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        nodes = {n.name: n for n in self._recurrent}
        state: State = {}
        for name in plan.stream_nodes:
            n = nodes[name]
            zeros = self._zeros(n, int(batch_size)) + [np.zeros(_state_shape(n, int(batch_size)), np.float32)]
            state[name] = [] if n.initial_state else zeros
        return state

    def step(
        self, x: ArrayLike | Sequence[ArrayLike] | dict[str, ArrayLike], state: State
    ) -> tuple[np.ndarray | list[np.ndarray], State]:
        """Feed one timestep or a chunk of timesteps, carrying ``state`` explicitly.

        Args:
            x: like ``predict``'s. Each streamed input (``stream_plan().timed_inputs``)
                is either one timestep, its time axis left out (``(B, D)``, or ``(B,)``
                for token ids), or a chunk ``(B, t, ...)``; every other input (a
                conditioning vector) is given whole, the same on every call.
            state: from :meth:`initial_state` or the previous ``step``.

        Returns:
            ``(y, new_state)``: ``y`` is what ``predict`` returns for the chunk --
            per-step outputs for the chunk's timesteps (no time axis for a single
            timestep), or the result so far for outputs without a time axis.
            Feeding a sequence chunk by chunk gives the same numbers as ``predict``
            on the whole sequence. ``state`` is not modified. A stateful model's own
            ``predict`` state is neither used nor changed.

        Example:
            >>> state = model.initial_state(batch_size=1)            # doctest: +SKIP
            >>> for x_t in frames:                                    # doctest: +SKIP
            ...     y_t, state = model.step(x_t[None], state)
        """
        plan = self._check_streamable()
        values = self._input_values(x)
        timed = self._timed
        singles = set()
        for k, info in enumerate(self.inputs):
            if info.name in timed:
                v = values[k] if isinstance(values[k], np.ndarray) else np.asarray(values[k])
                single = v.ndim == len(info.shape) - 1
                singles.add(single)
                # (B, ...) -> (B, 1, ...); indexing is ~10x cheaper than np.expand_dims
                values[k] = (v[:, None] if v.ndim else np.expand_dims(v, 1)) if single else v
        if len(singles) > 1:
            raise InputError("give every streamed input one timestep, or every one a chunk, not a mix")
        single = singles.pop()
        arrays = self._coerce_inputs(values, chunked=timed)
        batch = arrays[0].shape[0]
        self._check_state(state, batch)
        outs, finals = self._run(arrays, state, carry_outputs=True)
        outs = [o if type(o) is np.ndarray else np.asarray(o) for o in outs]
        if single:
            outs = [o[:, 0] if kind == TIMED else o for o, kind in zip(outs, plan.output_kinds)]
        new_state = {name: finals[name] for name in plan.stream_nodes}
        return (outs[0] if len(outs) == 1 else outs), new_state

    def _input_values(self, x: ArrayLike | Sequence[ArrayLike] | dict[str, ArrayLike]) -> list[Any]:
        """``x`` as a list in input order (the forms ``predict`` accepts)."""
        n = len(self.inputs)
        if isinstance(x, dict):
            missing = [i.name for i in self.inputs if i.name not in x]
            if missing or len(x) != n:
                raise InputError(f"expected inputs {[i.name for i in self.inputs]}, got {sorted(x)}")
            return [x[i.name] for i in self.inputs]
        if n > 1 and isinstance(x, (list, tuple)):
            if len(x) != n:
                raise InputError(f"the model takes {n} input(s) {[i.name for i in self.inputs]}, got {len(x)}")
            return list(x)
        if isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray):
            return [x[0]]
        return [x]

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
            want = _state_shape(n, batch)
            count = n.n_states + 1
            ok = isinstance(entry, list) and len(entry) == count
            if ok:
                for a in entry:
                    if not isinstance(a, np.ndarray) or a.shape != want:
                        ok = False
                        break
            if not ok:
                raise InputError(
                    f"state[{name!r}] must be {count} arrays of shape {want} ([*states, last_output]) "
                    f"for a batch of {batch}; start from model.initial_state({batch})"
                )

    def __repr__(self) -> str:
        ins = ", ".join(f"{i.name}{_fmt(i.shape)}" for i in self.inputs)
        outs = ", ".join(f"{o.name}{_fmt(o.shape)}" for o in self.outputs)
        return (
            f"<rnnconvert Model format {self.format_version}: {len(self._nodes)} nodes; inputs {ins}; outputs {outs}>"
        )


def _use_given(node: _Node, carried: list[np.ndarray] | None) -> bool:
    """F2: a stateful node given ``initial_state`` restarts from it every call
    (``every_call``, Keras 3), or only while every carried state is all zeros
    (``while_states_zero``, tf_keras: the first call and after ``reset_states``)."""
    if not carried or node.config.get("initial_state_rule") != WHILE_STATES_ZERO:
        return True
    return not any(np.any(s) for s in carried[: node.n_states])


def _state_shape(node: _Node, batch: int) -> tuple[int, ...]:
    """The shape of each state (and of the last output) of recurrent ``node`` for ``batch``
    rows: ``(batch, units)``, or a ``ConvLSTM``'s ``(batch, *S', F)`` (channels first:
    ``(batch, F, *S')``) -- its state outputs' declared shape, which the converter knows."""
    if "units" in node.config:
        return (batch, int(node.config["units"]))
    dims = node.out_shapes[1][1:] if len(node.out_shapes) > 1 else [None]
    if any(not isinstance(d, int) for d in dims):
        raise FormatError(f"model.json: node {node.name!r} ({node.op}): its state outputs need a known shape")
    return (batch, *dims)


def _fmt(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def load(
    path: str | os.PathLike[str],
    *,
    max_weight_bytes: int = MAX_WEIGHT_BYTES,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    time_chunk_elements: int = DEFAULT_TIME_CHUNK_ELEMENTS,
    verify: bool = False,
) -> Model:
    """Load a bundle directory written by the converter.

    Every check happens here -- version, structure, weights checksum, array
    shapes, the graph's references -- so ``predict`` only checks its inputs.
    With ``verify=True`` it also validates the JSON Schema (when jsonschema is
    installed) and runs the bundle's stored test vectors, raising FormatError if
    they do not reproduce.

    Example:
        >>> from rnnconvert.runtime import load
        >>> model = load("out/")                      # doctest: +SKIP
        >>> model.predict(np.zeros((1, 10, 3), np.float32)).shape   # doctest: +SKIP
    """
    bundle = read_bundle(path, max_weight_bytes=max_weight_bytes)
    if verify:
        _validate_schema_if_available(bundle.doc)
    model = Model(bundle, max_elements=max_elements, time_chunk_elements=time_chunk_elements)
    if verify:
        from .verify import run_vectors

        report = run_vectors(model)
        if report is not None and not report.ok:
            raise FormatError(f"{path}: the bundle's test vectors do not reproduce: " + "; ".join(report.lines()[1:]))
    return model


def _validate_schema_if_available(doc: dict[str, Any]) -> None:
    """Full JSON Schema validation when jsonschema is installed (the runtime never needs it)."""
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return
    from ..schema import validate

    validate(doc)

"""The runtime model: a small facade over the load-time plan (plan.py), the executor
(executor.py), the input parser (inputs.py) and streaming (stepping.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError
from .bundle import MAX_WEIGHT_BYTES, Bundle, read_bundle
from .common import VECTOR_PREFIX, format_shape
from .executor import Executor
from .inputs import InputParser, Inputs
from .metadata import check_metadata, metadata_of
from .plan import Node, TensorInfo, build_plan, state_shape, zero_states
from .quantize import dequantize
from .stepping import State, Streamer
from .streaming import StreamPlan

#: Default bound for Model.max_elements: 2**30 float32 values = 4 GiB.
DEFAULT_MAX_ELEMENTS = 1 << 30
#: Default Model.time_chunk_elements: a streamable model whose call would hold more than
#: 2**24 values (64 MiB of float32) runs through time in chunks of about that size.
DEFAULT_TIME_CHUNK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class CallEstimate:
    """What a call on given inputs would hold (see :meth:`Model.estimate`)."""

    elements: int  # array elements of the whole call, by the declared shapes
    time_chunk: int  # timesteps per chunk predict would run it in; 0: the whole call at once


class Model:
    """A loaded bundle, ready to predict.

    Example:
        >>> from rnnconvert.runtime import load
        >>> model = load("out/")                       # doctest: +SKIP
        >>> y = model.predict(x)                       # doctest: +SKIP
    """

    vector_arrays: dict[str, np.ndarray]  # the bundle's stored test vectors, by key

    def __init__(
        self,
        bundle: Bundle,
        *,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
        time_chunk_elements: int = DEFAULT_TIME_CHUNK_ELEMENTS,
    ):
        weights = dequantize(bundle.doc, bundle.arrays)  # float16 / int8 storage -> float32 (quantize.py)
        self._setup(bundle.doc, weights, bundle.path, max_elements, time_chunk_elements)
        self.vector_arrays = {k: v for k, v in bundle.arrays.items() if k.startswith(VECTOR_PREFIX)}
        #: The format version the bundle file declares (``format_version`` is what it was migrated to).
        self.declared_format_version = bundle.declared_version or self.format_version

    @classmethod
    def from_arrays(
        cls,
        doc: dict[str, Any],
        arrays: Mapping[str, np.ndarray],
        *,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
        time_chunk_elements: int = DEFAULT_TIME_CHUNK_ELEMENTS,
    ) -> Model:
        """A model from a ``model.json`` document and its arrays in memory, without files.

        ``doc`` is a current-format document (not migrated); ``arrays`` maps the keys its
        nodes name to the weights to compute with, as float arrays (its ``weights`` section,
        with any quantization, is not read). Every load-time check runs, as in :func:`load`.
        """
        model = cls.__new__(cls)
        model._setup(doc, dict(arrays), None, max_elements, time_chunk_elements)
        model.vector_arrays = {k: v for k, v in arrays.items() if k.startswith(VECTOR_PREFIX)}
        model.declared_format_version = model.format_version
        return model

    def _setup(
        self,
        doc: dict[str, Any],
        weights: dict[str, np.ndarray],
        path: Path | None,
        max_elements: int,
        time_chunk_elements: int,
    ) -> None:
        #: A model that streams (see :meth:`stream_plan`) and is not stateful runs a call
        #: whose tensors would exceed this many elements (or ``max_elements``, if smaller)
        #: through time in chunks that fit, carrying its states: memory then holds the
        #: inputs, the outputs and one chunk, whatever the sequence length. 0 disables.
        self.time_chunk_elements = int(time_chunk_elements)
        self.path = path
        self.doc = doc
        self.vector_arrays = {}
        if "metadata" in doc:
            check_metadata(doc["metadata"], "model.json: metadata")
        plan = build_plan(doc, weights)
        self._graph = plan
        self.format_version: str = plan.format_version
        self.inputs: list[TensorInfo] = plan.inputs
        self.outputs: list[TensorInfo] = plan.outputs
        self.stateful: bool = plan.stateful
        #: The batch size a stateful model is fixed to (from its inputs), None if free.
        self.batch_size: int | None = plan.batch_size
        self._executor = Executor(plan, max_elements)
        self._parser = InputParser(plan.inputs, stateful=plan.stateful)
        self._streamer = Streamer(plan, self._executor, self._parser)
        self._states: dict[str, list[np.ndarray]] = {}
        self._stateful_nodes = [n for n in plan.recurrent if n.config.get("stateful")]

    @property
    def metadata(self) -> dict[str, Any]:
        """The JSON object given at conversion (``rnnconvert ... --metadata FILE.json``:
        a vocabulary, label names, ...), as a fresh copy; ``{}`` when the bundle has none."""
        return metadata_of(self.doc)

    @property
    def max_elements(self) -> int:
        """Bound on the number of array elements one call may hold: checked before
        computing (every node output, with the call's batch and free lengths filled in)
        and, as it runs, on the outputs each node really produced."""
        return self._executor.max_elements

    @max_elements.setter
    def max_elements(self, value: int) -> None:
        self._executor.max_elements = int(value)

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The planned nodes in order (read-only use: tools, reference evaluations)."""
        return tuple(self._graph.nodes)

    @property
    def output_refs(self) -> list[tuple[str, int]]:
        """Each model output as ``(node or input name, output index)``."""
        return list(self._graph.output_refs)

    # -- predicting ---------------------------------------------------------------------
    def predict(self, x: Inputs, batch_size: int | None = None, verbose: Any = None) -> np.ndarray | list[np.ndarray]:
        """Run the model like Keras's ``model.predict``.

        Args:
            x: one array for a single-input model; a list of arrays in input order
                (or a dict by input name) for several. Any batch size; any length
                along dimensions the bundle marks free (``None``), but not 0.
            batch_size: as Keras's: run the rows this many at a time (None: all at
                once). A stateful model carries its states from one batch to the next.
            verbose: accepted for Keras's habits, and ignored.

        Returns:
            One float32 array for a single-output model, else a list in output order.

        A stateful model (any recurrent node with ``stateful``) starts each call
        from the states the previous call ended with, until :meth:`reset_states`;
        its batch size is fixed.

        A long call of a model that streams runs through time in chunks (see
        ``time_chunk_elements``), which holds its memory to the inputs, the outputs and
        one chunk; the numbers are those of the whole sequence.
        """
        del verbose
        arrays = self._parser(x)
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
                raise InputError(f"batch_size must be a positive integer or None, got {batch_size!r}")
            rows = arrays[0].shape[0]
            if rows > batch_size:
                parts = [self._predict([a[s : s + batch_size] for a in arrays]) for s in range(0, rows, batch_size)]
                outs = [np.concatenate(chunks) for chunks in zip(*parts)]
                return outs[0] if len(outs) == 1 else outs
        outs = self._predict(arrays)
        return outs[0] if len(outs) == 1 else outs

    def _predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        if self.stateful:
            batch = arrays[0].shape[0]
            if self.batch_size is None:
                self.batch_size = batch
            if batch != self.batch_size:
                raise InputError(
                    f"this stateful model runs with batch size {self.batch_size}, got {batch}; "
                    "Keras fixes a stateful model's batch size too"
                )
            states = self._states or {n.name: zero_states(n, batch) for n in self._stateful_nodes}
            outs, finals = self._executor.run(arrays, states)
            self._states = {n.name: finals[n.name] for n in self._stateful_nodes}
        else:
            chunk = self._time_chunk(arrays)
            outs = self._streamer.run_chunked(arrays, chunk) if chunk else self._executor.run(arrays)[0]
        # ids (a Lookup's or Discretization's int64) come out as float32 like every output
        return [np.asarray(o, np.float32) if np.asarray(o).dtype.kind in "iu" else np.asarray(o) for o in outs]

    def _time_chunk(self, arrays: list[np.ndarray]) -> int:
        if self.time_chunk_elements <= 0:
            return 0
        return self._streamer.time_chunk(arrays, min(self.time_chunk_elements, self.max_elements))

    def estimate(self, x: Inputs) -> CallEstimate:
        """What ``predict(x)`` would hold, by the declared shapes, and whether it would run
        through time in chunks -- without running it."""
        arrays = self._parser(x)
        return CallEstimate(self._executor.call_elements(arrays), 0 if self.stateful else self._time_chunk(arrays))

    # -- a stateful model's states -----------------------------------------------------
    def reset_states(self) -> None:
        """Forget the states a stateful model carries between ``predict`` calls (back to zeros)."""
        self._states = {}

    def get_states(self) -> dict[str, list[np.ndarray]]:
        """A copy of the states a stateful model carries between ``predict`` calls, by
        recurrent node name (``{}`` before the first call and after :meth:`reset_states`)."""
        return {name: [a.copy() for a in states] for name, states in self._states.items()}

    def set_states(self, states: Mapping[str, list[np.ndarray]]) -> None:
        """Restore states from :meth:`get_states` (``{}``: as after :meth:`reset_states`)."""
        if not isinstance(states, Mapping):
            raise InputError("states must be a dict from model.get_states()")
        if not states:
            self._states = {}
            return
        names = [n.name for n in self._stateful_nodes]
        if sorted(states) != sorted(names):
            raise InputError(f"states must name the stateful nodes {names}, got {sorted(map(str, states))}")
        new: dict[str, list[np.ndarray]] = {}
        for n in self._stateful_nodes:
            entry = states[n.name]
            batch = self.batch_size if self.batch_size is not None else _rows(entry)
            want = state_shape(n, batch)
            if (
                not isinstance(entry, list)
                or len(entry) != n.n_states
                or any(not isinstance(a, np.ndarray) or a.shape != want for a in entry)
            ):
                raise InputError(f"states[{n.name!r}] must be {n.n_states} arrays of shape {want}")
            new[n.name] = [np.array(a, np.float32) for a in entry]
        self._states = new

    # -- streaming ----------------------------------------------------------------------
    def stream_plan(self) -> StreamPlan:
        """How this model streams (see :mod:`rnnconvert.runtime.streaming`): which inputs
        are fed chunk by chunk, which recurrent nodes carry state, or why it cannot."""
        return self._streamer.stream_plan()

    def initial_state(self, batch_size: int) -> State:
        """The streaming state before the first timestep of ``batch_size`` sequences.

        The layout (also documented in docs/FORMAT.md, section 7): a dict from the name
        of each recurrent node that reads the streamed sequence to ``[*states,
        last_output]`` -- LSTM ``[h, c, y]``, GRU and SimpleRNN ``[h, y]`` -- each of
        shape ``(batch_size, units)`` (a ``ConvLSTM``'s: its state outputs' shape) and zero;
        or ``[]`` for a node whose Keras layer
        was given an ``initial_state`` tensor: it takes that on its first step.
        """
        return self._streamer.initial_state(batch_size)

    def step(self, x: Inputs, state: State) -> tuple[np.ndarray | list[np.ndarray], State]:
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
            ``predict`` state is neither used nor changed. A node given an initial
            state starts from it on its first step and continues from its carried
            states after, under either ``initial_state_rule``: a stream is one call.

        Example:
            >>> state = model.initial_state(batch_size=1)            # doctest: +SKIP
            >>> for x_t in frames:                                    # doctest: +SKIP
            ...     y_t, state = model.step(x_t[None], state)
        """
        return self._streamer.step(x, state)

    def __repr__(self) -> str:
        ins = ", ".join(f"{i.name}{format_shape(i.shape)}" for i in self.inputs)
        outs = ", ".join(f"{o.name}{format_shape(o.shape)}" for o in self.outputs)
        n = len(self._graph.nodes)
        return f"<rnnconvert Model format {self.format_version}: {n} nodes; inputs {ins}; outputs {outs}>"


def _rows(entry: Any) -> int:
    first = entry[0] if isinstance(entry, list) and entry else None
    return int(first.shape[0]) if isinstance(first, np.ndarray) and first.ndim else 0


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

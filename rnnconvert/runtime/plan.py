"""The load-time plan: a bundle's document checked once and turned into nodes ready to run.

Every structural check happens here -- references, shapes, each node's config and weights
against its op (checks.py), the state shapes of recurrent nodes, and which nodes take a
prepared fast path (runtime/fast/) -- so a malformed bundle fails at ``load`` with a
FormatError naming the node, and the executor only runs what was planned.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError
from .checks import call_keys, check_named, check_node
from .fast import MASKED_FAST_PATHS, fuse_conv_pool, masked_fast, pair_bidirectional, prepare_fast
from .ops import OPS, RECURRENT_STATE_COUNT, OpFn

Ref = tuple[str, int]
Shape = tuple[int | None, ...]

#: How a stateful recurrent node given ``initial_state`` starts a call (format 1.2, F2):
#: ``every_call`` restarts from the given state on every call (Keras 3); ``while_states_zero``
#: uses it only while all of the node's carried states are zero -- the first call and after
#: ``reset_states`` -- and otherwise continues from them (tf_keras / Keras 2).
INITIAL_STATE_RULES = ("every_call", "while_states_zero")
#: Config keys the runtime reads itself and does not pass to the op function.
RUNTIME_KEYS = frozenset({"initial_state_rule"})


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (``None`` = free) and dtype of a model input or output."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


def _unplanned(*args: Any, **kwargs: Any) -> list[np.ndarray]:
    raise RuntimeError("a node not planned by plan_node cannot run")


@dataclass
class Node:
    """One planned node: what it reads, the weights and config of its op, and ``call`` --
    the function to run, decided at load: the prepared fast path when the op has one for
    this config and the node has no mask or named inputs, else the reference op with its weights and config
    bound. ``fn`` is the reference op itself (for tools that evaluate it differently)."""

    name: str
    op: str
    fn: OpFn
    inputs: list[Ref]
    weights: dict[str, np.ndarray]
    config: dict[str, Any]
    n_outputs: int
    mask: Ref | None = None
    initial_state: list[Ref] = field(default_factory=list)
    #: Inputs given by name (format 1.2, node field ``named_inputs``): keyword arguments of the op.
    named: dict[str, Ref] = field(default_factory=dict)
    #: How they reach the op function: (keyword, list position or None, ref), and the
    #: length of each list keyword (a per-input slot: one entry per positional input).
    named_args: list[tuple[str, int | None, Ref]] = field(default_factory=list)
    named_lists: dict[str, int] = field(default_factory=dict)
    out_shapes: list[Shape] = field(default_factory=list)
    n_states: int = 0  # recurrent ops: how many states follow the output
    call: OpFn = field(default_factory=lambda: _unplanned)  # set by plan_node
    fast: bool = False  # whether ``call`` is a prepared fast path
    initial_state_rule: str = "every_call"
    #: The config as the op function takes it: the keys its declaration passes to the function.
    op_config: dict[str, Any] = field(default_factory=dict)
    #: What the plan fused into this node ("" = nothing; see fast/conv_pool.py): its ``call``
    #: then computes more or less than its op (``fn`` and ``out_shapes`` stay the op's and
    #: the bundle's), and the executor sizes it from its ``call_shapes``, not the op's rule.
    fused: str = ""
    #: The shapes ``call``'s outputs have where a fusion changed them (else empty: ``out_shapes``).
    call_shapes: list[Shape] = field(default_factory=list)

    @property
    def result_shapes(self) -> list[Shape]:
        """The shapes ``call``'s outputs have: ``call_shapes`` where a fusion changed them,
        else the bundle's ``out_shapes``."""
        return self.call_shapes or self.out_shapes


@dataclass
class Plan:
    """A checked model graph: inputs, nodes in order, outputs."""

    format_version: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    nodes: list[Node]
    output_refs: list[Ref]
    recurrent: list[Node]
    stateful: bool
    batch_size: int | None  # the batch a model is fixed to by its inputs, None if free


def as_ref(value: Any, where: str) -> Ref:
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


def as_shape(value: Any, where: str) -> Shape:
    if not isinstance(value, list) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in value
    ):
        raise FormatError(f"model.json: {where} must be a list of integers or nulls")
    return tuple(value)


def _check_ref(ref: Ref, produced: dict[str, int], where: str) -> None:
    if ref[0] not in produced:
        raise FormatError(f"model.json: {where} refers to {ref[0]!r}, which is not an input or an earlier node")
    if ref[1] >= produced[ref[0]]:
        raise FormatError(f"model.json: {where} refers to output {ref[1]} of {ref[0]!r}, which has {produced[ref[0]]}")


def _refs(raw: Any, key: str, where: str, produced: dict[str, int]) -> list[Ref]:
    value = raw.get(key)
    if key == "initial_state" and value is None:
        value = []  # optional
    if not isinstance(value, list):
        raise FormatError(f"model.json: {where}: '{key}' must be a list")
    refs = [as_ref(r, f"{where} {key}[{i}]") for i, r in enumerate(value)]
    for r in refs:
        _check_ref(r, produced, where)
    return refs


def _named(raw: Any, where: str, produced: dict[str, int]) -> dict[str, Ref]:
    value = raw.get("named_inputs")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"model.json: {where}: 'named_inputs' must be an object")
    named = {}
    for key, r in value.items():
        named[key] = ref = as_ref(r, f"{where} named_inputs.{key}")
        _check_ref(ref, produced, where)
    return named


def _named_args(spec: Any, named: dict[str, Ref], n_inputs: int) -> tuple[list[Any], dict[str, int]]:
    """The op-function keywords of a node's (checked) named inputs: a plain slot is its own
    keyword; a per-input slot ``<slot>_<k>`` is entry k of a list keyword."""
    args: list[tuple[str, int | None, Ref]] = []
    lists: dict[str, int] = {}
    for name, ref in named.items():
        slot = spec.named_slot(name, n_inputs)
        decl = spec.named_inputs[slot]
        if decl.per_input:
            lists[decl.kwarg(slot)] = n_inputs
            args.append((decl.kwarg(slot), int(name.rpartition("_")[2]), ref))
        else:
            args.append((decl.kwarg(slot), None, ref))
    return args, lists


def _weights(raw: Any, where: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    wmap = raw.get("weights")
    if not isinstance(wmap, dict):
        raise FormatError(f"model.json: {where}: 'weights' must be an object")
    weights: dict[str, np.ndarray] = {}
    for slot, key in wmap.items():
        if not isinstance(key, str) or key not in arrays:
            raise FormatError(f"model.json: {where}: weight {slot!r} names array {key!r}, which weights.arrays lacks")
        weights[slot] = arrays[key]
    return weights


def _out_shapes(raw: Any, where: str) -> list[Shape]:
    outs = raw.get("outputs")
    if not isinstance(outs, list) or not outs:
        raise FormatError(f"model.json: {where}: 'outputs' must be a non-empty list")
    shapes = []
    for i, o in enumerate(outs):
        if not isinstance(o, dict):
            raise FormatError(f"model.json: {where}: outputs[{i}] must be an object")
        shapes.append(as_shape(o.get("shape"), f"{where} outputs[{i}].shape"))
    return shapes


def _initial_state_rule(config: dict[str, Any], where: str) -> str:
    rule = config.get("initial_state_rule", "every_call")
    if rule not in INITIAL_STATE_RULES:
        raise FormatError(f"model.json: {where}: initial_state_rule must be one of {INITIAL_STATE_RULES}, got {rule!r}")
    return str(rule)


@functools.cache
def _signature(fn: OpFn) -> inspect.Signature:
    """An op function's signature, made once per function rather than once per node load."""
    return inspect.signature(fn)


def plan_node(k: int, raw: Any, produced: dict[str, int], arrays: dict[str, np.ndarray]) -> Node:
    """Check node ``k`` of the document against what is ``produced`` before it and plan its call."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise FormatError(f"model.json: nodes[{k}] must be an object with a name")
    name = raw["name"]
    where = f"node {name!r}"
    if name in produced:
        raise FormatError(f"model.json: duplicate name {name!r}")
    op = raw["op"]
    fn = OPS[op]
    refs = _refs(raw, "inputs", where, produced)
    mask = None
    if raw.get("mask") is not None:
        mask = as_ref(raw["mask"], f"{where} mask")
        _check_ref(mask, produced, where)
    init_refs = _refs(raw, "initial_state", where, produced)
    named = _named(raw, where, produced)
    config = raw.get("config")
    if not isinstance(config, dict):
        raise FormatError(f"model.json: {where}: 'config' must be an object")
    weights = _weights(raw, where, arrays)
    out_shapes = _out_shapes(raw, where)
    rule = _initial_state_rule(config, where)
    spec = check_node(
        op, config, weights, f"model.json: {where} (op {op})", n_inputs=len(refs), n_outputs=len(out_shapes)
    )
    check_named(spec, list(named), len(refs), f"model.json: {where} (op {op})")
    named_args, named_lists = _named_args(spec, named, len(refs))
    keys = call_keys(op, fn)  # the op function takes only what its declaration says (no catch-all)
    op_config = {k: v for k, v in config.items() if k in keys and k not in RUNTIME_KEYS}
    # Bind the call now so a config that does not fit the op fails at load, not at predict.
    extra: dict[str, Any] = dict.fromkeys(kw for kw, _, _ in named_args)
    if mask is not None:
        extra["mask"] = None
    if init_refs:
        extra["initial_state"] = None
    try:
        _signature(fn).bind(*([None] * len(refs)), **weights, **op_config, **extra)
    except TypeError as exc:
        raise FormatError(f"model.json: {where} (op {op}): config/weights/inputs do not fit the op: {exc}") from None
    produced[name] = len(out_shapes)
    # The fast path, decided once; a masked node takes it only where the fast op handles masks
    # (``call_masked``), falling back to the reference op call by call.
    reference = functools.partial(fn, **weights, **op_config)
    wanted = not named and (mask is None or op in MASKED_FAST_PATHS)  # else prepared only to be dropped
    fast = prepare_fast(op, config, weights) if wanted else None
    if mask is not None and fast is not None:
        fast = masked_fast(fast, reference)
    call: OpFn = fast if fast is not None else reference
    node = Node(name, op, fn, refs, weights, config, len(out_shapes), mask, init_refs, named, out_shapes=out_shapes)
    node.op_config = op_config
    node.named_args, node.named_lists = named_args, named_lists
    node.n_states = RECURRENT_STATE_COUNT.get(op, 0)
    node.call, node.fast, node.initial_state_rule = call, fast is not None, rule
    return node


def _tensor_infos(raw: Any, key: str, produced: dict[str, int] | None) -> list[TensorInfo]:
    if not isinstance(raw, list) or not raw:
        raise FormatError(f"model.json: '{key}' must be a non-empty list")
    infos = []
    for i, spec in enumerate(raw):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise FormatError(f"model.json: {key}[{i}] must be an object with a name")
        info = TensorInfo(spec["name"], as_shape(spec.get("shape"), f"{key}[{i}].shape"), str(spec.get("dtype")))
        if produced is not None:
            if info.name in produced:
                raise FormatError(f"model.json: duplicate name {info.name!r}")
            if not info.shape:
                raise FormatError(f"model.json: {key}[{i}].shape must include the batch dimension")
            produced[info.name] = 1
        infos.append(info)
    return infos


def _check_ops_known(raw_nodes: list[Any], format_version: str) -> None:
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
            f"(format {format_version}); known ops: {', '.join(sorted(OPS))}"
        )


def build_plan(doc: dict[str, Any], weights: dict[str, np.ndarray]) -> Plan:
    """Check ``doc`` (a current-format model.json) against ``weights`` (float arrays by key)."""
    format_version = str(doc.get("format_version"))
    produced: dict[str, int] = {}  # producer name -> number of outputs
    inputs = _tensor_infos(doc.get("inputs"), "inputs", produced)
    raw_nodes = doc.get("nodes")
    if not isinstance(raw_nodes, list):
        raise FormatError("model.json: 'nodes' must be a list")
    _check_ops_known(raw_nodes, format_version)
    nodes = [plan_node(k, raw, produced, weights) for k, raw in enumerate(raw_nodes)]
    pair_bidirectional(nodes)  # a Bidirectional(LSTM)'s two directions scanned together at batch 1
    raw_outputs = doc.get("outputs") or []
    outputs = _tensor_infos(raw_outputs, "outputs", None)
    output_refs: list[Ref] = []
    for i, spec in enumerate(raw_outputs):
        ref = as_ref(spec.get("from"), f"outputs[{i}].from")
        _check_ref(ref, produced, f"outputs[{i}]")
        output_refs.append(ref)
    fuse_conv_pool(nodes, output_refs)  # a convolution and the max pooling that alone reads it, one pass
    recurrent = [n for n in nodes if n.op in RECURRENT_STATE_COUNT]
    for n in recurrent:
        state_shape(n, 1)  # a state shape that cannot be known fails here, at load
    fixed = {i.shape[0] for i in inputs if i.shape and i.shape[0] is not None}
    return Plan(
        format_version,
        inputs,
        outputs,
        nodes,
        output_refs,
        recurrent,
        stateful=any(bool(n.config.get("stateful")) for n in recurrent),
        batch_size=fixed.pop() if len(fixed) == 1 else None,
    )


def state_shape(node: Node, batch: int) -> tuple[int, ...]:
    """The shape of each state (and of the last output) of recurrent ``node`` for ``batch``
    rows: ``(batch, units)``, or a ``ConvLSTM``'s ``(batch, *S', F)`` (channels first:
    ``(batch, F, *S')``) -- its state outputs' declared shape, which the converter knows."""
    if "units" in node.config:
        return (batch, int(node.config["units"]))
    dims = node.out_shapes[1][1:] if len(node.out_shapes) > 1 else (None,)
    known = [d for d in dims if isinstance(d, int)]
    if len(known) != len(dims):
        raise FormatError(f"model.json: node {node.name!r} ({node.op}): its state outputs need a known shape")
    return (batch, *known)


def zero_states(node: Node, batch: int) -> list[np.ndarray]:
    """``node``'s states before the first timestep: zeros, one array per state."""
    return [np.zeros(state_shape(node, batch), np.float32) for _ in range(node.n_states)]

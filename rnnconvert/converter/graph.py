"""From a Keras model config to the bundle's node list.

``GraphBuilder`` collects nodes and weight arrays; ``build`` walks a Sequential
or Functional config, calls the converter function registered for each layer
class (``layers.LAYER_CONVERTERS``) once per call of the layer, and collects
every unsupported layer so they are reported together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import FormatError, SecurityError, UnsupportedError
from .keras_era import Era
from .readers import KerasSource

Shape = tuple[int | None, ...]


class Unsupported(Exception):
    """Raised by a layer converter for a layer/option it cannot convert (collected, then reported together)."""


class CodeInModel(Unsupported):
    """A layer that carries or references code (Lambda, custom classes): refused, never executed."""


@dataclass
class Tensor:
    """A value in the graph under construction."""

    ref: tuple[str, int]  # (producer name, output index)
    shape: Shape  # with None for the batch and free dims
    dtype: str
    mask: Tensor | None = None  # the Keras mask travelling with this tensor, if any
    placeholder: bool = False  # produced by a layer that failed to convert

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass
class LayerCall:
    """One call of one Keras layer: what a converter function receives."""

    name: str
    class_name: str
    config: dict[str, Any]
    weights: list[np.ndarray]
    inputs: list[Tensor]
    kwargs: dict[str, Any]
    era: Era
    call_index: int = 0
    weight_names: list[str] = field(default_factory=list)
    #: Keras 3 functional configs: the mask each input was called with, as recorded
    #: (None where none was); None elsewhere. See ``call_mask``.
    call_masks: list[Tensor | None] | None = None

    def opt(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def call_mask(self, k: int = 0) -> Tensor | None:
        """The mask Keras passes to this call for input ``k`` -- what a layer computes
        with. ``inputs[k].mask`` is the mask the tensor carries, which Keras propagates
        to the outputs (``compute_mask``); the two differ when Keras 3 calls a layer
        with several tensors (an RNN given initial states gets no mask)."""
        if self.call_masks is not None:
            return self.call_masks[k] if k < len(self.call_masks) else None
        return self.inputs[k].mask if k < len(self.inputs) else None


ConverterFn = Callable[[LayerCall, "GraphBuilder"], list[Tensor]]


class GraphBuilder:
    """Accumulates the bundle's nodes, inputs, outputs and weight arrays."""

    def __init__(self, *, free_batch: bool = False) -> None:
        #: Write every input's batch dimension as free (see ``build``).
        self.free_batch = free_batch
        self.inputs: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = []
        self.arrays: dict[str, np.ndarray] = {}
        self._array_ids: dict[str, int] = {}
        self._names: set[str] = set()

    def unique(self, base: str) -> str:
        base = base or "node"
        name, k = base, 1
        while name in self._names:
            name = f"{base}_{k}"
            k += 1
        self._names.add(name)
        return name

    def add_input(self, name: str, shape: Shape, dtype: str) -> Tensor:
        name = self.unique(name)
        if self.free_batch and shape:
            shape = (None, *shape[1:])
        self.inputs.append({"name": name, "shape": list(shape), "dtype": dtype})
        return Tensor((name, 0), tuple(shape), dtype)

    def weight(self, key: str, array: np.ndarray) -> str:
        """Register ``array`` under ``key`` (a shared layer's second call reuses its key)."""
        key = re.sub(r"[^A-Za-z0-9_.\-/]", "_", key)
        if key in self.arrays:
            if self._array_ids[key] == id(array) or (
                self.arrays[key].shape == array.shape and np.array_equal(self.arrays[key], array)
            ):
                return key
            base, k = key, 1
            while f"{base}_{k}" in self.arrays:
                k += 1
            key = f"{base}_{k}"
        self.arrays[key] = array
        self._array_ids[key] = id(array)
        return key

    def node(
        self,
        op: str,
        *,
        name: str,
        inputs: list[Tensor],
        config: dict[str, Any],
        outputs: list[tuple[Shape, str]],
        weights: dict[str, np.ndarray] | None = None,
        weight_prefix: str | None = None,
        mask: Tensor | None = None,
        initial_state: list[Tensor] | None = None,
        layer: LayerCall | None = None,
    ) -> list[Tensor]:
        """Append a node; returns its output tensors (masks are the caller's to set)."""
        node_name = self.unique(name)
        prefix = weight_prefix or (layer.name if layer is not None else node_name)
        wmap = {slot: self.weight(f"{prefix}/{slot}", arr) for slot, arr in (weights or {}).items()}
        entry: dict[str, Any] = {
            "name": node_name,
            "op": op,
            "inputs": [list(t.ref) for t in inputs],
            "config": config,
            "weights": wmap,
            "outputs": [{"shape": list(s), "dtype": d} for s, d in outputs],
        }
        if mask is not None:
            entry["mask"] = list(mask.ref)
        if initial_state:
            entry["initial_state"] = [list(t.ref) for t in initial_state]
        if layer is not None:
            entry["keras"] = {"layer": layer.name, "class_name": layer.class_name}
        self.nodes.append(entry)
        return [Tensor((node_name, i), tuple(s), d) for i, (s, d) in enumerate(outputs)]


# -- walking Keras configs --------------------------------------------------------------

_MODEL_CLASSES = {"Sequential", "Functional", "Model"}
_CODE_CLASSES = {"Lambda", "TFOpLambda", "SlicingOpLambda"}


def _layer_name(lc: dict[str, Any]) -> str:
    cfg = lc.get("config")
    if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
        return cfg["name"]
    return str(lc.get("name", lc.get("class_name", "layer")))


def _is_custom(lc: dict[str, Any]) -> str | None:
    module = lc.get("module")
    registered = lc.get("registered_name")
    if isinstance(module, str) and module and not module.startswith(("keras", "tf_keras", "tensorflow")):
        return f"custom class from module {module!r}"
    if isinstance(registered, str) and registered and ">" in registered:
        return f"custom registered class {registered!r}"
    return None


def _input_spec(batch_shape: Any, dtype: Any) -> tuple[Shape, str]:
    if not isinstance(batch_shape, (list, tuple)) or not batch_shape:
        raise FormatError(f"model input has no usable shape ({batch_shape!r})")
    shape = tuple(None if d is None else int(d) for d in batch_shape)
    dt = dtype.get("config", {}).get("name", "float32") if isinstance(dtype, dict) else (dtype or "float32")
    dt = str(dt)
    if dt not in ("float32", "float16", "float64", "int32", "int64", "int8", "uint8", "bool"):
        dt = "float32"
    if dt in ("float16", "float64"):
        dt = "float32"  # the runtime computes in float32
    return shape, dt


def _first_layer_input(lc: dict[str, Any], model_cfg: dict[str, Any]) -> tuple[Shape, str] | None:
    cfg = lc.get("config", {})
    for key in ("batch_shape", "batch_input_shape"):
        if cfg.get(key):
            return _input_spec(cfg[key], cfg.get("dtype") or cfg.get("input_dtype"))
    if cfg.get("input_shape"):  # Keras 1
        return _input_spec([None, *cfg["input_shape"]], cfg.get("input_dtype") or cfg.get("dtype"))
    if cfg.get("input_dim") and lc.get("class_name") not in ("Embedding",):  # Keras 1 Dense(input_dim=...)
        return _input_spec([None, cfg["input_dim"]], cfg.get("input_dtype"))
    if lc.get("class_name") == "Embedding" and "input_length" in cfg:
        return _input_spec([None, cfg.get("input_length")], "float32")
    bis = model_cfg.get("build_input_shape")
    if bis:
        return _input_spec(bis, "float32")
    build = lc.get("build_config", {}).get("input_shape")
    if build:
        return _input_spec(build, "float32")
    return None


class _Walker:
    def __init__(
        self,
        source: KerasSource,
        era: Era,
        builder: GraphBuilder,
        converters: dict[str, ConverterFn],
        weights: Any = None,
        prefix: str = "",
        parent: _Walker | None = None,
    ):
        self.source, self.era, self.b, self.converters = source, era, builder, converters
        self.weights = weights if weights is not None else source.weights
        self.prefix = prefix
        self.nested = parent is not None
        # Refs of tensors a nested model returned (they keep their inner masks at run time).
        self.from_nested: set[tuple[str, int]] = parent.from_nested if parent else set()
        # A nested model's walker reports into its parent's lists.
        self.problems: list[tuple[str, str, str]] = parent.problems if parent else []
        self.code_problems: list[tuple[str, str, str]] = parent.code_problems if parent else []

    def _call_nested(self, lc: dict[str, Any], inputs: list[Tensor], name: str, cls: str) -> list[Tensor]:
        """A Sequential or Functional model used as a layer: its graph, inlined."""
        cfg = lc.get("config")
        inner_name = cfg.get("name", name) if isinstance(cfg, dict) else name
        sub = _Walker(
            self.source,
            self.era,
            self.b,
            self.converters,
            weights=self.weights.nested(name, inner_name, _weight_owners(cfg)),
            prefix=f"{self.prefix}{name}/",
            parent=self,
        )
        if cls == "Sequential":
            return _walk_sequential(sub, cfg, inner_name, bound=inputs)
        return _walk_functional(sub, cfg, bound=inputs)

    # A layer call: check support, convert, collect problems.
    def call(self, lc: dict[str, Any], inputs: list[Tensor], kwargs: dict[str, Any], call_index: int) -> list[Tensor]:
        name, cls = _layer_name(lc), str(lc.get("class_name"))
        custom = _is_custom(lc)
        if cls in _CODE_CLASSES or custom:
            why = custom or "Lambda layers hold Python code; rnnconvert never executes code from a model file"
            self.code_problems.append((name, cls, why))
            return [self._placeholder(name)]
        fn = self.converters.get(_converter_key(lc, cls))
        if fn is None and cls not in _MODEL_CLASSES:
            self.problems.append((name, cls, "layer class not supported"))
            return [self._placeholder(name)]
        if any(t.placeholder for t in inputs):
            return [self._placeholder(name)]
        if (self.nested or inputs[0].ref in self.from_nested) and _runtime_masks(kwargs, inputs):
            call_masks = None  # the layer computes with its input's mask, as propagated
        else:
            inputs, call_masks = _explicit_masks(inputs, kwargs, recorded="__args__" in kwargs)
        if cls in _MODEL_CLASSES:
            outs = self._call_nested(lc, inputs, name, cls)
            self.from_nested.update(t.ref for t in outs)
            return outs
        cfg = lc.get("config") if isinstance(lc.get("config"), dict) else {}
        wnames, warrays = self.weights.names(name), self.weights.get(name)
        if self.era.major == 1 or self.source.backend == "theano":
            from .keras1 import normalize, theano_kernels

            try:
                if self.era.major == 1:
                    cfg, wnames, warrays = normalize(
                        cls,
                        cfg,
                        wnames,
                        warrays,
                        backend=self.source.backend,
                        version=self.era.version,
                        notes=self.source.notes,
                    )
                else:  # a Keras 2 file trained with Theano
                    warrays = theano_kernels(cls, cfg, warrays)
            except Unsupported as exc:
                self.problems.append((name, cls, str(exc)))
                return [self._placeholder(name)]
        call = LayerCall(
            name=self.prefix + name,
            class_name=cls,
            config=cfg,
            weights=warrays,
            weight_names=wnames,
            inputs=inputs,
            kwargs=kwargs,
            era=self.era,
            call_index=call_index,
            call_masks=call_masks,
        )
        try:
            return fn(call, self.b)
        except CodeInModel as exc:
            self.code_problems.append((name, cls, str(exc)))
        except Unsupported as exc:
            self.problems.append((name, cls, str(exc)))
        return [self._placeholder(name)]

    def _placeholder(self, name: str) -> Tensor:
        return Tensor((f"<{name}>", 0), (), "float32", placeholder=True)

    def finish(self) -> None:
        if self.code_problems:
            raise SecurityError(
                "refusing to convert: "
                + "; ".join(f"{n} ({c}): {w}" for n, c, w in self.code_problems)
                + (
                    f"; also unsupported: {'; '.join(f'{n} ({c}): {w}' for n, c, w in self.problems)}"
                    if self.problems
                    else ""
                )
            )
        if self.problems:
            raise UnsupportedError(self.problems)


_OPS_ONLY = {
    "NotEqual",
    "Any",
    "All",
    "LogicalAnd",
    "LogicalOr",
    "ExpandDims",
    "ZerosLike",
    "OnesLike",
    "ConvertToTensor",
}


def _converter_key(lc: dict[str, Any], cls: str) -> str:
    """Keras 3 operations recorded in a functional graph (``keras.src.ops``) are keyed
    ``ops.<Class>`` so that, e.g., the ``concatenate`` op is not taken for the layer.
    Legacy-h5 configs drop ``module``; there an op is recognised by its bare config."""
    module = lc.get("module")
    cfg = lc.get("config") if isinstance(lc.get("config"), dict) else {}
    if isinstance(module, str) and module.startswith("keras.src.ops"):
        return f"ops.{cls}"
    if module is None and (
        cls in _OPS_ONLY or ("trainable" not in cfg and "dtype" not in cfg and cls == "Concatenate")
    ):
        return f"ops.{cls}"
    return cls


def _model_layers(cfg: Any) -> list[dict[str, Any]]:
    layers = cfg.get("layers", []) if isinstance(cfg, dict) else cfg if isinstance(cfg, list) else []
    return [lc for lc in layers if isinstance(lc, dict)]


def _weight_owners(cfg: Any) -> dict[str, list[str]]:
    """For each layer of a nested model, the names its weights may be filed under in a
    legacy HDF5 group: its own name, the names of the layers inside it when it is a
    model itself (tf_keras names a weight after the innermost layer only), and its
    inner layer's for a wrapper. A Keras 1 weight name (no ``/``) starts with one of
    them followed by ``_`` (``forward_``/``backward_`` + the inner layer in a Bidirectional)."""
    out: dict[str, list[str]] = {}
    for lc in _model_layers(cfg):
        name = _layer_name(lc)
        names = [name]
        if lc.get("class_name") in _MODEL_CLASSES:
            names += [n for ns in _weight_owners(lc.get("config")).values() for n in ns]
        inner = lc.get("config", {}).get("layer") if isinstance(lc.get("config"), dict) else None
        if isinstance(inner, dict):
            iname = _layer_name(inner)
            names += [iname, f"forward_{iname}", f"backward_{iname}"]
        out[name] = names
    return out


def _first_node_offset(lc: dict[str, Any], era: Era, *, output: bool = False) -> int:
    """A nested graph model's calls are numbered after the internal call that built it
    (on its own Input), so references to its first outer call say node 1: for
    Functional models in tf.keras, and for tf.keras Sequentials that begin with an
    InputLayer. Keras 1 and standalone Keras 2 number every nested model so, Sequential
    or not (``kept_nodes = 1`` for any Container / Network in their ``get_config``).

    Keras 3 numbers a nested Functional's calls so only in ``output_layers`` (``output``);
    its inbound nodes count the model's own calls from 0, as for a Sequential (its
    ``Functional.get_config`` reindexes the two differently)."""
    if lc.get("class_name") not in _MODEL_CLASSES:
        return 0
    if era.major == 1 or (era.major == 2 and not era.tf_keras):
        return 1
    cfg = lc.get("config")
    if era.major >= 3:
        return 1 if output and lc.get("class_name") != "Sequential" else 0
    if lc.get("class_name") != "Sequential":
        return 1
    layers = cfg.get("layers", []) if isinstance(cfg, dict) else cfg
    return 1 if layers and layers[0].get("class_name") == "InputLayer" else 0


def _explicit_masks(
    inputs: list[Tensor], kwargs: dict[str, Any], *, recorded: bool = False
) -> tuple[list[Tensor], list[Tensor | None] | None]:
    """The masks a layer call computes with, and the masks its input tensors carry.

    Returns ``(inputs, call_masks)``. Keras 2 and Sequential configs record only masks
    passed explicitly (``mask=``); such a mask replaces the one we propagate, and
    ``call_masks`` is None (a layer computes with its inputs' masks).

    Keras 3 functional configs (``recorded``) write down the mask every call received,
    so ``call_masks`` is exactly that: None where nothing was recorded. Keras 3 passes
    no mask to a call with more than one tensor argument -- an RNN given
    ``initial_state`` tensors -- although its sequence still carries one, which Keras 3
    propagates to the outputs and which merges such as ``Multiply`` read; so the
    tensors keep their masks, except that for a single-tensor call the recorded mask
    (null included) *is* that tensor's mask and replaces the propagated one.
    """
    mask = kwargs.get("mask")
    masks = mask if isinstance(mask, list) else [mask]
    recorded_at = [m if isinstance(m, Tensor) else None for m in masks]
    out = list(inputs)
    if not recorded:
        for k, m in enumerate(recorded_at[: len(out)]):
            if m is not None:
                out[k] = replace(out[k], mask=m)
        return out, None
    call_masks = [recorded_at[k] if k < len(recorded_at) else None for k in range(len(out))]
    if "mask" in kwargs and len(out) + _count_tensors({k: v for k, v in kwargs.items() if k != "mask"}) == 1:
        out[0] = replace(out[0], mask=call_masks[0])
    return out, call_masks


def _runtime_masks(kwargs: dict[str, Any], inputs: list[Tensor]) -> bool:
    """A Keras 3 single-tensor call recorded with ``mask: null`` that Keras 3 masks anyway.

    Keras 3 fills a ``None`` mask argument in at run time from the mask the tensor
    carries. The recorded null is what the tensor carried when the model was built;
    it differs at run time inside a nested model (recorded on its own unmasked Input,
    then called on a masked tensor: an LSTM in a nested Sequential is masked) and for a
    nested model's outputs (they keep the mask the inner layers set, although the
    model "does not support masking"). The walker applies this rule there."""
    if "__args__" not in kwargs or "mask" not in kwargs or len(inputs) != 1:
        return False
    mask = kwargs["mask"]
    if isinstance(mask, list):
        return all(m is None for m in mask)
    return mask is None and _count_tensors({k: v for k, v in kwargs.items() if k != "mask"}) == 0


def _count_tensors(obj: Any) -> int:
    if isinstance(obj, Tensor):
        return 1
    if isinstance(obj, dict):
        return sum(_count_tensors(v) for k, v in obj.items() if k != "__args__")
    if isinstance(obj, (list, tuple)):
        return sum(_count_tensors(v) for v in obj)
    return 0


def _sequential_layers(cfg: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if isinstance(cfg, list):  # Keras 1 / early Keras 2
        return cfg, {}
    if isinstance(cfg, dict) and isinstance(cfg.get("layers"), list):
        return cfg["layers"], cfg
    raise FormatError("Sequential config has no 'layers' list")


def _merges_models(lc: dict[str, Any]) -> bool:
    cfg = lc.get("config")
    return lc.get("class_name") == "Merge" and isinstance(cfg, dict) and isinstance(cfg.get("layers"), list)


def _walk_sequential(w: _Walker, cfg: Any, model_name: str, bound: list[Tensor] | None = None) -> list[Tensor]:
    """``bound``: the tensors a nested Sequential is called on (else graph inputs are made)."""
    layers, model_cfg = _sequential_layers(cfg)
    if not layers:
        raise FormatError("Sequential model has no layers")
    first = layers[0]
    if bound is None and _merges_models(first):
        # Keras 1 (and Keras 2.0-2.1's legacy layer): Sequential([Merge([model_a, model_b…]), …])
        # -- one graph input per merged model, in order.
        branches = first["config"]["layers"]
        ins = []
        for br in branches:  # each input is named after its model's first layer, as Keras 1 named it
            br_layers, _ = _sequential_layers(br.get("config"))
            ins += _walk_sequential(w, br.get("config"), _layer_name(br_layers[0]) if br_layers else "merged")
        x = w.call(first, ins, {}, 0)[0]
        layers = layers[1:]
    elif bound is not None:
        x = bound[0]
        layers = [lc for lc in layers if lc.get("class_name") != "InputLayer"]
    elif first.get("class_name") == "InputLayer":
        c = first.get("config", {})
        spec = _input_spec(c.get("batch_shape") or c.get("batch_input_shape"), c.get("dtype") or c.get("input_dtype"))
        x = w.b.add_input(_layer_name(first), *spec)
        layers = layers[1:]
    else:
        spec = _first_layer_input(first, model_cfg)
        if spec is None:
            raise FormatError("Sequential model was never built: its input shape is unknown")
        x = w.b.add_input(f"{model_name}_input", *spec)
    outs = [x]
    for lc in layers:
        if lc.get("class_name") == "InputLayer":
            continue
        outs = w.call(lc, [outs[0]], {}, 0)
    return [outs[0]]


_HistoryT = tuple[str, int, int]


def _k3_tensors(obj: Any, found: list[_HistoryT]) -> Any:
    """Replace Keras 3 ``__keras_tensor__`` records in ``obj`` by their history triples."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            h = obj.get("config", {}).get("keras_history")
            if not isinstance(h, list) or len(h) != 3:
                raise FormatError(f"malformed keras_history {h!r}")
            t = (str(h[0]), int(h[1]), int(h[2]))
            found.append(t)
            return ("__tensor__", t)
        return {k: _k3_tensors(v, found) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_k3_tensors(v, found) for v in obj]
    return obj


def _parse_inbound(node: Any) -> tuple[list[_HistoryT], dict[str, Any]]:
    """One inbound node -> (positional input tensors, kwargs with tensor records resolved)."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args: list[_HistoryT] = []
        _k3_tensors(node.get("args", []), args)
        kw_found: list[_HistoryT] = []
        kwargs = _k3_tensors(node.get("kwargs", {}), kw_found)
        kwargs = kwargs if isinstance(kwargs, dict) else {}
        # Positional arguments as written, literals included (ops layers such as
        # NotEqual(x, 0.0) take scalars); tensors in it resolve like kwargs.
        kwargs["__args__"] = _k3_tensors(node.get("args", []), [])
        return args, kwargs
    if isinstance(node, list):  # Keras 1/2: [[layer, node, tensor(, kwargs)], ...]
        args, kwargs = [], {}

        def flat(items: list) -> list:  # tf_keras nests structured inputs (stacked cells' states)
            out = []
            for it in items:
                if isinstance(it, list) and it and all(isinstance(e, list) for e in it):
                    out.extend(flat(it))
                else:
                    out.append(it)
            return out

        for item in flat(node):
            if not isinstance(item, list) or len(item) < 3:
                raise FormatError(f"malformed inbound node entry {item!r}")
            args.append((str(item[0]), int(item[1]), int(item[2])))
            if len(item) > 3 and isinstance(item[3], dict):
                kwargs.update(item[3])
        return args, kwargs
    raise FormatError(f"malformed inbound node {node!r}")


def _io_list(value: Any) -> list[_HistoryT]:
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and not isinstance(value[1], list):
        value = [value]  # Keras 3 writes a single input/output unwrapped
    out = []
    for v in value or []:
        if isinstance(v, list) and v and all(isinstance(e, list) for e in v):
            out.extend(_io_list(v))  # Keras 3 nests structured outputs (stacked cells' states)
            continue
        if not isinstance(v, list) or len(v) < 3:
            raise FormatError(f"malformed model input/output entry {v!r}")
        out.append((str(v[0]), int(v[1]), int(v[2])))
    return out


def _walk_functional(w: _Walker, cfg: dict[str, Any], bound: list[Tensor] | None = None) -> list[Tensor]:
    layers = cfg.get("layers")
    if not isinstance(layers, list):
        raise FormatError("Functional config has no 'layers' list")
    by_name: dict[str, dict[str, Any]] = {}
    for lc in layers:
        n = _layer_name(lc)
        if n in by_name:
            raise FormatError(f"two layers are named {n!r}")
        by_name[n] = lc
    produced: dict[tuple[str, int], list[Tensor]] = {}
    # The same results keyed as output_layers number them (Keras 3 numbers a nested
    # Functional's calls differently there than in inbound nodes; see _first_node_offset).
    as_output: dict[tuple[str, int], list[Tensor]] = {}
    model_inputs = _io_list(cfg.get("input_layers"))
    if bound is not None and len(bound) != len(model_inputs):
        raise Unsupported(f"a nested model with {len(model_inputs)} inputs is called on {len(bound)} tensors")
    for k, (name, _node, _tensor) in enumerate(model_inputs):
        lc = by_name.get(name)
        if lc is None or lc.get("class_name") != "InputLayer":
            raise FormatError(f"model input {name!r} is not an InputLayer")
        if bound is not None:
            produced[(name, 0)] = [bound[k]]
            continue
        c = lc.get("config", {})
        spec = _input_spec(c.get("batch_shape") or c.get("batch_input_shape"), c.get("dtype") or c.get("input_dtype"))
        produced[(name, 0)] = [w.b.add_input(name, *spec)]
    # Every (layer, call) with its inputs; run each as soon as its inputs exist.
    pending: list[tuple[dict[str, Any], int, list[_HistoryT], dict[str, Any]]] = []
    for lc in layers:
        if lc.get("class_name") == "InputLayer":
            continue
        for k, node in enumerate(lc.get("inbound_nodes") or []):
            args, kwargs = _parse_inbound(node)
            pending.append((lc, k, args, kwargs))

    def _deps(args: list[_HistoryT], kwargs: Any) -> list[_HistoryT]:
        found: list[_HistoryT] = list(args)

        def scan(o: Any) -> None:
            if isinstance(o, tuple) and len(o) == 2 and o[0] == "__tensor__":
                found.append(o[1])
            elif isinstance(o, dict):
                for v in o.values():
                    scan(v)
            elif isinstance(o, list):
                for v in o:
                    scan(v)

        scan(kwargs)
        return found

    def _resolve(kwargs: Any) -> Any:
        if isinstance(kwargs, tuple) and len(kwargs) == 2 and kwargs[0] == "__tensor__":
            n, k, t = kwargs[1]
            return produced[(n, k)][t]
        if isinstance(kwargs, dict):
            return {k: _resolve(v) for k, v in kwargs.items()}
        if isinstance(kwargs, list):
            return [_resolve(v) for v in kwargs]
        return kwargs

    while pending:
        progressed = False
        rest = []
        for lc, k, args, kwargs in pending:
            if all((n, i) in produced for n, i, _ in _deps(args, kwargs)):
                try:
                    ins = [produced[(n, i)][t] for n, i, t in args]
                except IndexError:
                    raise FormatError(
                        f"layer {_layer_name(lc)!r} refers to a tensor index that does not exist"
                    ) from None
                result = w.call(lc, ins, _resolve(kwargs), k)
                produced[(_layer_name(lc), k + _first_node_offset(lc, w.era))] = result
                as_output[(_layer_name(lc), k + _first_node_offset(lc, w.era, output=True))] = result
                progressed = True
            else:
                rest.append((lc, k, args, kwargs))
        pending = rest
        if not progressed:
            missing = sorted(
                {f"{n}[{i}]" for lc, k, a, kw in pending for n, i, _ in _deps(a, kw) if (n, i) not in produced}
            )
            raise FormatError(f"the model graph has dangling or cyclic references: {', '.join(missing[:10])}")
    outs = []
    as_output.update({key: v for key, v in produced.items() if key not in as_output})  # the inputs
    for name, node, tensor in _io_list(cfg.get("output_layers")):
        if (name, node) not in as_output:
            raise FormatError(f"model output {name!r} is never computed")
        got = as_output[(name, node)]
        if tensor >= len(got):
            if got and got[0].placeholder:
                outs.append(got[0])
                continue
            raise FormatError(f"model output {name}[{node}][{tensor}] does not exist")
        outs.append(got[tensor])
    return outs


def _mentions_stateful(config: Any, depth: int = 0) -> bool:
    """Whether any layer config, at any nesting depth, says ``stateful: true``."""
    if depth > 200:
        return True  # keep what the file says rather than recurse without end
    if isinstance(config, dict):
        if config.get("stateful") is True:
            return True
        return any(_mentions_stateful(v, depth + 1) for v in config.values())
    if isinstance(config, list):
        return any(_mentions_stateful(v, depth + 1) for v in config)
    return False


def build(
    source: KerasSource, era: Era, converters: dict[str, ConverterFn]
) -> tuple[GraphBuilder, list[tuple[str, Tensor]]]:
    """Convert the whole model; returns the builder and the named model outputs."""
    top = source.config
    cls = top.get("class_name")
    cfg = top.get("config")
    # A batch size fixed in the file (batch_input_shape [25, ...]) binds nothing unless a
    # layer is stateful: Keras's own predict and call take any batch then (Keras 3 and
    # tf_keras alike), so the bundle leaves it free too.
    b = GraphBuilder(free_batch=not _mentions_stateful(top))
    w = _Walker(source, era, b, converters)
    if cls == "Sequential":
        model_name = cfg.get("name", "sequential") if isinstance(cfg, dict) else "sequential"
        outs = _walk_sequential(w, cfg, model_name)
        w.finish()
        return b, [(outs[0].ref[0] if not outs[0].placeholder else "output", outs[0])]
    if cls in _MODEL_CLASSES:
        if not isinstance(cfg, dict):
            raise FormatError("Functional model config must be an object")
        outs = _walk_functional(w, cfg)
        w.finish()
        names = [n for n, _, _ in _io_list(cfg.get("output_layers"))]
        seen: dict[str, int] = {}
        named = []
        for n, t in zip(names, outs):
            k = seen.get(n, 0)
            seen[n] = k + 1
            named.append((n if k == 0 else f"{n}_{k}", t))
        return b, named
    raise UnsupportedError(
        [
            (
                str(top.get("config", {}).get("name", "?")) if isinstance(cfg, dict) else "?",
                str(cls),
                "only Sequential and Functional models are supported",
            )
        ]
    )

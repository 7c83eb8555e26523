"""Walking a Sequential or Functional config: one converter call per layer call.

``build`` walks the model (nested models inlined), calls the converter function
registered for each layer class (``layers.LAYER_CONVERTERS``) once per call of the
layer, collects every unsupported layer so they are reported together, and prunes the
nodes no output needs. Every walk is linear in the size of the config: a functional
graph's calls are scheduled once (``_schedule``), whatever order the file lists them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FormatError, RnnConvertError, SecurityError, UnsupportedError
from . import dialects as d
from .graph import BadConfig, CodeInModel, ConverterFn, GraphBuilder, LayerCall, Tensor, Unsupported
from .inbound import io_list, named_outputs, parse_inbound
from .keras1 import normalize, theano_kernels
from .keras_era import Era
from .masks import explicit_masks, runtime_masks
from .readers import KerasSource

Problem = tuple[str, str, str]

# What a converter raises on a config value of a type it did not expect: a malformed file.
_CONFIG_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, ZeroDivisionError)


def _placeholder(name: str) -> Tensor:
    return Tensor((f"<{name}>", 0), (), "float32", placeholder=True)


def _pick(got: list[Tensor], t: int, who: str) -> Tensor:
    """Output ``t`` of a call's results (any output of a layer that failed to convert is its placeholder)."""
    if got and got[0].placeholder:
        return got[0]
    if t >= len(got):
        raise FormatError(f"{who} refers to a tensor index that does not exist")
    return got[t]


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
        self.problems: list[Problem] = parent.problems if parent else []
        self.code_problems: list[Problem] = parent.code_problems if parent else []
        self.malformed: list[Problem] = parent.malformed if parent else []
        # Number tensors passed as masks, cast to boolean once each.
        self.as_bool: dict[tuple[str, int], Tensor] = parent.as_bool if parent else {}

    def _call_nested(self, lc: dict[str, Any], inputs: list[Tensor], name: str, cls: str) -> list[Tensor]:
        """A Sequential or Functional model used as a layer: its graph, inlined."""
        cfg = lc.get("config")
        inner_name = cfg.get("name", name) if isinstance(cfg, dict) else name
        sub = _Walker(
            self.source,
            self.era,
            self.b,
            self.converters,
            weights=self.weights.nested(name, inner_name, d.weight_owners(cfg)),
            prefix=f"{self.prefix}{name}/",
            parent=self,
        )
        if cls == "Sequential":
            return walk_sequential(sub, cfg, str(inner_name), bound=inputs)
        if not isinstance(cfg, dict):
            raise FormatError(f"nested model {name!r} has no config object")
        return walk_functional(sub, cfg, bound=inputs)

    def _refused(self, lc: dict[str, Any], name: str, cls: str) -> bool:
        """Layers refused before conversion: code, custom classes, inline TF ops, unknown classes."""
        custom = d.is_custom(lc)
        if cls in d.CODE_CLASSES or custom:
            why = custom or "Lambda layers hold Python code; rnnconvert never executes code from a model file"
            self.code_problems.append((name, cls, why))
        elif cls in d.TF_OP_CLASSES and not getattr(self.converters.get(cls), "accepts", lambda lc: False)(lc):
            self.problems.append((name, cls, f"inline TensorFlow operation {d.tf_op_name(lc)} is not converted"))
        elif self.converters.get(key := d.converter_key(lc, cls)) is None and cls not in d.MODEL_CLASSES:
            what = f"Keras operation {cls} is not converted" if key.startswith("ops.") else "layer class not supported"
            self.problems.append((name, cls, what))
        else:
            return False
        return True

    def call(self, lc: dict[str, Any], inputs: list[Tensor], kwargs: dict[str, Any], call_index: int) -> list[Tensor]:
        """One layer call: check support, convert, collect problems."""
        name, cls = d.layer_name(lc), str(lc.get("class_name"))
        if self._refused(lc, name, cls) or any(t.placeholder for t in inputs):
            return [_placeholder(name)]
        if not inputs:
            raise FormatError(f"layer {name!r} is called on no tensor")
        if "mask" in kwargs:
            kwargs = {**kwargs, "mask": self._boolean(kwargs["mask"])}
        if (self.nested or inputs[0].ref in self.from_nested) and runtime_masks(kwargs, inputs):
            call_masks = None  # the layer computes with its input's mask, as propagated
        else:
            inputs, call_masks = explicit_masks(inputs, kwargs, recorded="__args__" in kwargs)
        if cls in d.MODEL_CLASSES:
            outs = self._call_nested(lc, inputs, name, cls)
            self.from_nested.update(t.ref for t in outs)
            return outs
        return self._guarded(name, cls, lambda: self._convert(lc, name, cls, inputs, kwargs, call_index, call_masks))

    def _boolean(self, mask: Any) -> Any:
        """A mask passed explicitly as a number tensor (Keras casts it: non-zero is kept) as a boolean one."""
        if isinstance(mask, list):
            return [self._boolean(m) for m in mask]
        if not isinstance(mask, Tensor) or mask.dtype == "bool" or mask.placeholder:
            return mask
        if mask.ref not in self.as_bool:
            (self.as_bool[mask.ref],) = self.b.node(
                "NotEqualMask",
                name=f"{mask.ref[0]}/as_bool",
                inputs=[mask],
                config={"value": 0},
                outputs=[(mask.shape, "bool")],
            )
        return self.as_bool[mask.ref]

    def _convert(
        self,
        lc: dict[str, Any],
        name: str,
        cls: str,
        inputs: list[Tensor],
        kwargs: dict[str, Any],
        call_index: int,
        call_masks: list[Tensor | None] | None,
    ) -> list[Tensor]:
        cfg = d.as_dict(lc.get("config"))
        wnames, warrays = self.weights.names(name), self.weights.get(name)
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
        elif self.source.backend == "theano":  # a Keras 2 file trained with Theano
            warrays = theano_kernels(cls, cfg, warrays)
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
        return self.converters[d.converter_key(lc, cls)](call, self.b)

    def _guarded(self, name: str, cls: str, convert: Any) -> list[Tensor]:
        """Run one conversion; what it cannot convert is collected, a config it cannot read too."""
        try:
            return convert()
        except CodeInModel as exc:
            self.code_problems.append((name, cls, str(exc)))
        except BadConfig as exc:
            self.malformed.append((name, cls, str(exc)))
        except Unsupported as exc:
            self.problems.append((name, cls, str(exc)))
        except RnnConvertError:
            raise
        except _CONFIG_ERRORS as exc:
            # A config value of a type no Keras writes (a string for a number, a list for an
            # object...) that a converter read without its typed accessors.
            self.malformed.append((name, cls, f"config could not be read ({type(exc).__name__}: {str(exc)[:80]})"))
        return [_placeholder(name)]

    def finish(self) -> None:
        also = f"; also unsupported: {_listing(self.problems)}" if self.problems else ""
        if self.code_problems:
            raise SecurityError(f"refusing to convert: {_listing(self.code_problems)}{also}")
        if self.malformed:
            raise FormatError(f"malformed layer config: {_listing(self.malformed)}{also}")
        if self.problems:
            raise UnsupportedError(self.problems)


def _listing(problems: list[Problem]) -> str:
    return "; ".join(f"{n} ({c}): {w}" for n, c, w in problems)


def walk_sequential(w: _Walker, cfg: Any, model_name: str, bound: list[Tensor] | None = None) -> list[Tensor]:
    """``bound``: the tensors a nested Sequential is called on (else graph inputs are made)."""
    layers, model_cfg = d.sequential_layers(cfg)
    if not layers:
        raise FormatError("Sequential model has no layers")
    first = layers[0]
    if bound is None and d.merges_models(first):
        # Keras 1 (and Keras 2.0-2.1's legacy layer): Sequential([Merge([model_a, model_b…]), …])
        # -- one graph input per merged model, in order.
        ins = []
        for br in d.model_layers(first["config"]["layers"]):
            # each input is named after its model's first layer, as Keras 1 named it
            br_layers, _ = d.sequential_layers(br.get("config"))
            ins += walk_sequential(w, br.get("config"), d.layer_name(br_layers[0]) if br_layers else "merged")
        x = w.call(first, ins, {}, 0)[0]
        layers = layers[1:]
    elif bound is not None:
        if not bound:
            raise FormatError(f"nested Sequential {model_name!r} is called on no tensor")
        x = bound[0]
        layers = [lc for lc in layers if lc.get("class_name") != "InputLayer"]
    elif first.get("class_name") == "InputLayer":
        x = w.b.add_input(d.layer_name(first), *d.input_layer_spec(first))
        layers = layers[1:]
    else:
        spec = d.first_layer_input(first, model_cfg)
        if spec is None:
            raise FormatError("Sequential model was never built: its input shape is unknown")
        x = w.b.add_input(f"{model_name}_input", *spec)
    outs = [x]
    for lc in layers:
        if lc.get("class_name") == "InputLayer":
            continue
        outs = w.call(lc, [outs[0]], {}, 0)
    return [outs[0]]


@dataclass
class _Call:
    """One (layer, inbound node) of a functional config, with what it reads and produces."""

    lc: dict[str, Any]
    k: int
    args: list[d.HistoryT]
    kwargs: dict[str, Any]
    deps: list[tuple[str, int]]
    key: tuple[str, int]  # as inbound nodes number it
    out_key: tuple[str, int]  # as output_layers number it


def _calls(w: _Walker, layers: list[dict[str, Any]]) -> list[_Call]:
    calls = []
    for lc in layers:
        if lc.get("class_name") == "InputLayer":
            continue
        nodes = lc.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise FormatError(f"layer {d.layer_name(lc)!r}: inbound_nodes must be a list")
        for k, node in enumerate(nodes):
            args, kwargs = parse_inbound(node, tf_op=d.class_of(lc) in d.TF_OP_CLASSES)
            deps = [(n, i) for n, i, _ in args]
            deps += d.tensor_refs(kwargs)
            name = d.layer_name(lc)
            key = (name, k + d.first_node_offset(lc, w.era))
            out_key = (name, k + d.first_node_offset(lc, w.era, output=True))
            calls.append(_Call(lc, k, args, kwargs, deps, key, out_key))
    _flag_shared_inputs(calls)
    return calls


#: Layers whose Keras 3 call removes the masks of its input tensors, so that what another
#: reader of the same tensor sees depends on Keras's execution order (converters refuse it).
_MASK_REMOVING = frozenset({"MultiHeadAttention", "GroupQueryAttention", "GroupedQueryAttention"})


def _flag_shared_inputs(calls: list[_Call]) -> None:
    """Tell a mask-removing layer's converter (kwarg ``__shared_inputs__``) which of its
    query / value / key tensors another call also reads."""
    users: dict[tuple[str, int], int] = {}
    for c in calls:
        for dep in set(c.deps):
            users[dep] = users.get(dep, 0) + 1
    for c in calls:
        cls = c.lc.get("class_name")
        if not isinstance(cls, str) or cls not in _MASK_REMOVING:
            continue
        refs = {name: (n, i) for name, (n, i, _) in zip(("query", "value", "key"), c.args)}
        for name in ("value", "key"):
            v = c.kwargs.get(name)
            if isinstance(v, tuple) and len(v) == 2 and v[0] == "__tensor__":
                refs[name] = (v[1][0], v[1][1])
        shared = sorted(name for name, dep in refs.items() if users.get(dep, 0) > 1)
        c.kwargs = {**c.kwargs, "__shared_inputs__": shared}


def _schedule(calls: list[_Call], available: set[tuple[str, int]]) -> list[_Call]:
    """The order in which to run ``calls``: that of repeated passes over the list in file
    order, each running every call whose inputs exist (so node order and naming are those
    of the file's order), computed in linear time. A call runs in the pass after its
    latest input's if that input comes later in the list, else in the same pass."""
    producer = {c.key: i for i, c in enumerate(calls)}
    waiting = [0] * len(calls)
    dependents: dict[int, list[int]] = {}
    for i, c in enumerate(calls):
        for dep in c.deps:
            if dep not in available:
                waiting[i] += 1
                dependents.setdefault(producer.get(dep, -1), []).append(i)
    pass_of = [1] * len(calls)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    done = 0
    while ready:
        j = ready.pop()
        done += 1
        for i in dependents.get(j, []):
            pass_of[i] = max(pass_of[i], pass_of[j] + (1 if j > i else 0))
            waiting[i] -= 1
            if waiting[i] == 0:
                ready.append(i)
    if done < len(calls):
        produced = available | {calls[i].key for i in range(len(calls)) if waiting[i] == 0}
        missing = sorted(
            {f"{n}[{k}]" for i, c in enumerate(calls) if waiting[i] for n, k in c.deps if (n, k) not in produced}
        )
        raise FormatError(f"the model graph has dangling or cyclic references: {', '.join(missing[:10])}")
    buckets: dict[int, list[_Call]] = {}
    for i, c in enumerate(calls):
        buckets.setdefault(pass_of[i], []).append(c)
    return [c for p in sorted(buckets) for c in buckets[p]]


def _model_inputs(w: _Walker, cfg: dict[str, Any], by_name: dict[str, dict[str, Any]], bound: list[Tensor] | None):
    produced: dict[tuple[str, int], list[Tensor]] = {}
    model_inputs = io_list(cfg.get("input_layers"))
    if bound is not None and len(bound) != len(model_inputs):
        raise Unsupported(f"a nested model with {len(model_inputs)} inputs is called on {len(bound)} tensors")
    for k, (name, _node, _tensor) in enumerate(model_inputs):
        lc = by_name.get(name)
        if lc is None or lc.get("class_name") != "InputLayer":
            raise FormatError(f"model input {name!r} is not an InputLayer")
        if bound is not None:
            produced[(name, 0)] = [bound[k]]
        else:
            produced[(name, 0)] = [w.b.add_input(name, *d.input_layer_spec(lc))]
    return produced


def walk_functional(w: _Walker, cfg: dict[str, Any], bound: list[Tensor] | None = None) -> list[Tensor]:
    layers = cfg.get("layers")
    if not isinstance(layers, list):
        raise FormatError("Functional config has no 'layers' list")
    layers = [lc for lc in layers if isinstance(lc, dict)]
    by_name: dict[str, dict[str, Any]] = {}
    for lc in layers:
        n = d.layer_name(lc)
        if n in by_name:
            raise FormatError(f"two layers are named {n!r}")
        by_name[n] = lc
    produced = _model_inputs(w, cfg, by_name, bound)
    # The same results keyed as output_layers number them (Keras 3 numbers a nested
    # Functional's calls differently there than in inbound nodes; see first_node_offset).
    as_output: dict[tuple[str, int], list[Tensor]] = {}

    def resolve(obj: Any, who: str) -> Any:
        if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == "__tensor__":
            n, k, t = obj[1]
            return _pick(produced[(n, k)], t, who)
        if isinstance(obj, dict):
            return {k: resolve(v, who) for k, v in obj.items()}
        if isinstance(obj, list):
            return [resolve(v, who) for v in obj]
        return obj

    for c in _schedule(_calls(w, layers), set(produced)):
        who = f"layer {d.layer_name(c.lc)!r}"
        ins = [_pick(produced[(n, i)], t, who) for n, i, t in c.args]
        result = w.call(c.lc, ins, resolve(c.kwargs, who), c.k)
        produced[c.key] = result
        as_output[c.out_key] = result
    as_output.update({key: v for key, v in produced.items() if key not in as_output})  # the inputs
    outs = []
    for name, node, tensor in io_list(cfg.get("output_layers")):
        if (name, node) not in as_output:
            raise FormatError(f"model output {name!r} is never computed")
        outs.append(_pick(as_output[(name, node)], tensor, f"model output {name}[{node}][{tensor}]"))
    return outs


def build(
    source: KerasSource, era: Era, converters: dict[str, ConverterFn]
) -> tuple[GraphBuilder, list[tuple[str, Tensor]]]:
    """Convert the whole model; returns the builder and the named model outputs."""
    top = source.config
    if not isinstance(top, dict):
        raise FormatError("the model config must be a JSON object")
    d.check_config(top)
    cls = d.class_of(top)
    cfg = top.get("config")
    # A batch size fixed in the file (batch_input_shape [25, ...]) binds nothing unless a
    # layer is stateful: Keras's own predict and call take any batch then (Keras 3 and
    # tf_keras alike), so the bundle leaves it free too.
    b = GraphBuilder(free_batch=not d.mentions_stateful(top))
    w = _Walker(source, era, b, converters)
    if cls == "Sequential":
        model_name = cfg.get("name", "sequential") if isinstance(cfg, dict) else "sequential"
        outs = walk_sequential(w, cfg, str(model_name))
        w.finish()
        named = [(outs[0].ref[0] if not outs[0].placeholder else "output", outs[0])]
    elif cls in d.MODEL_CLASSES:
        if not isinstance(cfg, dict):
            raise FormatError("Functional model config must be an object")
        named = named_outputs(cfg, walk_functional(w, cfg))
        w.finish()
    else:
        name = str(cfg.get("name", "?")) if isinstance(cfg, dict) else "?"
        raise UnsupportedError([(name, str(cls), "only Sequential and Functional models are supported")])
    b.prune([t for _, t in named])
    return b, named

"""Write ``bundle.v1.schema.json`` from the op declarations (``rnnconvert/runtime/spec``).

``frame.json`` holds the hand-written, non-op parts of the schema (the document's
top level, tensors, weights, test vectors); this module fills in, from the
declarations, the list of ops, each op's config keys, weight slots and input count,
and each activation type's parameters. A test asserts the checked-in schema equals
what this writes: run ``python -m rnnconvert.schema.generate`` after changing a
declaration.
"""

from __future__ import annotations

import copy
import inspect
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from ..runtime.ops.activations import ACTIVATIONS
from ..runtime.spec import SPECS, OpSpec
from ..runtime.spec.activations import activation_params, param_schema

SCHEMA_FILE = "bundle.v1.schema.json"
_WEIGHT_KEY = {"$ref": "#/$defs/weight_key"}
_REF = {"$ref": "#/$defs/ref"}


def _key_schema(schema: dict[str, Any], doc: str, since: str, until: str | None = None) -> dict[str, Any]:
    out = dict(schema)
    span = f"format {since} until {until} (migrated away)" if until else f"since format {since}"
    notes = [d for d in (doc, span if since != "1.0.0" or until else "") if d]
    if notes and "$ref" not in out:
        out["description"] = "; ".join(notes)
    return out


def _op_branch(spec: OpSpec) -> dict[str, Any]:
    config = {
        "type": "object",
        "properties": {k: _key_schema(d.schema, d.doc, d.since, d.until) for k, d in spec.config.items()},
        "required": [k for k, d in spec.config.items() if d.required],
        "additionalProperties": False,
    }
    weights = {
        "type": "object",
        "properties": {slot: _WEIGHT_KEY for slot in spec.weights},
        "required": [slot for slot, d in spec.weights.items() if d.required],
        "additionalProperties": False,
    }
    lo, hi = spec.input_bounds
    inputs: dict[str, Any] = {"type": "array", "minItems": lo}
    if hi is not None:
        inputs["maxItems"] = hi + spec.legacy_inputs  # older documents' positional masks
    then: dict[str, Any] = {"config": config, "weights": weights, "inputs": inputs}
    then["outputs"] = {"type": "array", "maxItems": len(spec.outputs)}
    if not spec.mask:
        then["mask"] = False
    if not spec.initial_state:
        then["initial_state"] = False
    if spec.named_inputs:
        fixed = {k: d for k, d in spec.named_inputs.items() if not d.per_input}
        named: dict[str, Any] = {
            "type": "object",
            "properties": {name: _REF for name in fixed},
            "additionalProperties": False,
        }
        per_input = [k for k, d in spec.named_inputs.items() if d.per_input]
        if per_input:  # <slot>_<k>, k < the number of inputs (checked at load)
            named["patternProperties"] = {f"^{k}_(0|[1-9][0-9]*)$": _REF for k in per_input}
        required = [k for k, d in fixed.items() if d.required]
        if required:
            named["required"] = required
        then["named_inputs"] = named
    else:
        then["named_inputs"] = False
    return {"if": {"properties": {"op": {"const": spec.op}}, "required": ["op"]}, "then": {"properties": then}}


def _activation_branches() -> list[dict[str, Any]]:
    branches, plain = [], []
    for kind in ACTIVATIONS:
        params = activation_params(kind)
        if not params:
            plain.append(kind)
            continue
        props: dict[str, Any] = {"type": True, **{p: param_schema(kind, p) for p in params}}
        required = ["type", *(p for p, d in params.items() if d is inspect.Parameter.empty)]
        branches.append(
            {
                "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                "then": {"properties": props, "required": required, "additionalProperties": False},
            }
        )
    branches.append(
        {
            "if": {"properties": {"type": {"enum": plain}}, "required": ["type"]},
            "then": {"properties": {"type": True}, "additionalProperties": False},
        }
    )
    return branches


def generate() -> dict[str, Any]:
    """The full JSON Schema: ``frame.json`` with the declared parts filled in."""
    frame = json.loads(resources.files(__package__).joinpath("frame.json").read_text(encoding="utf-8"))
    schema = copy.deepcopy(frame)
    schema.pop("$comment", None)
    node = schema["$defs"]["node"]
    node["properties"]["op"] = {"enum": list(SPECS)}
    node["properties"]["named_inputs"] = {"type": "object", "additionalProperties": _REF}
    node["allOf"] = [_op_branch(s) for s in SPECS.values()]
    act = schema["$defs"]["activation"]
    act["properties"]["type"] = {"enum": list(ACTIVATIONS)}
    act["allOf"] = _activation_branches()
    return schema


def render() -> str:
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    target = Path(__file__).with_name(SCHEMA_FILE)
    text = render()
    if (argv if argv is not None else sys.argv[1:]) == ["--check"]:
        same = target.read_text(encoding="utf-8") == text
        print(f"{target}: {'up to date' if same else 'differs from the declarations; regenerate it'}")
        return 0 if same else 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Validating a document against the bundle schema, quickly.

The schema picks each node's rules by its op, and each activation's by its type, with an
``allOf`` of ``if``/``then`` branches, one per op: ``{"if": {"properties": {"op": {"const":
"LSTM"}}, "required": ["op"]}, "then": ...}`` (JSON Schema 2020-12 has no switch). A plain
validator tries every ``if`` of every node -- 72 per node, ~60% of a conversion's time.
Such an ``allOf`` is validated here by looking the branches up by the instance's value:
a branch whose ``if`` fails contributes nothing (no error, no annotation we use), so skipping
it changes no result and no error message. Any other ``allOf`` is validated as jsonschema
does. ``tests/test_versioning.py`` checks both validators agree on good and broken documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Dispatch = tuple[str, dict[str, list[int]]]  # the property, and its value -> branch indices
_DISPATCH: dict[int, tuple[list[Any], Dispatch | None]] = {}


def _branch_key(branch: Any) -> tuple[str, list[str]] | None:
    """``(property, values)`` of an ``if``/``then`` branch keyed on one string property's
    const or enum (the property required), else None."""
    if not isinstance(branch, dict) or set(branch) != {"if", "then"}:
        return None
    cond = branch["if"]
    if not isinstance(cond, dict) or set(cond) != {"properties", "required"}:
        return None
    props, required = cond["properties"], cond["required"]
    if not (isinstance(props, dict) and len(props) == 1 and required == list(props)):
        return None
    ((prop, rule),) = props.items()
    if not isinstance(rule, dict) or len(rule) != 1:
        return None
    if "const" in rule:
        values = [rule["const"]]
    elif "enum" in rule:
        values = rule["enum"]
    else:
        return None
    if not all(isinstance(v, str) for v in values):
        return None
    return prop, values


def dispatch_of(all_of: list[Any]) -> Dispatch | None:
    """The lookup table of an ``allOf`` made only of branches keyed on the same property."""
    cached = _DISPATCH.get(id(all_of))
    if cached is not None and cached[0] is all_of:
        return cached[1]
    table: dict[str, list[int]] = {}
    prop = None
    for index, branch in enumerate(all_of):
        key = _branch_key(branch)
        if key is None or (prop is not None and key[0] != prop):
            table, prop = {}, None
            break
        prop = key[0]
        for value in key[1]:
            table.setdefault(value, []).append(index)
    result = (prop, table) if prop is not None else None
    _DISPATCH[id(all_of)] = (all_of, result)  # the schema lives as long as the process
    return result


def _all_of(validator: Any, all_of: list[Any], instance: Any, schema: Any) -> Iterator[Any]:
    dispatch = dispatch_of(all_of)
    if dispatch is None or not isinstance(instance, dict):  # (every ``if`` holds for a non-object)
        indices: Any = range(len(all_of))
    else:
        value = instance.get(dispatch[0])
        indices = dispatch[1].get(value, ()) if isinstance(value, str) else ()
    for index in indices:
        yield from validator.descend(instance, all_of[index], schema_path=index)


_VALIDATORS: dict[int, tuple[Any, Any]] = {}


def validator_for(schema: dict[str, Any]) -> Any:
    """A Draft 2020-12 validator of ``schema`` with the dispatching ``allOf`` (made once per schema)."""
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    import jsonschema

    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"allOf": _all_of})
    validator = cls(schema)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator

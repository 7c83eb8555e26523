"""The op declarations (runtime/spec) are the one contract: the checked-in JSON Schema is
generated from them, every op function takes exactly what they declare, an unknown config key
fails at load, and the time rules say which ops look at more than one timestep."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnconvert import schema
from rnnconvert.errors import FormatError
from rnnconvert.runtime import load
from rnnconvert.runtime.ops import OPS
from rnnconvert.runtime.spec import (
    PER_STEP,
    RECURRENT_FACTS,
    SPECS,
    WHOLE_SEQUENCE,
    activation_shape,
    check_output_shapes,
    explicit_activation,
    param_count,
    time_rule,
)
from rnnconvert.schema.generate import SCHEMA_FILE, render

GOLDEN = Path(__file__).parent / "data" / "golden"
_RUNTIME_KWARGS = {"mask", "initial_state", "initial_output"}


def test_checked_in_schema_is_the_generated_one():
    checked_in = (Path(schema.__file__).with_name(SCHEMA_FILE)).read_text(encoding="utf-8")
    assert checked_in == render(), "run: python -m rnnconvert.schema.generate"


def test_every_op_is_declared_and_its_function_takes_what_the_declaration_says():
    assert set(SPECS) == set(OPS)
    for op, spec in SPECS.items():
        params = inspect.signature(OPS[op]).parameters
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), f"{op}: **kwargs catch-all"
        kw = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
        named = {d.kwarg(k) for k, d in spec.named_inputs.items()}
        assert kw <= set(spec.config) | set(spec.weights) | named | _RUNTIME_KWARGS, f"{op}: {kw}"
        assert named <= kw, f"{op}: a declared named input the function does not take"
        assert set(spec.weights) <= kw, f"{op}: a declared weight slot the function does not take"
        assert ("mask" in kw) == spec.mask and ("initial_state" in kw) == spec.initial_state, op
        assert schema.parse_version(spec.since) <= schema.parse_version(schema.FORMAT_VERSION), op


def test_recurrent_facts_are_declared_once():
    assert {op: len(s.outputs) - 1 for op, s in SPECS.items() if s.recurrent} == {
        op: f.n_states for op, f in RECURRENT_FACTS.items()
    }
    assert SPECS["LSTM"].config["gate_order"].schema["const"] == ["i", "f", "c", "o"]
    assert SPECS["GRU"].config["gate_order"].schema["const"] == ["z", "r", "h"]


@pytest.mark.parametrize(
    "act, rank, rule",
    [
        ({"type": "softmax", "axis": -1}, 3, PER_STEP),
        ({"type": "softmax", "axis": 1}, 3, WHOLE_SEQUENCE),
        ({"type": "softmax", "axis": -2}, 3, WHOLE_SEQUENCE),
        ({"type": "softmax", "axis": [1, 2]}, 3, WHOLE_SEQUENCE),
        ({"type": "softmax", "axis": [2, 3]}, 4, PER_STEP),
        ({"type": "softmax", "axis": -1}, 2, WHOLE_SEQUENCE),  # (B, T): the last axis is time
        ({"type": "log_softmax", "axis": 1}, 3, WHOLE_SEQUENCE),
        ({"type": "sparsemax", "axis": 1}, 3, WHOLE_SEQUENCE),
        ({"type": "glu", "axis": 1}, 3, WHOLE_SEQUENCE),
        ({"type": "glu", "axis": -1}, 3, PER_STEP),
        ({"type": "tanh"}, 2, PER_STEP),
    ],
)
def test_time_rule_of_softmax_like_activations(act, rank, rule):
    assert time_rule("Activation", {"activation": act}, {}, rank) == rule
    dense = time_rule("Dense", {"units": 2, "activation": act, "use_bias": False}, {}, rank)
    assert dense == (WHOLE_SEQUENCE if rank < 3 else rule)  # Dense on (B, T) mixes time in its kernel


def test_explicit_activation_params_and_glu_shape():
    assert explicit_activation({"type": "relu"}) == {
        "type": "relu",
        "negative_slope": 0.0,
        "max_value": None,
        "threshold": 0.0,
    }
    assert explicit_activation({"type": "softmax"}) == {"type": "softmax", "axis": -1}
    assert activation_shape({"type": "glu", "axis": -1}, (None, 5, 8)) == (None, 5, 4)
    assert activation_shape({"type": "relu"}, (None, 8)) == (None, 8)


def test_check_output_shapes_names_the_node():
    check_output_shapes("node 'd'", [(None, 4)], [np.zeros((3, 4))])
    check_output_shapes("node 'd'", [(None, 9, 4)], [np.zeros((3, 2, 4))], free_axes=(1,))
    with pytest.raises(FormatError, match="node 'd': output 0 has shape \\(3, 4\\), but the bundle declares"):
        check_output_shapes("node 'd'", [(None, 8)], [np.zeros((3, 4))])


def test_param_count_from_declared_slots():
    assert param_count("Dense", {"kernel": np.zeros((3, 4)), "bias": np.zeros(4)}) == 16
    assert param_count("LSTM", {"kernel": (3, 8), "recurrent_kernel": (2, 8)}) == 40


def _golden_copy(tmp_path: Path) -> tuple[Path, dict]:
    shutil.copytree(GOLDEN / "1.1.0" / "bundle", tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "model.json").read_text())
    return tmp_path / "b", doc


def _write(path: Path, doc: dict) -> None:
    (path / "model.json").write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda n: n["config"].update(typo_key=1), "unknown config key 'typo_key'"),
        (lambda n: n["config"].pop(next(iter(n["config"]))), "config lacks"),
        (lambda n: n["config"].update(activation={"type": "relu", "slope": 1.0}), "takes no parameter 'slope'"),
        (lambda n: n["weights"].update(extra=next(iter(n["weights"].values()))), "no weight slot 'extra'"),
        (lambda n: n["inputs"].append(n["inputs"][0]), "takes 1 inputs, got 2"),
    ],
)
def test_a_node_that_breaks_its_declaration_fails_at_load(tmp_path, mutate, match):
    path, doc = _golden_copy(tmp_path)
    node = next(n for n in doc["nodes"] if n["op"] == "Dense")
    mutate(node)
    _write(path, doc)
    with pytest.raises(FormatError, match=match):
        load(path)


def test_migration_to_1_2_writes_activation_params(tmp_path):
    path, doc = _golden_copy(tmp_path)
    model = load(path)
    assert model.format_version == "1.3.0"
    for node in model.doc["nodes"]:
        for key, value in node["config"].items():
            if key.endswith("activation"):
                assert value == explicit_activation(value), node["name"]


@pytest.mark.keras
def test_dense_glu_declares_half_its_units(tmp_path):
    """Issue 12.3: Dense(activation="glu") computes U/2; the bundle declares what it computes."""
    import keras as K

    from rnnconvert.converter import convert

    x = K.Input((5, 3))
    model = K.Model(x, K.layers.Dense(8, activation="glu")(K.layers.LSTM(4, return_sequences=True)(x)))
    inputs = np.random.default_rng(3).normal(0, 1, (2, 5, 3)).astype(np.float32)
    expected = np.asarray(model(inputs, training=False))
    assert expected.shape == (2, 5, 4)
    convert(model, tmp_path / "b")
    ours = load(tmp_path / "b", verify=True)
    dense = next(n for n in ours.doc["nodes"] if n["op"] == "Dense")
    assert dense["outputs"][0]["shape"] == [None, 5, 4]
    assert ours.outputs[0].shape == (None, 5, 4)
    np.testing.assert_allclose(ours.predict(inputs), expected, atol=1e-5)


def test_migration_halves_a_1_1_dense_glu_declaration():
    doc = {
        "format_version": "1.1.0",
        "inputs": [{"name": "x", "shape": [None, 5, 3], "dtype": "float32"}],
        "nodes": [
            {
                "name": "d",
                "op": "Dense",
                "inputs": [["x", 0]],
                "config": {"units": 8, "activation": {"type": "glu"}, "use_bias": False},
                "weights": {"kernel": "d/kernel"},
                "outputs": [{"shape": [None, 5, 8], "dtype": "float32"}],
            }
        ],
        "outputs": [{"name": "d", "from": ["d", 0], "shape": [None, 5, 8], "dtype": "float32"}],
    }
    out = schema.migrate(doc)
    assert out["format_version"] == "1.3.0"
    assert out["nodes"][0]["outputs"][0]["shape"] == [None, 5, 4]
    assert out["outputs"][0]["shape"] == [None, 5, 4]
    assert out["nodes"][0]["config"]["activation"] == {"type": "glu", "axis": -1}
    assert schema.required_version(out) == "1.2.0"  # so it is never migrated (halved) again

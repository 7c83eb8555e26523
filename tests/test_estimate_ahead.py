"""Issue 12 item 9: a node that under-declares its output is refused BEFORE it allocates past
max_elements (runtime/estimate.py), sized from its real inputs, not after."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from rnnconvert.errors import FormatError, ResourceError
from rnnconvert.runtime.bundle import read_bundle
from rnnconvert.runtime.model import Model

GOLDEN = Path(__file__).parent / "data" / "golden" / "1.2.0" / "bundle"


def _with_node(node: dict, out_shape: list) -> tuple[dict, dict]:
    """The golden 1.2.0 bundle (input 'frames' (3, 5, 4)) plus ``node`` reading 'glu' (3, 5, 4),
    made an extra model output."""
    bundle = read_bundle(GOLDEN)
    doc = copy.deepcopy(bundle.doc)
    node = {"keras": {"class_name": node["op"], "layer": node["name"]}, "weights": {}, **node}
    node["outputs"] = [{"dtype": "float32", "shape": out_shape}]
    doc["nodes"].append(node)
    doc["outputs"].append({"dtype": "float32", "from": [node["name"], 0], "name": node["name"], "shape": out_shape})
    doc.pop("test_vectors", None)
    arrays = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in bundle.arrays.items()}
    return doc, arrays


def _spy(model: Model, name: str) -> list:
    calls: list = []
    node = next(n for n in model.nodes if n.name == name)
    real = node.call

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    node.call = spy
    return calls


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 5, 4)).astype(np.float32), rng.normal(size=(3, 6)).astype(np.float32)]


def test_one_array_for_a_model_of_two_inputs_is_an_input_error():
    """It was a KeyError traceback from the executor (found writing these tests)."""
    from rnnconvert.errors import InputError
    from rnnconvert.runtime import load

    with pytest.raises(InputError, match="takes 2 inputs"):
        load(GOLDEN).predict(_frames()[0])


def test_a_free_axis_its_config_makes_huge_is_refused_before_the_node_runs():
    # RepeatVector reads a (3, 8) vector... here the glu output flattened: (3, 20)
    flat = {"name": "flat", "op": "Flatten", "config": {}, "inputs": [["glu", 0]]}
    doc, arrays = _with_node(flat, [3, 20])
    rep = {"name": "rep", "op": "RepeatVector", "config": {"n": 1_000_000}, "inputs": [["flat", 0]]}
    rep = {"keras": {"class_name": "RepeatVector", "layer": "rep"}, "weights": {}, **rep}
    rep["outputs"] = [{"dtype": "float32", "shape": [3, None, 20]}]  # honest, but free: 60M values
    doc["nodes"].append(rep)
    doc["outputs"].append({"dtype": "float32", "from": ["rep", 0], "name": "rep", "shape": [3, None, 20]})
    model = Model.from_arrays(doc, arrays, max_elements=1_000_000)
    calls = _spy(model, "rep")
    with pytest.raises(ResourceError, match="'rep' \\(RepeatVector\\) would hold 60,000,000"):
        model.predict(_frames())
    assert calls == []  # refused before it ran (the declared shapes alone said ~few hundred values)


def test_a_lying_declared_size_is_refused_before_the_node_runs():
    flat = {"name": "flat", "op": "Flatten", "config": {}, "inputs": [["glu", 0]]}
    doc, arrays = _with_node(flat, [3, 20])
    rep = {"keras": {"class_name": "RepeatVector", "layer": "rep"}, "weights": {}}
    rep.update(name="rep", op="RepeatVector", config={"n": 1_000_000}, inputs=[["flat", 0]])
    rep["outputs"] = [{"dtype": "float32", "shape": [3, 2, 20]}]  # under-declares: says 2 steps
    doc["nodes"].append(rep)
    doc["outputs"].append({"dtype": "float32", "from": ["rep", 0], "name": "rep", "shape": [3, 2, 20]})
    model = Model.from_arrays(doc, arrays, max_elements=1_000_000)
    calls = _spy(model, "rep")
    with pytest.raises((ResourceError, FormatError)):
        model.predict(_frames())
    assert calls == []


def test_an_honest_model_still_runs_and_streams():
    flat = {"name": "flat", "op": "Flatten", "config": {}, "inputs": [["glu", 0]]}
    doc, arrays = _with_node(flat, [3, 20])
    model = Model.from_arrays(json.loads(json.dumps(doc)), arrays)
    ys = model.predict(_frames())
    assert ys[-1].shape == (3, 20)

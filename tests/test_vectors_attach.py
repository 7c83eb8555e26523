"""converter/vectors.py attach_vectors: Keras's outputs of another shape than ours are a named
project error (it was an IndexError at the comparison), and the in-memory TimeDistributed(Dense)
model (js's report, 21:00) gets Keras's own vectors that our runtime reproduces."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
import pytest

from rnnconvert.converter import convert
from rnnconvert.converter.vectors import attach_vectors
from rnnconvert.errors import FormatError
from rnnconvert.runtime import load
from rnnconvert.runtime.bundle import read_bundle
from rnnconvert.runtime.verify import run_vectors

GOLDEN = Path(__file__).parent / "data" / "golden" / "1.2.0" / "bundle"


def test_keras_outputs_of_another_shape_are_a_format_error_naming_the_output():
    bundle = read_bundle(GOLDEN)
    doc = copy.deepcopy(bundle.doc)
    doc.pop("test_vectors")
    arrays = {k: v for k, v in bundle.arrays.items() if not k.startswith("__vectors__/")}

    def keras_predict(calls):  # time and batch swapped, as a wrong graph would give
        return [[np.zeros((5, 3, 1), np.float32), np.zeros((3, 5, 4), np.float32)] for _ in calls]

    with pytest.raises(FormatError, match=r"output 'over_time'.*\(3, 5, 1\).*Keras \(5, 3, 1\)"):
        attach_vectors(doc, arrays, keras_predict=keras_predict, keras_version="3")


@pytest.mark.keras
@pytest.mark.parametrize("era", ["keras3", "tf_keras"])
def test_time_distributed_dense_in_memory_reproduces_keras_vectors(zoo, era):
    built = zoo.get("time_distributed_dense", era)
    model = built.model
    y = model.predict(built.inputs[0], verbose=0)  # traced on 9 steps first; vectors have 6
    assert y.shape[1] == 9
    with tempfile.TemporaryDirectory() as d:
        convert(model, Path(d) / "b")
        bundle = load(Path(d) / "b")
        assert bundle.doc["test_vectors"]["origin"] == "keras"
        report = run_vectors(bundle)
        assert report.ok, "\n".join(report.lines())

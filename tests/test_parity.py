"""Parity with live Keras: every case, every era, every file format, and in-memory models."""

from __future__ import annotations

import pytest
from conftest import assert_parity
from keras_zoo import CASES, ERAS, FORMATS

from rnnconvert.runtime import load
from rnnconvert.schema import validate

PARAMS = [(c, e, f) for c in CASES for e in ERAS for f in FORMATS[e]]


@pytest.mark.keras
@pytest.mark.parametrize("case,era,fmt", PARAMS, ids=[f"{c}-{e}-{f}" for c, e, f in PARAMS])
def test_file_parity(zoo, zoo_bundle, case, era, fmt):
    built = zoo.get(case, era)
    result = zoo_bundle(case, era, fmt)  # converted once per session, shared with the streaming tests
    validate(result.doc)
    model = load(result.out_dir)
    ours = model.predict(built.inputs if len(built.inputs) > 1 else built.inputs[0])
    assert_parity(ours, built.expected if len(built.expected) > 1 else built.expected[0], f"{case}/{era}/{fmt}")


@pytest.mark.keras
@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize(
    "case", ["functional_multi_io", "stacked_lstm_hard_sigmoid_softmax", "gru_reset_after_False_bias_True"]
)
def test_in_memory_model(zoo, zoo_in_memory, case, era):
    built = zoo.get(case, era)
    ours = load(zoo_in_memory(case, era).out_dir).predict(built.inputs)  # shared with test_js_runtime
    assert_parity(ours, built.expected if len(built.expected) > 1 else built.expected[0], f"{case}/{era}/in-memory")

"""F2 (format 1.2.0, issue 12.2): a stateful recurrent layer also given ``initial_state``.

tf_keras uses the given state only while every carried state is all zeros (the first call
and after ``reset_states``) and the carried states after; Keras 3 restarts from the given
state on every call. The converter records the rule per era (``initial_state_rule``) and
the runtime honours it: checked against live Keras over several calls and a reset.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import assert_parity
from keras_zoo import ERAS, keras_module, randomize

from rnnconvert.converter import convert
from rnnconvert.runtime import load

pytestmark = pytest.mark.keras

B, T, D, H = 2, 4, 3, 5


def _model(K, op: str):
    x = K.Input(batch_shape=(B, None, D))
    cond = K.Input(batch_shape=(B, 6))
    h0 = K.layers.Dense(H, activation="tanh")(cond)
    init = [h0, K.layers.Dense(H)(cond)] if op == "LSTM" else [h0]
    y = getattr(K.layers, op)(H, stateful=True, return_sequences=True)(x, initial_state=init)
    return K.Model([x, cond], K.layers.Dense(2)(y))


def _reset(model) -> None:
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("op", ["LSTM", "GRU", "SimpleRNN"])
def test_stateful_with_initial_state_follows_each_era(tmp_path, era, op):
    K = keras_module(era)
    rng = np.random.default_rng(7)
    K.utils.set_random_seed(7)
    model = _model(K, op)
    randomize(model, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "m.h5")
    convert(tmp_path / "m.h5", tmp_path / "b")
    ours = load(tmp_path / "b")
    node = next(n for n in ours.doc["nodes"] if n["op"] == op)
    assert node["config"]["initial_state_rule"] == ("every_call" if era == "keras3" else "while_states_zero")
    cond = rng.normal(0, 1, (B, 6)).astype(np.float32)
    calls = [rng.normal(0, 1, (B, t, D)).astype(np.float32) for t in (4, 2, 5, 3, 1)]
    _reset(model)
    for k, x in enumerate(calls):
        if k == 3:  # back to zeros: tf_keras takes the given state again
            _reset(model)
            ours.reset_states()
        expected = np.asarray(model.predict([x, cond], verbose=0), np.float32)
        assert_parity(ours.predict([x, cond]), expected, f"{op}/{era} call {k}")


def test_old_bundles_keep_every_call(tmp_path):
    """A 1.1 bundle has no initial_state_rule: it migrates to every_call, the old behaviour."""
    from rnnconvert.schema import migrate

    doc = {
        "format_version": "1.1.0",
        "nodes": [
            {"op": "LSTM", "initial_state": [["a", 0], ["b", 0]], "config": {"stateful": True}},
            {"op": "GRU", "config": {"stateful": True}},
        ],
    }
    out = migrate(doc)
    assert out["nodes"][0]["config"]["initial_state_rule"] == "every_call"
    assert "initial_state_rule" not in out["nodes"][1]["config"]

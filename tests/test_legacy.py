"""Files written by real Keras 1.x and tf.keras 2.2.4 installations (tests/data/legacy).

The Keras 1 file that ships Keras's own predictions must reproduce them. The others are
checked against tf_keras models built layer by layer, their weights read from the file with
h5py and re-ordered here by Keras 2.2's documented rule (Keras 1 stores LSTM gates i, c, f, o
as separate W/U/b arrays; Keras 2 fuses them as i, f, c, o) -- a route that does not go
through our converter.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import assert_parity

from rnnconvert.converter import convert
from rnnconvert.runtime import load
from rnnconvert.runtime.checks import call_keys

DATA = Path(__file__).parent / "data" / "legacy"
pytestmark = pytest.mark.keras


def _weights(path: Path, layer: str) -> dict[str, np.ndarray]:
    """The layer's arrays by their Keras 1 name suffix (W_i, U_c, b ...), read with h5py."""
    with h5py.File(path, "r") as f:
        g = f["model_weights"][layer] if "model_weights" in f else f[layer]
        out = {}
        for n in g.attrs["weight_names"]:
            n = n.decode() if isinstance(n, bytes) else n
            key = n.split(":")[0]
            key = (
                key[key.index("_W") + 1 :]
                if "_W" in key
                else key[key.index("_U") + 1 :]
                if "_U" in key
                else key[key.rindex("_b") + 1 :]
            )
            prefix = "forward_" if n.startswith("forward_") else "backward_" if n.startswith("backward_") else ""
            out[prefix + key] = g[n][()]
    return out


def _lstm_k2(w: dict[str, np.ndarray], prefix: str = "") -> list[np.ndarray]:
    gates = "ifco"  # Keras 2 order
    return [
        np.concatenate([w[f"{prefix}W_{g}"] for g in gates], axis=1),
        np.concatenate([w[f"{prefix}U_{g}"] for g in gates], axis=1),
        np.concatenate([w[f"{prefix}b_{g}"] for g in gates]),
    ]


def test_keras1_lstm_reproduces_keras_own_predictions(tmp_path):
    d = DATA / "k1_dl4j_simple_lstm_tf"
    result = convert(d / "simple_lstm_tf_keras_1_model.h5", tmp_path / "b")
    assert result.doc["source"]["keras_version"] == "1.2.2"
    lstm = next(n for n in result.doc["nodes"] if n["op"] == "LSTM")
    assert lstm["config"]["recurrent_activation"] == {"type": "hard_sigmoid", "slope": 0.2, "offset": 0.5}
    with h5py.File(d / "simple_lstm_tf_keras_1_inputs_and_outputs.h5", "r") as f:
        x = f["inputs/lstm_input_1"][()]
        expected = f["predictions/dense_1"][()]
    assert_parity(load(tmp_path / "b").predict(x), expected, "Keras 1.2.2 stored predictions")


def test_keras1_bidirectional_lstm(tmp_path):
    import tf_keras as K

    path = DATA / "k1_dl4j_bidirectional_lstm" / "bidirectional_lstm_tensorflow_1.h5"
    w = _weights(path, "bidirectional_1")
    m = K.Sequential(
        [
            K.Input((4, 10)),
            K.layers.Bidirectional(
                K.layers.LSTM(10, return_sequences=True, recurrent_activation="hard_sigmoid"), merge_mode="concat"
            ),
        ]
    )
    m.set_weights(_lstm_k2(w, "forward_") + _lstm_k2(w, "backward_"))
    x = np.random.default_rng(0).normal(size=(3, 4, 10)).astype(np.float32)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), m.predict(x, verbose=0), "Keras 1 Bidirectional(LSTM)")


def test_keras1_embedding_lstm(tmp_path):
    import tf_keras as K

    path = DATA / "k1_dl4j_embedding_lstm" / "embedding_lstm_tensorflow_1.h5"
    emb, lstm = _weights(path, "embedding_1"), _weights(path, "lstm_1")
    m = K.Sequential(
        [
            K.Input((10,), dtype="int32"),
            K.layers.Embedding(4, 5),
            K.layers.LSTM(6, return_sequences=True, recurrent_activation="hard_sigmoid"),
        ]
    )
    m.set_weights([emb["W"]] + _lstm_k2(lstm))
    x = np.random.default_rng(1).integers(0, 4, (3, 10)).astype(np.int32)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), m.predict(x, verbose=0), "Keras 1 Embedding + LSTM")


def test_keras1_theano_simple_rnn(tmp_path):
    import tf_keras as K

    path = DATA / "k1_dl4j_simple_rnn_theano" / "simple_rnn_theano_1.h5"
    w = _weights(path, "simplernn_1")  # Theano names: no ':0'
    m = K.Sequential([K.Input((4, 1)), K.layers.SimpleRNN(6)])
    m.set_weights([w["W"], w["U"], w["b"]])
    x = np.random.default_rng(2).normal(size=(5, 4, 1)).astype(np.float32)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), m.predict(x, verbose=0), "Keras 1 Theano SimpleRNN")


def _bundle_in_float64(bundle: Path, x: np.ndarray) -> np.ndarray:
    """Evaluate the converted graph with its reference ops in float64."""
    model = load(bundle)
    env = {model.inputs[0].name: [x.astype(np.float64)]}
    for node in model._nodes:
        args = [env[r[0]][r[1]] for r in node.inputs]
        weights = {k: v.astype(np.float64) for k, v in node.weights.items()}
        config = {k: v for k, v in node.config.items() if k in call_keys(node.op, node.fn)}
        env[node.name] = node.fn(*args, **weights, **config)
    ref = model._output_refs[0]
    return env[ref[0]][ref[1]]


def test_keras108_json_and_weights_pair(tmp_path):
    """A trained char-LSTM with large weights (|U| up to 10): over its 100 steps float32
    rounding differences between any two implementations grow chaotically (1e-7 at
    step 1, 1e-2 by step 70, measured between tf_keras and our ops). The conversion is
    therefore checked in float64, Keras and our graph alike, where that noise vanishes."""
    import tf_keras as K

    d = DATA / "k1_eco_charlstm_keras108"
    arch, weights = d / "judith_butler-undoing_gender_i03e10s2.h5.json", d / "judith_butler-undoing_gender_i03e10s2.h5"
    cfg = json.loads(arch.read_text())
    act = cfg["config"][-1]["config"]["activation"]
    lstm, dense = _weights(weights, "lstm_1"), _weights(weights, "dense_1")
    m = K.Sequential(
        [
            K.Input((100, 61), dtype="float64"),
            K.layers.LSTM(128, recurrent_activation="hard_sigmoid", dtype="float64"),
            K.layers.Dense(61, dtype="float64"),
            K.layers.Activation(act, dtype="float64"),
        ]
    )
    m.set_weights([w.astype(np.float64) for w in _lstm_k2(lstm) + [dense["W"], dense["b"]]])
    x = np.eye(61)[np.random.default_rng(3).integers(0, 61, (2, 100))]
    convert(arch, tmp_path / "b", weights=weights)
    ours = _bundle_in_float64(tmp_path / "b", x)
    theirs = m.predict(x, verbose=0)
    assert np.max(np.abs(ours - theirs)) <= 1e-5 * max(1.0, np.max(np.abs(theirs)))


def test_tf_keras_224_file_against_keras_own_loader(tmp_path):
    import tf_keras as K

    path = DATA / "tfk_dl4j_bilstm_repeatvector" / "rnn_31.h5"
    m = K.models.load_model(path, compile=False)
    x = np.random.default_rng(4).normal(size=(3, 3, 4)).astype(np.float32)
    convert(path, tmp_path / "b")
    assert_parity(
        load(tmp_path / "b").predict(x), m.predict(x, verbose=0), "tf.keras 2.2.4 Bidirectional + RepeatVector"
    )

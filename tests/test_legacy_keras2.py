"""Files written by real standalone Keras 2.0-2.2 installations (tests/data/legacy/k2_*).

Provenance in tests/data/legacy/PROVENANCE.md. Two kinds of reference, neither through our
converter:

* Keras's own predictions, where the file ships them (``*_inputs_and_outputs.h5``:
  ``predictions/`` is what Keras computed for ``inputs/``; ``outputs/`` are training targets).
* tf_keras 2.21's own loader, ``load_model(path, compile=False)``, which reads Keras 2 files
  directly, run on inputs generated here. Its hard_sigmoid is Keras 2's ``clip(0.2x + 0.5)``
  (checked below), so the era's gates mean the same on both sides. Where tf_keras does not
  reproduce what Keras 2.2 did when loading (Theano convolution kernels, which Keras 2.2's
  ``saving.preprocess_weights_for_loading`` flips and tf_keras no longer does), the reference
  applies Keras 2.2's documented rule to the model tf_keras loaded.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import assert_parity, tolerance
from keras_zoo import eager

from rnnconvert.converter import convert
from rnnconvert.errors import RnnConvertError
from rnnconvert.runtime import load

DATA = Path(__file__).parent / "data" / "legacy"
pytestmark = pytest.mark.keras

KERAS2_HARD_SIGMOID = {"type": "hard_sigmoid", "slope": 0.2, "offset": 0.5}


def _tfk():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras

    return tf_keras


def _keras_load(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no training configuration found" and the like
        return _tfk().models.load_model(path, compile=False)


def _rnn_nodes(doc: dict) -> list[dict]:
    return [n for n in doc["nodes"] if n["op"] in ("LSTM", "GRU")]


def test_tf_keras_hard_sigmoid_is_keras2s():
    """The premise of every tf_keras reference below: tf_keras 2.21 keeps Keras 2's
    hard_sigmoid (Keras 3 changed it to x/6 + 0.5)."""
    x = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], np.float32)
    K = _tfk()
    got = np.asarray(K.activations.hard_sigmoid(K.backend.constant(x)))
    np.testing.assert_allclose(got, np.clip(0.2 * x + 0.5, 0.0, 1.0), atol=1e-7)


# -- files that ship Keras's own predictions -----------------------------------------------


def _stored(io_path: Path, inp: str, out: str) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(io_path, "r") as f:
        x, y = f[f"inputs/{inp}"][()], f[f"predictions/{out}"][()]
        # predictions/ are the model's outputs (the output layer's activations), not targets
        np.testing.assert_array_equal(y, f[f"activations/{out}"][()])
    return x, y


def _predict_with_gates(bundle: Path, x: np.ndarray, gates: dict) -> np.ndarray:
    """The converted graph with every LSTM's recurrent_activation replaced by ``gates``."""
    model = load(bundle)
    env = {model.inputs[0].name: [x]}
    for node in model.nodes:
        config = dict(node.op_config)
        if "recurrent_activation" in config:
            config["recurrent_activation"] = gates
        env[node.name] = node.fn(*[env[r[0]][r[1]] for r in node.inputs], **node.weights, **config)
    ref = model.output_refs[0]
    return env[ref[0]][ref[1]]


def test_keras213_lstm_reproduces_keras_own_predictions(tmp_path):
    """dl4j's script fed one-step sequences (batch_input_shape [25, 1, 1]), so this checks
    the gates, hard_sigmoid and the weight layout; the recurrence is checked by the loader
    cases below. The model is not stateful, so the file's batch of 25 binds nothing (as in
    Keras's own predict): any number of rows runs."""
    d = DATA / "k2_dl4j_simple_lstm_keras213"
    result = convert(d / "simple_flatten_lstm_tf_keras_2_model.h5", tmp_path / "b")
    assert (result.doc["source"]["keras_version"], result.doc["source"]["backend"]) == ("2.1.3", "tensorflow")
    (lstm,) = _rnn_nodes(result.doc)
    assert lstm["config"]["recurrent_activation"] == KERAS2_HARD_SIGMOID
    x, expected = _stored(d / "simple_flatten_lstm_tf_keras_2_inputs_and_outputs.h5", "lstm_1_input", "dense_1")
    assert_parity(load(tmp_path / "b").predict(x), expected, "Keras 2.1.3 stored predictions")
    assert result.doc["inputs"][0]["shape"] == [None, 1, 1]
    assert_parity(load(tmp_path / "b").predict(x[:7]), expected[:7], "Keras 2.1.3, 7 of the 25 rows")
    # The file tells the two hard_sigmoids apart: read with Keras 3's meaning it misses.
    keras3 = _predict_with_gates(tmp_path / "b", x, {"type": "hard_sigmoid", "slope": 1.0 / 6.0, "offset": 0.5})
    assert np.max(np.abs(keras3 - expected)) > 100 * tolerance(expected)


def test_keras213_simple_rnn_reproduces_keras_own_predictions(tmp_path):
    d = DATA / "k2_dl4j_simple_rnn_keras213"
    result = convert(d / "simple_rnn_tf_keras_2_model.h5", tmp_path / "b")
    assert result.doc["source"]["keras_version"] == "2.1.3"
    x, expected = _stored(d / "simple_rnn_tf_keras_2_inputs_and_outputs.h5", "simple_rnn_1_input", "dense_1")
    assert_parity(load(tmp_path / "b").predict(x), expected, "Keras 2.1.3 SimpleRNN stored predictions")


# -- files checked against tf_keras's own loader ---------------------------------------------


def _masked_features(rng: np.random.Generator) -> np.ndarray:
    x = rng.normal(size=(5, 10, 42)).astype(np.float32)
    x[0, 7:] = 0.0  # post-padding
    x[1, :3] = 0.0  # pre-padding
    x[2, 4:6] = 0.0  # interior
    x[3] = 0.0  # all masked: Keras returns the initial (zero) state
    return x


CASES = {
    # dir/file: (keras_version, backend, inputs)
    "k2_dl4j_functional_lstm_keras208/lstm_functional_tf_keras_2.h5": (
        "2.0.8",
        "tensorflow",
        lambda r: r.normal(size=(4, 10, 4)).astype(np.float32),
    ),
    "k2_dl4j_masking_lstm_keras220/masking_zero_lstm.h5": ("2.2.0", "tensorflow", _masked_features),
    "k2_dl4j_theano_keras213/bidirectional_lstm_theano_2.h5": (
        "2.1.3",
        "theano",
        lambda r: r.normal(size=(3, 4, 10)).astype(np.float32),
    ),
    "k2_dl4j_theano_keras213/embedding_lstm_theano_2.h5": (
        "2.1.3",
        "theano",
        lambda r: r.integers(0, 4, (3, 10)).astype(np.int32),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_keras2_file_against_tf_keras_loader(tmp_path, name):
    version, backend, make_x = CASES[name]
    path = DATA / name
    result = convert(path, tmp_path / "b")
    assert (result.doc["source"]["keras_version"], result.doc["source"]["backend"]) == (version, backend)
    rnns = _rnn_nodes(result.doc)
    assert rnns and all(n["config"]["recurrent_activation"] == KERAS2_HARD_SIGMOID for n in rnns)
    x = make_x(np.random.default_rng(11))
    expected = eager(_keras_load(path), x)
    assert_parity(load(tmp_path / "b").predict(x), expected, f"Keras {version} {name}")


def test_keras213_theano_conv1d_kernel_flipped_as_keras22_did(tmp_path):
    """Theano convolves, TensorFlow correlates: Keras 2.2's ``preprocess_weights_for_loading``
    reverses a Theano-trained Conv1D kernel along time (``conv_utils.convert_kernel``) when
    a TensorFlow backend loads it. tf_keras 2.21 reads the kernel as stored, so its model
    gets Keras 2.2's flip here; the unflipped model must then disagree, or the file would
    not test the flip at all."""
    path = DATA / "k2_dl4j_theano_keras213" / "embedding_conv1d_theano_2.h5"
    result = convert(path, tmp_path / "b")
    assert (result.doc["source"]["keras_version"], result.doc["source"]["backend"]) == ("2.1.3", "theano")
    m = _keras_load(path)
    x = np.random.default_rng(12).integers(0, 4, (4, 10)).astype(np.int32)
    unflipped = eager(m, x)
    conv = next(layer for layer in m.layers if layer.__class__.__name__ == "Conv1D")
    kernel, *rest = conv.get_weights()
    conv.set_weights([kernel[::-1], *rest])  # (K, C_in, C_out): reverse K
    expected = eager(m, x)
    ours = load(tmp_path / "b").predict(x)
    assert_parity(ours, expected, "Keras 2.1.3 Theano Embedding + Conv1D")
    assert np.max(np.abs(ours - unflipped)) > 100 * tolerance(expected)


def test_keras2_theano_conv2d_kernel_flipped_on_both_spatial_axes(tmp_path):
    """A Keras 2 file whose ``backend`` attribute says Theano (written here with tf_keras,
    the attribute then set): Keras 2.2's ``convert_kernel`` reverses every axis of a Conv2D
    kernel but the last two (rows and columns); odd kernels at stride 1 pad alike under
    'same'. An even kernel under 'same' is refused by name."""
    import tf_keras as K

    rng = np.random.default_rng(41)
    m = K.Sequential(
        [
            K.Input((7, 6, 2)),
            K.layers.Conv2D(3, (3, 1), padding="same", activation="tanh"),
            K.layers.Conv2D(2, (2, 3)),
            K.layers.Flatten(),
            K.layers.Dense(2),
        ]
    )
    m.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in m.get_weights()])
    path = tmp_path / "m.h5"
    m.save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["backend"] = "theano"
    x = rng.normal(0, 1, (3, 7, 6, 2)).astype(np.float32)
    unflipped = m.predict(x, verbose=0)
    for layer in m.layers[:2]:
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel[::-1, ::-1], bias])
    expected = m.predict(x, verbose=0)
    convert(path, tmp_path / "b")
    ours = load(tmp_path / "b").predict(x)
    assert_parity(ours, expected, "Keras 2 Theano Conv2D")
    assert np.max(np.abs(ours - unflipped)) > 100 * tolerance(expected)

    even = K.Sequential([K.Input((5, 5, 1)), K.layers.Conv2D(1, 2, padding="same")])
    even.save(tmp_path / "even.h5")
    with h5py.File(tmp_path / "even.h5", "r+") as f:
        f.attrs["backend"] = "theano"
    with pytest.raises(RnnConvertError, match="Theano 'same' convolution with an even kernel"):
        convert(tmp_path / "even.h5", tmp_path / "b2")

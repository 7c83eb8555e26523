"""Keras 1.2.2 models with the layers around RNNs, written in Keras 1's own file layout
(``keras1_files``), converted and compared with tf_keras models of the same architecture.

The tf_keras references get the same weights by a route that does not touch the
converter: Keras 2.2's documented loading rules (``saving.preprocess_weights_for_loading``:
LSTM gates stored i, c, f, o fused as i, f, c, o; GRU z, r, h; a Keras 1 ``Convolution1D``
kernel (K, 1, D, F) taken as ``W[:, 0]``; Theano kernels flipped by
``conv_utils.convert_kernel``; ``running_std`` loaded as the moving variance), applied here
with NumPy, and Keras 1's semantics spelled out in the reference layers (hard_sigmoid
gates, GRU without reset_after, ``border_mode='full'`` as zero padding then 'valid').
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import keras1_files as k1
import numpy as np
import pytest
from conftest import assert_parity
from keras_zoo import PADDED_IDS, eager

from rnnconvert.converter import convert
from rnnconvert.errors import SecurityError
from rnnconvert.runtime import load

pytestmark = pytest.mark.keras


def _tfk():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras

    return tf_keras


def _w(layer: k1.K1Layer) -> dict[str, np.ndarray]:
    """Weights by their Keras 1 parameter name (W_i, U, b, gamma, running_std...)."""
    return {n[len(layer.name) + 1 :]: v for n, v in layer.weights}


def _lstm2(layer):  # Keras 2.2: old i, c, f, o -> new i, f, c, o
    w = _w(layer)
    if "W" in w:  # consume_less='gpu': already fused
        return [w["W"], w["U"], w["b"]]
    return [np.concatenate([w[f"{p}_{g}"] for g in "ifco"], axis=-1) for p in ("W", "U", "b")]


def _gru2(layer):
    w = _w(layer)
    return [np.concatenate([w[f"{p}_{g}"] for g in "zrh"], axis=-1) for p in ("W", "U", "b")]


def _conv2(layer, theano=False):
    w = _w(layer)
    kernel = w["W"][:, 0, :, :]
    if theano:  # conv_utils.convert_kernel: flip every axis but the last two
        kernel = np.copy(kernel[::-1, :, :])
    return [kernel, w["b"]]


def _bn2(layer):
    w = _w(layer)
    return [w["gamma"], w["beta"], w["running_mean"], w["running_std"]]


def _dense2(layer):
    w = _w(layer)
    return [w["W"], w["b"]]


# -- a functional Keras 1 model with every layer family -----------------------------------


def _functional(rng):
    L = {
        "embedding_1": k1.embedding(rng, "embedding_1", 10, 4, mask_zero=True, input_length=6),
        "lstm_1": k1.lstm(rng, "lstm_1", 4, 5, return_sequences=True),
        "timedistributeddense_1": k1.time_distributed_dense(rng, "timedistributeddense_1", 5, 5, "tanh"),
        "lstm_2": k1.lstm(rng, "lstm_2", 5, 5, consume_less="gpu"),
        "convolution1d_1": k1.conv1d(rng, "convolution1d_1", 3, 4, 3, border_mode="same", activation="relu"),
        "batchnormalization_1": k1.batchnorm(rng, "batchnormalization_1", 4),
        "maxpooling1d_1": k1.plain("MaxPooling1D", "maxpooling1d_1", pool_length=2, stride=None, border_mode="valid"),
        "atrousconvolution1d_1": k1.conv1d(rng, "atrousconvolution1d_1", 4, 4, 2, atrous_rate=2),
        "convolution1d_2": k1.conv1d(rng, "convolution1d_2", 4, 4, 2, border_mode="full"),
        "gru_1": k1.gru(rng, "gru_1", 4, 5),
        "merge_1": k1.merge("merge_1", "concat"),
        "merge_2": k1.merge("merge_2", "sum"),
        "merge_3": k1.merge("merge_3", "mul"),
        "merge_4": k1.merge("merge_4", "ave"),
        "merge_5": k1.merge("merge_5", "dot", dot_axes=[1, 1]),
        "merge_6": k1.merge("merge_6", "cos", dot_axes=[1, 1]),
        "merge_7": k1.merge("merge_7", "max"),
        "merge_8": k1.merge("merge_8", "concat"),
        "dense_1": k1.dense(rng, "dense_1", 10, 3, "softmax"),
        "prelu_1": k1.prelu(rng, "prelu_1", (5,)),
        "leakyrelu_1": k1.plain("LeakyReLU", "leakyrelu_1", alpha=0.1),
        "elu_1": k1.plain("ELU", "elu_1", alpha=0.7),
        "gru_2": k1.gru(rng, "gru_2", 10, 4),
        "dropout_1": k1.plain("Dropout", "dropout_1", p=0.5),
    }
    graph = [
        (k1.input_layer("input_1", (6,), "int32"), []),
        (k1.input_layer("input_2", (8, 3)), []),
        (L["embedding_1"], [("input_1", 0, 0)]),
        (L["lstm_1"], [("embedding_1", 0, 0)]),
        (L["timedistributeddense_1"], [("lstm_1", 0, 0)]),
        (L["lstm_2"], [("timedistributeddense_1", 0, 0)]),
        (L["convolution1d_1"], [("input_2", 0, 0)]),
        (L["batchnormalization_1"], [("convolution1d_1", 0, 0)]),
        (L["maxpooling1d_1"], [("batchnormalization_1", 0, 0)]),
        (L["atrousconvolution1d_1"], [("maxpooling1d_1", 0, 0)]),
        (L["convolution1d_2"], [("atrousconvolution1d_1", 0, 0)]),
        (L["gru_1"], [("convolution1d_2", 0, 0)]),
        (L["merge_1"], [("lstm_2", 0, 0), ("gru_1", 0, 0)]),
        (L["merge_2"], [("lstm_2", 0, 0), ("gru_1", 0, 0)]),
        (L["merge_3"], [("lstm_2", 0, 0), ("gru_1", 0, 0)]),
        (L["merge_4"], [("lstm_2", 0, 0), ("gru_1", 0, 0)]),
        (L["merge_5"], [("lstm_2", 0, 0), ("gru_1", 0, 0)]),
        (L["merge_6"], [("lstm_2", 0, 0), ("gru_1", 0, 0)]),
        (L["merge_7"], [("lstm_2", 0, 0), ("gru_1", 0, 0)]),
        (L["merge_8"], [("lstm_1", 0, 0), ("timedistributeddense_1", 0, 0)]),
        (L["dropout_1"], [("merge_1", 0, 0)]),
        (L["dense_1"], [("dropout_1", 0, 0)]),
        (L["prelu_1"], [("merge_2", 0, 0)]),
        (L["leakyrelu_1"], [("merge_3", 0, 0)]),
        (L["elu_1"], [("merge_4", 0, 0)]),
        (L["gru_2"], [("merge_8", 0, 0)]),
    ]
    outputs = ["dense_1", "prelu_1", "leakyrelu_1", "elu_1", "merge_5", "merge_6", "merge_7", "gru_2"]
    config = k1.model_config(graph, ["input_1", "input_2"], [(o, 0, 0) for o in outputs])
    flat = [lyr for lyr, _ in graph]
    return config, flat, L


def _functional_reference(L):
    K = _tfk()
    hs = dict(recurrent_activation="hard_sigmoid")
    made = []

    def lay(layer, weights):
        made.append((layer, weights))
        return layer

    ids, feats = K.Input((6,), dtype="int32"), K.Input((8, 3))
    e = lay(K.layers.Embedding(10, 4, mask_zero=True), [_w(L["embedding_1"])["W"]])(ids)
    seq = lay(K.layers.LSTM(5, return_sequences=True, **hs), _lstm2(L["lstm_1"]))(e)
    td = lay(K.layers.Dense(5, activation="tanh"), _dense2(L["timedistributeddense_1"]))(seq)
    l2 = lay(K.layers.LSTM(5, **hs), _lstm2(L["lstm_2"]))(td)
    c = lay(K.layers.Conv1D(4, 3, padding="same", activation="relu"), _conv2(L["convolution1d_1"]))(feats)
    c = lay(K.layers.BatchNormalization(epsilon=1e-3), _bn2(L["batchnormalization_1"]))(c)
    c = K.layers.MaxPooling1D(2)(c)
    c = lay(K.layers.Conv1D(4, 2, dilation_rate=2), _conv2(L["atrousconvolution1d_1"]))(c)
    c = lay(K.layers.Conv1D(4, 2), _conv2(L["convolution1d_2"]))(K.layers.ZeroPadding1D(1)(c))  # 'full'
    g = lay(K.layers.GRU(5, reset_after=False, **hs), _gru2(L["gru_1"]))(c)
    dense = lay(K.layers.Dense(3, activation="softmax"), _dense2(L["dense_1"]))
    prelu = lay(K.layers.PReLU(), [_w(L["prelu_1"])["alphas"]])
    g2 = lay(K.layers.GRU(4, reset_after=False, **hs), _gru2(L["gru_2"]))
    outs = [
        dense(K.layers.Concatenate()([l2, g])),
        prelu(K.layers.Add()([l2, g])),
        K.layers.LeakyReLU(0.1)(K.layers.Multiply()([l2, g])),
        K.layers.ELU(0.7)(K.layers.Average()([l2, g])),
        K.layers.Dot(axes=1)([l2, g]),
        K.layers.Reshape((1, 1))(K.layers.Dot(axes=1, normalize=True)([l2, g])),
        K.layers.Maximum()([l2, g]),
        g2(K.layers.Concatenate()([seq, td])),
    ]
    m = K.Model([ids, feats], outs)
    for layer, weights in made:
        layer.set_weights(weights)
    return m


@pytest.fixture(scope="module")
def functional_k1(tmp_path_factory):
    d = tmp_path_factory.mktemp("k1")
    rng = np.random.default_rng(11)
    config, flat, L = _functional(rng)
    model_path = k1.write_model(d / "model.h5", "Model", config, flat)
    json_path, w_path = k1.write_json_and_weights(d / "model.json", d / "weights.h5", "Model", config, flat)
    ref = _functional_reference(L)
    xs = [PADDED_IDS, rng.normal(0, 1, (5, 8, 3)).astype(np.float32)]
    return model_path, (json_path, w_path), xs, eager(ref, xs)


@pytest.mark.parametrize("fmt", ["h5", "json"])
def test_keras1_functional_with_layers_around_rnns(functional_k1, tmp_path, fmt):
    model_path, (json_path, w_path), xs, expected = functional_k1
    if fmt == "h5":
        convert(model_path, tmp_path / "b")
    else:
        convert(json_path, tmp_path / "b", weights=w_path)
    assert_parity(load(tmp_path / "b").predict(xs), expected, f"Keras 1.2.2 functional ({fmt})")


# -- Sequential([Merge([model_a, model_b]), ...]) ------------------------------------------


def test_keras1_sequential_merging_two_models(tmp_path):
    rng = np.random.default_rng(12)
    la, lb = k1.lstm(rng, "lstm_1", 3, 4), k1.gru(rng, "gru_1", 2, 4, go_backwards=True)
    dn = k1.dense(rng, "dense_1", 8, 2, "softmax")
    branches = [
        {"class_name": "Sequential", "config": k1.sequential_config([la], (5, 3))},
        {"class_name": "Sequential", "config": k1.sequential_config([lb], (7, 2))},
    ]
    mg = k1.merge("merge_1", "concat", layers=branches)
    config = [mg.entry(), dn.entry()]
    path = k1.write_model(tmp_path / "m.h5", "Sequential", config, [la, lb, dn])

    K = _tfk()
    a, b = K.Input((5, 3)), K.Input((7, 2))
    ha = K.layers.LSTM(4, recurrent_activation="hard_sigmoid")(a)
    hb = K.layers.GRU(4, recurrent_activation="hard_sigmoid", reset_after=False, go_backwards=True)(b)
    ref = K.Model([a, b], K.layers.Dense(2, activation="softmax")(K.layers.Concatenate()([ha, hb])))
    ref.set_weights(_lstm2(la) + _gru2(lb) + _dense2(dn))
    xs = [rng.normal(0, 1, (3, 5, 3)).astype(np.float32), rng.normal(0, 1, (3, 7, 2)).astype(np.float32)]
    result = convert(path, tmp_path / "b")
    assert [i["shape"] for i in result.doc["inputs"]] == [[None, 5, 3], [None, 7, 2]]
    assert_parity(load(tmp_path / "b").predict(xs), eager(ref, xs), "Keras 1 Sequential Merge")


def test_keras1_merge_with_code_is_refused(tmp_path):
    rng = np.random.default_rng(13)
    la, lb = k1.dense(rng, "dense_1", 3, 2), k1.dense(rng, "dense_2", 3, 2)
    mg = k1.merge("merge_1", "sum")
    mg.config.update(mode="<marshalled function bytes>", mode_type="lambda")
    graph = [
        (k1.input_layer("input_1", (3,)), []),
        (la, [("input_1", 0, 0)]),
        (lb, [("input_1", 0, 0)]),
        (mg, [("dense_1", 0, 0), ("dense_2", 0, 0)]),
    ]
    path = k1.write_model(
        tmp_path / "m.h5", "Model", k1.model_config(graph, ["input_1"], [("merge_1", 0, 0)]), [la, lb]
    )
    with pytest.raises(SecurityError, match="merge_1"):
        convert(path, tmp_path / "b")


# -- Theano: kernel names without ':0', convolutions flipped ------------------------------------


def test_keras1_theano_convolution_is_flipped(tmp_path):
    rng = np.random.default_rng(14)
    cv = k1.conv1d(rng, "convolution1d_1", 3, 4, 3, activation="tanh")
    cv2 = k1.conv1d(rng, "convolution1d_2", 4, 4, 3, border_mode="same")
    ls, dn = k1.lstm(rng, "lstm_1", 4, 3), k1.dense(rng, "dense_1", 3, 2)
    layers = [cv, cv2, ls, dn]
    path = k1.write_model(tmp_path / "m.h5", "Sequential", k1.sequential_config(layers, (9, 3)), layers, theano=True)
    K = _tfk()
    ref = K.Sequential(
        [
            K.Input((9, 3)),
            K.layers.Conv1D(4, 3, activation="tanh"),
            K.layers.Conv1D(4, 3, padding="same"),
            K.layers.LSTM(3, recurrent_activation="hard_sigmoid"),
            K.layers.Dense(2),
        ]
    )
    ref.set_weights(_conv2(cv, theano=True) + _conv2(cv2, theano=True) + _lstm2(ls) + _dense2(dn))
    x = rng.normal(0, 1, (4, 9, 3)).astype(np.float32)
    with pytest.warns(Warning, match="Theano"):  # a guess from the weight names: said so
        result = convert(path, tmp_path / "b")
    assert sum("Theano" in w for w in result.warnings) == 2
    assert_parity(load(tmp_path / "b").predict(x), eager(ref, x), "Keras 1 Theano Conv1D")


# -- BatchNormalization before Keras 1.0.6 --------------------------------------------------------


def test_keras104_batchnorm_divides_by_running_std_plus_epsilon(tmp_path):
    """Keras 1.0.0-1.0.5 computed (x - running_mean) / (running_std + epsilon) * gamma + beta
    at inference (keras/layers/normalization.py at tag 1.0.4); from 1.0.6 on,
    K.batch_normalization with running_std as the variance. Checked in NumPy from those
    formulas."""
    rng = np.random.default_rng(15)
    bn, dn = k1.batchnorm(rng, "batchnormalization_1", 4, epsilon=1e-6), k1.dense(rng, "dense_1", 4, 2)
    layers = [bn, dn]
    x = rng.normal(0, 1, (3, 4)).astype(np.float32)
    w, d = _w(bn), _w(dn)
    for version, normed in (
        ("1.0.4", (x - w["running_mean"]) / (w["running_std"] + 1e-6)),
        ("1.2.2", (x - w["running_mean"]) / np.sqrt(w["running_std"] + 1e-6)),
    ):
        path = k1.write_model(
            tmp_path / f"{version}.h5", "Sequential", k1.sequential_config(layers, (4,)), layers, version=version
        )
        expected = (normed * w["gamma"] + w["beta"]) @ d["W"] + d["b"]
        convert(path, tmp_path / version)
        assert_parity(load(tmp_path / version).predict(x), expected.astype(np.float32), f"Keras {version} BN")


# -- the real Keras 1.2.2 config.json + weights pair -----------------------------------------------


def test_keras1_json_config_with_full_model_as_weights(tmp_path):
    """The dl4j fixture ships the model's ``to_json()`` beside the full model: the pair
    (reading the weights out of the full model's ``model_weights``) reproduces the
    predictions Keras 1.2.2 stored."""
    import h5py

    d = Path(__file__).parent / "data" / "legacy" / "k1_dl4j_simple_lstm_tf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert(d / "simple_lstm_tf_keras_1_config.json", tmp_path / "b", weights=d / "simple_lstm_tf_keras_1_model.h5")
    with h5py.File(d / "simple_lstm_tf_keras_1_inputs_and_outputs.h5", "r") as f:
        x, expected = f["inputs/lstm_input_1"][()], f["predictions/dense_1"][()]
    assert_parity(load(tmp_path / "b").predict(x), expected, "Keras 1.2.2 json + weights")


def test_keras1_nested_sequential_shared_by_two_inputs(tmp_path):
    """A Keras 1 siamese model: a Sequential used as a layer on two inputs. Keras 1 numbers
    its calls 1 and 2 (node 0 is its own), and its weights sit in one group with Keras 1
    names (``lstm_1_W_i:0``), which carry no ``/`` to tell their sublayer."""
    rng = np.random.default_rng(16)
    ls, dn, out = k1.lstm(rng, "lstm_1", 3, 4), k1.dense(rng, "dense_1", 4, 2, "tanh"), k1.dense(rng, "dense_2", 2, 1)
    enc_cfg = k1.sequential_config([ls, dn], (5, 3))
    enc = k1.K1Layer("Sequential", "sequential_1", {})
    enc.weights = ls.weights + dn.weights
    mg = k1.merge("merge_1", "sum")
    config = {
        "name": "model_1",
        "layers": [
            {
                "name": "input_1",
                "class_name": "InputLayer",
                "config": k1.input_layer("input_1", (5, 3)).config,
                "inbound_nodes": [],
            },
            {
                "name": "input_2",
                "class_name": "InputLayer",
                "config": k1.input_layer("input_2", (5, 3)).config,
                "inbound_nodes": [],
            },
            {
                "name": "sequential_1",
                "class_name": "Sequential",
                "config": enc_cfg,
                "inbound_nodes": [[["input_1", 0, 0]], [["input_2", 0, 0]]],
            },
            {
                "name": "merge_1",
                "class_name": "Merge",
                "config": mg.config,
                "inbound_nodes": [[["sequential_1", 1, 0], ["sequential_1", 2, 0]]],
            },
            {"name": "dense_2", "class_name": "Dense", "config": out.config, "inbound_nodes": [[["merge_1", 0, 0]]]},
        ],
        "input_layers": [["input_1", 0, 0], ["input_2", 0, 0]],
        "output_layers": [["dense_2", 0, 0]],
    }
    path = k1.write_model(tmp_path / "m.h5", "Model", config, [enc, out])

    K = _tfk()
    a, b = K.Input((5, 3)), K.Input((5, 3))
    lstm, dense = K.layers.LSTM(4, recurrent_activation="hard_sigmoid"), K.layers.Dense(2, activation="tanh")
    head = K.layers.Dense(1)
    ref = K.Model([a, b], head(K.layers.Add()([dense(lstm(a)), dense(lstm(b))])))
    lstm.set_weights(_lstm2(ls))
    dense.set_weights(_dense2(dn))
    head.set_weights(_dense2(out))
    xs = [rng.normal(0, 1, (3, 5, 3)).astype(np.float32) for _ in range(2)]
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(xs), eager(ref, xs), "Keras 1 nested Sequential")


def _k1_fixture_models(K):
    hs = dict(recurrent_activation="hard_sigmoid")
    return {
        "k1_dl4j_bidirectional_lstm/bidirectional_lstm_tensorflow_1.h5": (
            K.Sequential([K.Input((4, 10)), K.layers.Bidirectional(K.layers.LSTM(10, return_sequences=True, **hs))]),
            np.random.default_rng(21).normal(size=(3, 4, 10)).astype(np.float32),
        ),
        "k1_dl4j_embedding_lstm/embedding_lstm_tensorflow_1.h5": (
            K.Sequential(
                [K.Input((10,), dtype="int32"), K.layers.Embedding(4, 5), K.layers.LSTM(6, return_sequences=True, **hs)]
            ),
            np.random.default_rng(22).integers(0, 4, (3, 10)).astype(np.int32),
        ),
        "k1_dl4j_simple_rnn_theano/simple_rnn_theano_1.h5": (
            K.Sequential([K.Input((4, 1)), K.layers.SimpleRNN(6)]),
            np.random.default_rng(23).normal(size=(5, 4, 1)).astype(np.float32),
        ),
        "k1_dl4j_simple_lstm_tf/simple_lstm_tf_keras_1_model.h5": (
            K.Sequential([K.Input((1, 1)), K.layers.LSTM(50, **hs), K.layers.Dense(1)]),
            np.random.default_rng(24).normal(size=(6, 1, 1)).astype(np.float32),
        ),
    }


@pytest.mark.parametrize(
    "fixture",
    [
        "k1_dl4j_bidirectional_lstm/bidirectional_lstm_tensorflow_1.h5",
        "k1_dl4j_embedding_lstm/embedding_lstm_tensorflow_1.h5",
        "k1_dl4j_simple_rnn_theano/simple_rnn_theano_1.h5",
        "k1_dl4j_simple_lstm_tf/simple_lstm_tf_keras_1_model.h5",
    ],
)
def test_real_keras1_files_against_tf_keras_own_keras1_loader(tmp_path, fixture):
    """The real Keras 1.2.2 files, against tf_keras models that load them with their own
    ``load_weights`` (a weights group without ``keras_version`` is Keras 1 to tf_keras,
    which re-fuses the gates itself): Keras's route, not ours."""
    K = _tfk()
    ref, x = _k1_fixture_models(K)[fixture]
    path = Path(__file__).parent / "data" / "legacy" / fixture
    ref.load_weights(path)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), eager(ref, x), f"{fixture} vs tf_keras's loader")


# -- Convolution2D and 2-D pooling -----------------------------------------------------------


@pytest.mark.parametrize("ordering", ["th", "tf"])
def test_keras1_convolution2d_against_tf_keras_own_keras1_loader(tmp_path, ordering):
    """Keras 1 ``Convolution2D`` / ``MaxPooling2D`` (``border_mode``, ``subsample``,
    ``dim_ordering``): the reference is a tf_keras model loading the same file with its own
    ``load_weights``, which transposes a 'th' kernel (F, C, rows, cols) itself."""
    rng = np.random.default_rng(31)
    cv = k1.conv2d(rng, "convolution2d_1", 2, 3, 3, 2, dim_ordering=ordering, border_mode="same", activation="relu")
    cv2 = k1.conv2d(rng, "convolution2d_2", 3, 4, 2, 2, dim_ordering=ordering, subsample=(2, 1))
    pool = k1.plain(
        "MaxPooling2D", "maxpooling2d_1", pool_size=[2, 2], strides=None, border_mode="same", dim_ordering=ordering
    )
    gap = k1.plain("GlobalAveragePooling2D", "globalaveragepooling2d_1", dim_ordering=ordering)
    dn = k1.dense(rng, "dense_1", 4, 2)
    layers = [cv, cv2, pool, gap, dn]
    shape = (2, 9, 7) if ordering == "th" else (9, 7, 2)
    path = k1.write_model(tmp_path / "m.h5", "Sequential", k1.sequential_config(layers, shape), layers)
    K = _tfk()
    fmt = "channels_first" if ordering == "th" else "channels_last"
    ref = K.Sequential(
        [
            K.Input(shape),
            K.layers.Conv2D(3, (3, 2), padding="same", activation="relu", data_format=fmt),
            K.layers.Conv2D(4, 2, strides=(2, 1), data_format=fmt),
            K.layers.MaxPooling2D(2, padding="same", data_format=fmt),
            K.layers.GlobalAveragePooling2D(data_format=fmt),
            K.layers.Dense(2),
        ]
    )
    ref.load_weights(path)
    x = rng.normal(0, 1, (3, *shape)).astype(np.float32)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), eager(ref, x), f"Keras 1 Convolution2D {ordering}")

"""Keras 2 eras beyond tf_keras: CuDNNLSTM / CuDNNGRU files, and files in the layout of
standalone Keras 2.0-2.2 (written by ``keras2_files`` from Keras's own source).

* CuDNN layers: tf_keras 2.21 still has them (``tf_keras.src.layers.rnn.cudnn_*``, not
  exported) and builds and saves them without a GPU, but cannot run them. The reference
  is therefore Keras's own conversion route: a tf_keras model of LSTM / GRU layers
  loading the CuDNN file with ``load_weights`` (tf_keras's ``hdf5_format`` converts
  CuDNN weights exactly as Keras 2.2's ``saving._convert_rnn_weights`` did).
* Standalone Keras 2.0-2.2 files: a tf_keras model with the same architecture and
  weights is the reference; where the era's defaults matter (a Keras 2.0 GRU config
  has no ``reset_after``), the reference spells out that era's semantics.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from conftest import assert_parity
from keras2_files import write_h5
from keras_zoo import PADDED_IDS, eager

from rnnconvert.converter import convert
from rnnconvert.converter.keras_era import Era
from rnnconvert.runtime import load

pytestmark = pytest.mark.keras


def test_era_defaults_follow_each_keras():
    # Keras source, per tag: recurrent.py defaults of LSTM/GRU recurrent_activation and
    # GRU reset_after (2.0.0-2.2.5: hard_sigmoid, False; 2.3.x: sigmoid, False; tf.keras
    # 2 / Keras 2.4+ / tf_keras: sigmoid, True; Keras 3: sigmoid, True; Keras 1: GRU has
    # no reset_after, inner_activation hard_sigmoid).
    cases = {
        (1, "1.2.2"): ("hard_sigmoid", False),
        (2, "2.0.8"): ("hard_sigmoid", False),
        (2, "2.1.6"): ("hard_sigmoid", False),
        (2, "2.2.4"): ("hard_sigmoid", False),
        (2, "2.3.1"): ("sigmoid", False),
        (2, "2.2.4-tf"): ("sigmoid", True),
        (2, "2.4.0"): ("sigmoid", True),
        (2, "2.21.0"): ("sigmoid", True),
        (3, "3.15.1"): ("sigmoid", True),
    }
    for (major, version), (ra, reset_after) in cases.items():
        era = Era(major, version)
        assert (era.recurrent_activation_default, era.reset_after_default) == (ra, reset_after), version
        assert era.hard_sigmoid["slope"] == (0.2 if major < 3 else 1.0 / 6.0)


# -- CuDNN --------------------------------------------------------------------------------


def _tfk():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras

    return tf_keras


def _cudnn_pair(kind: str):
    """(CuDNN model, the same with LSTM/GRU), built with identical layer names."""
    K = _tfk()
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    def build(lstm, gru):
        if kind == "sequential":
            return K.Sequential(
                [
                    K.Input((7, 4)),
                    lstm(6, return_sequences=True, name="cu_dnnlstm_1"),
                    gru(5, name="cu_dnngru_1"),
                    K.layers.Dense(3, activation="softmax", name="dense_1"),
                ],
                name="sequential_1",
            )
        x = K.Input((7, 4), name="input_1")
        h = K.layers.Bidirectional(lstm(5, return_sequences=True), name="bidirectional_1")(x)
        g, s = gru(3, return_state=True, go_backwards=True, name="cu_dnngru_1")(h)
        last = lstm(4, name="cu_dnnlstm_2")(x)
        return K.Model(x, [h, g, s, K.layers.Dense(2, name="dense_1")(K.layers.Concatenate()([g, last]))])

    cudnn = build(CuDNNLSTM, CuDNNGRU)
    plain = build(lambda u, **kw: K.layers.LSTM(u, **kw), lambda u, **kw: K.layers.GRU(u, **kw))
    rng = np.random.default_rng(7 if kind == "sequential" else 8)
    cudnn.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in cudnn.get_weights()])
    return cudnn, plain


@pytest.fixture(scope="module")
def cudnn_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cudnn")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind in ("sequential", "functional"):
            cudnn, plain = _cudnn_pair(kind)
            cudnn.save(d / f"{kind}.h5")
            (d / f"{kind}.json").write_text(cudnn.to_json())
            cudnn.save_weights(d / f"{kind}-weights.h5")
            plain.load_weights(d / f"{kind}-weights.h5")  # Keras's own CuDNN -> LSTM/GRU conversion
            x = np.random.default_rng(9).normal(0, 1, (3, 7, 4)).astype(np.float32)
            expected = eager(plain, x)
            # Standalone Keras 2.2.4 wrote CuDNN layers too (Keras >= 2.0.9).
            write_h5(d / f"{kind}-keras224.h5", cudnn, "2.2.4")
            out[kind] = (d, x, expected if isinstance(expected, list) else [expected])
    return out


@pytest.mark.parametrize("kind", ["sequential", "functional"])
@pytest.mark.parametrize("fmt", ["h5", "json", "keras224"])
def test_cudnn_matches_keras_own_conversion(cudnn_files, tmp_path, kind, fmt):
    d, x, expected = cudnn_files[kind]
    if fmt == "h5":
        result = convert(d / f"{kind}.h5", tmp_path / "b")
    elif fmt == "json":
        result = convert(d / f"{kind}.json", tmp_path / "b", weights=d / f"{kind}-weights.h5")
    else:
        result = convert(d / f"{kind}-keras224.h5", tmp_path / "b")
        assert result.doc["source"]["keras_version"] == "2.2.4"
    ops = [n for n in result.doc["nodes"] if n["op"] in ("LSTM", "GRU")]
    assert ops and all(n["config"]["recurrent_activation"] == {"type": "sigmoid"} for n in ops)
    assert all(n["config"]["reset_after"] for n in ops if n["op"] == "GRU")
    ours = load(tmp_path / "b").predict(x)
    assert_parity(ours if isinstance(ours, list) else [ours], expected, f"CuDNN {kind} {fmt}")


# -- standalone Keras 2.0-2.2 files ------------------------------------------------------------


def _randomize(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ws = []
    for w in model.weights:
        v = rng.normal(0, 0.4, w.shape).astype(np.float32)
        if "moving_variance" in w.name:
            v = np.abs(v) + 0.1
        ws.append(v)
    model.set_weights(ws)


def _sequential_rnns(K):
    # Keras 2.0-2.2 semantics spelled out: hard_sigmoid gates, GRU without reset_after.
    m = K.Sequential(
        [
            K.Input((9, 4)),
            K.layers.LSTM(6, return_sequences=True, recurrent_activation="hard_sigmoid", name="lstm_1"),
            K.layers.GRU(
                5, return_sequences=True, recurrent_activation="hard_sigmoid", reset_after=False, name="gru_1"
            ),
            K.layers.SimpleRNN(4, name="simple_rnn_1"),
            K.layers.Dense(3, activation="softmax", name="dense_1"),
        ],
        name="sequential_1",
    )
    return m, [np.random.default_rng(1).normal(0, 1, (3, 9, 4)).astype(np.float32)]


def _functional_around_rnns(K):
    # The layers around RNNs as a Keras 2.1/2.2 user wrote them: a conv front end,
    # batch norm, masked embeddings, Bidirectional, TimeDistributed, a merge.
    ids = K.Input((6,), dtype="int32", name="input_1")
    feats = K.Input((6, 5), name="input_2")
    e = K.layers.Embedding(12, 4, mask_zero=True, name="embedding_1")(ids)
    bi = K.layers.Bidirectional(
        K.layers.LSTM(4, return_sequences=True, recurrent_activation="hard_sigmoid", name="lstm_1"),
        name="bidirectional_1",
    )(e)
    c = K.layers.Conv1D(4, 3, padding="causal", activation="relu", name="conv1d_1")(feats)
    c = K.layers.BatchNormalization(name="batch_normalization_1")(c)
    c = K.layers.MaxPooling1D(2, padding="same", name="max_pooling1d_1")(c)
    g = K.layers.GRU(3, recurrent_activation="hard_sigmoid", reset_after=False, name="gru_1")(c)
    td = K.layers.TimeDistributed(K.layers.Dense(3, name="dense_1"), name="time_distributed_1")(bi)
    pooled = K.layers.GlobalAveragePooling1D(name="global_average_pooling1d_1")(td)
    cat = K.layers.Concatenate(name="concatenate_1")([pooled, g])
    out = K.layers.Dense(2, activation="sigmoid", name="dense_2")(K.layers.Dropout(0.5, name="dropout_1")(cat))
    m = K.Model([ids, feats], [out, td], name="model_1")
    rng = np.random.default_rng(2)
    return m, [PADDED_IDS, rng.normal(0, 1, (5, 6, 5)).astype(np.float32)]


@pytest.fixture(scope="module")
def keras2_models():
    K = _tfk()
    out = {}
    for name, build, seed in (("sequential", _sequential_rnns, 3), ("functional", _functional_around_rnns, 4)):
        m, xs = build(K)
        _randomize(m, seed)
        y = eager(m, xs if len(xs) > 1 else xs[0])
        out[name] = (m, xs, y if isinstance(y, list) else [y])
    return out


@pytest.mark.parametrize(
    "name,version",
    [
        ("sequential", "2.0.8"),
        ("sequential", "2.1.6"),
        ("sequential", "2.2.4"),
        ("functional", "2.1.6"),
        ("functional", "2.2.4"),
    ],
)
def test_standalone_keras2_files(keras2_models, tmp_path, name, version):
    m, xs, expected = keras2_models[name]
    path = write_h5(tmp_path / "m.h5", m, version)
    result = convert(path, tmp_path / "b")
    assert result.doc["source"]["keras_version"] == version
    rnn = [n for n in result.doc["nodes"] if n["op"] in ("LSTM", "GRU")]
    assert all(n["config"]["recurrent_activation"]["slope"] == 0.2 for n in rnn)
    assert all(not n["config"]["reset_after"] for n in rnn if n["op"] == "GRU")
    ours = load(tmp_path / "b").predict(xs if len(xs) > 1 else xs[0])
    assert_parity(ours if isinstance(ours, list) else [ours], expected, f"Keras {version} {name}")


def test_keras2_writer_is_read_by_keras_itself(keras2_models, tmp_path):
    """The layout we write as Keras 2.2.4 is one tf_keras's legacy loader accepts, with
    the same predictions: a check on keras2_files, not on the converter."""
    K = _tfk()
    m, xs, expected = keras2_models["functional"]
    path = write_h5(tmp_path / "m.h5", m, "2.2.4")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = K.models.load_model(path, compile=False)
    assert_parity(eager(again, xs), expected, "tf_keras reading our Keras 2.2.4 file")


def test_keras20_gru_without_reset_after_reads_as_keras20(keras2_models, tmp_path):
    m, xs, expected = keras2_models["sequential"]
    path = write_h5(tmp_path / "m.h5", m, "2.0.8")
    import h5py

    with h5py.File(path) as f:
        cfg = f.attrs["model_config"]
        assert "reset_after" not in (cfg.decode() if isinstance(cfg, bytes) else cfg)  # as Keras 2.0 wrote it
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(xs[0]), expected, "Keras 2.0.8 GRU defaults")


def test_name_lists_split_over_several_attributes(keras2_models, tmp_path):
    """Keras splits ``layer_names`` / ``weight_names`` over ``name0``, ``name1``… when a
    list passes 64 KiB (big models); the reader joins them."""
    m, xs, expected = keras2_models["functional"]
    path = write_h5(tmp_path / "m.h5", m, "2.2.4", chunk_names=2)
    import h5py

    with h5py.File(path) as f:
        assert "layer_names0" in f["model_weights"].attrs and "layer_names" not in f["model_weights"].attrs
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(xs), expected, "chunked name lists")


def _nested(K):
    # A shared Sequential encoder (siamese) and a Functional head, as Keras 2.x users
    # nested them; BatchNormalization inside puts non-trainable weights in the group.
    hs = dict(recurrent_activation="hard_sigmoid")
    enc = K.Sequential(
        [
            K.Input((5, 3)),
            K.layers.LSTM(4, return_sequences=True, name="lstm_1", **hs),
            K.layers.BatchNormalization(name="batch_normalization_1"),
            K.layers.Dense(3, name="dense_1"),
        ],
        name="sequential_1",
    )
    xi = K.Input((5, 3), name="input_3")
    gi = K.layers.GRU(2, reset_after=False, name="gru_1", **hs)(xi)
    head = K.Model(xi, [K.layers.Dense(2, activation="softmax", name="dense_2")(gi), gi], name="model_1")
    a, b = K.Input((5, 3), name="input_1"), K.Input((5, 3), name="input_2")
    ea, eb = enc(a), enc(b)
    p, g = head(K.layers.Add(name="add_1")([ea, eb]))
    m = K.Model([a, b], [p, g, ea], name="model_2")
    rng = np.random.default_rng(5)
    return m, [rng.normal(0, 1, (3, 5, 3)).astype(np.float32) for _ in range(2)]


@pytest.mark.parametrize("version", ["2.0.8", "2.2.4"])
def test_standalone_keras2_nested_models(tmp_path, version):
    """Keras 2.0-2.2 number a nested model's calls from 1 (Sequential too, unlike
    tf_keras's Sequential without an InputLayer), list it as one layer whose weights are
    trainable first, and (2.0-2.1) write nested Sequential configs as lists."""
    K = _tfk()
    m, xs = _nested(K)
    _randomize(m, 6)
    expected = eager(m, xs)
    path = write_h5(tmp_path / "m.h5", m, version)
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(xs), expected, f"Keras {version} nested models")


# -- containers: tf_keras .keras zips, misnamed files, extra groups --------------------------------

TF_KERAS_ZIP_CASES = [
    "stacked_lstm_hard_sigmoid_softmax",
    "functional_multi_io",
    "attention_padding_masks",
    "nested_models_deep_and_masked",
    "shared_layers",
    "masked_elementwise_merges",
    "conv_pool_lstm_pipeline",
    "normalization_layers",
    "time_major_rnns",
    "rnn_single_cells",
    "rnn_stacked_cells",
    "rnn_stacked_cells_masked_initial_state",
    "rnn_stacked_cells_repeated_bidirectional",
    "rnn_cells_masked_backwards_states",
    "conv_lstm1d_options",
    "conv_lstm2d_options",
    "conv_lstm3d_options",
    "conv_lstm_bidirectional_stacked",
    "conv_lstm_initial_state",
    "recurrent_family_all_in_one",
]


@pytest.mark.parametrize("case", TF_KERAS_ZIP_CASES)
def test_tf_keras_keras_zip_files(zoo, tmp_path, case):
    """tf_keras writes ``.keras`` zips too (no layer names on its ``vars`` groups, an
    empty ``layer/cell`` group beside a Bidirectional's halves; its groups for stacked
    cells and ConvLSTM cells are laid out by tf_keras, not Keras 3)."""
    built = zoo.get(case, "tf_keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built.model.save(tmp_path / "m.keras")
    result = convert(tmp_path / "m.keras", tmp_path / "b")
    assert result.doc["source"]["container"] == "keras-zip"
    ours = load(tmp_path / "b").predict(built.inputs if len(built.inputs) > 1 else built.inputs[0])
    assert_parity(ours if isinstance(ours, list) else [ours], built.expected, f"{case} tf_keras .keras")


def test_legacy_files_misnamed_and_with_extra_groups(keras2_models, tmp_path):
    """A Keras 2.2.4 file and a real Keras 1.2.2 file, named ``.keras`` (they are HDF5:
    read by their bytes) and carrying groups Keras never wrote (ignored)."""
    import shutil
    from pathlib import Path

    import h5py

    m, xs, expected = keras2_models["functional"]
    k2 = write_h5(tmp_path / "k2.keras", m, "2.2.4")
    k1 = tmp_path / "k1.keras"
    legacy = Path(__file__).parent / "data" / "legacy" / "k1_dl4j_simple_lstm_tf"
    shutil.copy(legacy / "simple_lstm_tf_keras_1_model.h5", k1)
    for p in (k2, k1):
        with h5py.File(p, "r+") as f:
            f.create_group("provenance").attrs["note"] = "added by a user"
            f["model_weights"].create_group("not_a_layer").create_dataset("x", data=np.arange(3.0))
    convert(k2, tmp_path / "b2")
    assert_parity(load(tmp_path / "b2").predict(xs), expected, "Keras 2.2.4 file named .keras")
    convert(k1, tmp_path / "b1")
    with h5py.File(legacy / "simple_lstm_tf_keras_1_inputs_and_outputs.h5", "r") as f:
        x, y = f["inputs/lstm_input_1"][()], f["predictions/dense_1"][()]
    assert_parity(load(tmp_path / "b1").predict(x), y, "Keras 1.2.2 file named .keras")


def test_keras22_theano_file_convolutions_are_flipped(tmp_path):
    """A Keras 2.2.4 file saved under Theano (``backend='theano'``): Theano convolves,
    so the same layer computes with its kernel reversed in time -- Keras 2.2 flips it
    on loading (``conv_utils.convert_kernel``), and so do we."""
    K = _tfk()
    m = K.Sequential(
        [
            K.Input((9, 3)),
            K.layers.Conv1D(4, 3, padding="causal", name="conv1d_1"),
            K.layers.Conv1D(4, 3, padding="same", activation="relu", name="conv1d_2"),
            K.layers.LSTM(3, recurrent_activation="hard_sigmoid", name="lstm_1"),
            K.layers.Dense(2, name="dense_1"),
        ],
        name="sequential_1",
    )
    _randomize(m, 8)
    x = np.random.default_rng(9).normal(0, 1, (4, 9, 3)).astype(np.float32)
    expected = eager(m, x)
    convs = [m.get_layer("conv1d_1"), m.get_layer("conv1d_2")]
    tf_weights = [c.get_weights() for c in convs]
    for c, (k, b) in zip(convs, tf_weights):  # what a Theano-trained layer holds
        c.set_weights([k[::-1], b])
    path = write_h5(tmp_path / "m.h5", m, "2.2.4", backend="theano")
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), expected, "Keras 2.2.4 Theano Conv1D")

"""ConvLSTM and RNN(cell) beyond predict(): stateful calls and streaming against live
Keras 3 and tf_keras, the combined model converted in memory with Keras-made test
vectors, what is refused, and load-time checks of the ConvLSTM op."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_parity
from helpers import convert_every_format, reset_states
from keras_zoo import ERAS, keras_call, keras_module, predict, randomize

from rnnconvert.converter import convert
from rnnconvert.errors import FormatError, InputError, UnsupportedError
from rnnconvert.runtime import load
from rnnconvert.schema import validate

pytestmark = pytest.mark.keras


def _stateful_conv_model(K, rng):
    L = K.layers
    x = K.Input(batch_shape=(2, None, 5, 4, 2))
    y = L.ConvLSTM2D(2, (3, 2), padding="same", stateful=True, return_sequences=True)(x)
    b = L.Bidirectional(L.ConvLSTM2D(2, 2, strides=(2, 1), stateful=True, return_sequences=True))(y)
    xf = L.Permute((1, 4, 2, 3))(x)
    cf = L.ConvLSTM2D(2, 2, padding="same", data_format="channels_first", stateful=True)(xf)
    m = K.Model(x, [b, cf])
    randomize(m, rng)
    return m


@pytest.mark.parametrize("era", ERAS)
def test_stateful_conv_lstm_across_calls(era, tmp_path):
    """States carry over between predict calls of uneven lengths, in both directions of a
    stateful Bidirectional and in channels_first; a reset restarts from zeros."""
    K = keras_module(era)
    rng = np.random.default_rng(31)
    m = _stateful_conv_model(K, rng)
    calls = [rng.normal(0, 1, (2, t, 5, 4, 2)).astype(np.float32) for t in (3, 1, 4, 2)]
    for fmt, ours in convert_every_format(m, era, tmp_path):
        assert ours.stateful and ours.batch_size == 2
        reset_states(m)
        ours.reset_states()
        for k, x in enumerate(calls):
            if k == 2:
                reset_states(m)
                ours.reset_states()
            assert_parity(ours.predict(x), predict(m, [x]), f"{era}/{fmt} call {k}")
        with pytest.raises(InputError, match="batch size 2"):
            ours.predict(calls[0][:1])


@pytest.mark.parametrize("era", ERAS)
def test_stateful_stacked_cells_masked(era, tmp_path):
    """A stateful RNN of stacked cells (and a stateful Bidirectional of one) carries every
    cell's states across masked calls, as Keras does."""
    K = keras_module(era)
    L = K.layers
    rng = np.random.default_rng(32)
    m = K.Sequential(
        [
            K.Input(batch_shape=(3, None), dtype="int32"),
            L.Embedding(10, 3, mask_zero=True),
            L.RNN([L.LSTMCell(3), L.GRUCell(2), L.SimpleRNNCell(2)], stateful=True, return_sequences=True),
            L.Bidirectional(L.RNN([L.GRUCell(2), L.LSTMCell(2)], stateful=True, return_sequences=True)),
            L.RNN(L.LSTMCell(2), stateful=True, return_sequences=True),
        ]
    )
    randomize(m, rng)
    calls = [
        np.array([[3, 4, 0, 0], [0, 0, 5, 1], [2, 2, 2, 2]], np.int32),
        np.array([[0, 7], [6, 0], [0, 0]], np.int32),
        np.array([[1, 0, 3], [0, 0, 0], [4, 5, 6]], np.int32),
    ]
    for fmt, ours in convert_every_format(m, era, tmp_path):
        reset_states(m)
        ours.reset_states()
        for k, ids in enumerate(calls):
            assert_parity(ours.predict(ids), predict(m, [ids]), f"{era}/{fmt} call {k}")


@pytest.mark.parametrize("era", ERAS)
def test_streaming_conv_lstm_and_cells(era, tmp_path):
    """step() one frame at a time and in chunks gives Keras's whole-sequence outputs: a
    ConvLSTM (both data formats) feeding an RNN of stacked cells."""
    K = keras_module(era)
    L = K.layers
    rng = np.random.default_rng(33)
    x = K.Input((None, 5, 4, 2))
    c = L.ConvLSTM2D(2, (3, 2), padding="same", return_sequences=True)(x)
    xf = K.Input((None, 2, 5, 4))  # channels first
    cf, hf, _ = L.ConvLSTM2D(
        2, 2, strides=(2, 1), data_format="channels_first", return_sequences=True, return_state=True
    )(xf)
    flat = L.TimeDistributed(L.Flatten())(c)
    s = L.RNN([L.GRUCell(3), L.LSTMCell(2)], return_sequences=True)(flat)
    m = K.Model([x, xf], [c, cf, hf, s])
    randomize(m, rng)
    data = rng.normal(0, 1, (2, 6, 5, 4, 2)).astype(np.float32)
    data_f = rng.normal(0, 1, (2, 6, 2, 5, 4)).astype(np.float32)
    full = keras_call(m, [data, data_f])
    (_, ours), *_ = convert_every_format(m, era, tmp_path)
    plan = ours.stream_plan()
    assert plan.error is None, plan.error
    state = ours.initial_state(2)
    assert {tuple(a.shape) for v in state.values() for a in v} >= {(2, 5, 4, 2), (2, 2, 2, 3)}
    steps = []
    for t in range(6):
        y, state = ours.step([data[:, t], data_f[:, t]], state)
        steps.append(y)
    got = [np.stack([s[k] for s in steps], axis=1) for k in (0, 1)] + [steps[-1][2]]
    got.append(np.stack([s[3] for s in steps], axis=1))
    assert_parity(got, full, f"{era} one frame at a time")
    state = ours.initial_state(2)
    parts = []
    for a, b in ((0, 2), (2, 2), (2, 5), (5, 6)):  # an empty chunk included
        y, state = ours.step([data[:, a:b], data_f[:, a:b]], state)
        parts.append(y)
    got = [np.concatenate([p[k] for p in parts], axis=1) for k in (0, 1)] + [parts[-1][2]]
    got.append(np.concatenate([p[3] for p in parts], axis=1))
    assert_parity(got, full, f"{era} in chunks")


def test_streaming_refuses_backward_conv_lstm(tmp_path):
    import keras as K

    m = K.Sequential([K.Input((None, 4, 2)), K.layers.ConvLSTM1D(2, 2, go_backwards=True)])
    convert(m, tmp_path / "b")
    with pytest.raises(InputError, match="cannot be streamed: .*runs backwards"):
        load(tmp_path / "b").initial_state(1)


def test_all_in_one_in_memory_with_keras_vectors(zoo, zoo_in_memory):
    """The combined model converted from memory: Keras computes the bundle's test vectors
    (five inputs, ids inside the vocabulary) and the runtime reproduces all 34 outputs."""
    built = zoo.get("recurrent_family_all_in_one", "keras3")
    result = zoo_in_memory("recurrent_family_all_in_one", "keras3")  # shared with test_js_runtime
    validate(result.doc)
    assert result.doc["test_vectors"]["origin"] == "keras"
    assert len(result.doc["outputs"]) == len(built.expected) == 34
    ops = {n["op"] for n in result.doc["nodes"]}
    assert {"ConvLSTM", "LSTM", "GRU", "SimpleRNN"} <= ops
    model = load(result.out_dir, verify=True)  # runs the Keras-made vectors
    assert_parity(model.predict(built.inputs), built.expected, "all in one, in memory")


def _edit_layer(path, name, **changes):
    doc = json.loads(path.read_text())
    for lc in doc["config"]["layers"]:
        if lc["config"].get("name") == name:
            lc["config"].update(changes)
    path.write_text(json.dumps(doc))


def test_refused_options_are_listed_together(tmp_path):
    """Options no Keras layer can run are refused by name, all in one error."""
    import keras as K

    x = K.Input((3, 5, 2))
    a = K.layers.ConvLSTM1D(2, 2, name="a")(x)
    b = K.layers.ConvLSTM1D(2, 2, name="b")(x)
    d = K.layers.ConvLSTM1D(2, 2, name="d")(x)
    e = K.layers.ConvLSTM1D(2, 2, name="e")(x)
    c = K.layers.RNN(K.layers.LSTMCell(2), name="c")(K.layers.Reshape((3, 10))(x))
    m = K.Model(x, [a, b, c, d, e])
    (tmp_path / "a.json").write_text(m.to_json())
    m.save_weights(tmp_path / "w.weights.h5")
    _edit_layer(tmp_path / "a.json", "a", padding="causal")
    _edit_layer(tmp_path / "a.json", "b", data_format="channels_middle")
    _edit_layer(tmp_path / "a.json", "d", kernel_size=[1.5])  # int() would silently make it 1
    _edit_layer(tmp_path / "a.json", "e", filters=True)
    doc = json.loads((tmp_path / "a.json").read_text())
    for lc in doc["config"]["layers"]:
        if lc["config"].get("name") == "c":
            lc["config"]["cell"]["class_name"] = "PeepholeLSTMCell"
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(UnsupportedError) as info:
        convert(tmp_path / "a.json", tmp_path / "b", weights=tmp_path / "w.weights.h5")
    problems = {name: why for name, _, why in info.value.problems}
    assert "padding='causal'" in problems["a"]
    assert "channels_middle" in problems["b"]
    assert "PeepholeLSTMCell" in problems["c"]
    assert "kernel_size=[1.5]" in problems["d"] and "integer" in problems["d"]
    assert "filters=True" in problems["e"]


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda n: n["config"].update(strides=[1, 1]), "strides needs 1 values"),
        (lambda n: n["config"].update(strides=[0]), r"strides has an item that must be >= 1"),
        (lambda n: n["config"].update(padding="causal"), r"padding must be one of \[.valid., .same.\]"),
        (lambda n: n["config"].update(filters=3), "F = filters"),
        (lambda n: n["config"].update(data_format="nchw"), "data_format"),
        (lambda n: n["outputs"][1].update(shape=[None, None, 2]), "state outputs need a known shape"),
    ],
)
def test_malformed_conv_lstm_node_fails_at_load(tmp_path, change, match):
    import keras as K

    convert(K.Sequential([K.Input((None, 4, 2)), K.layers.ConvLSTM1D(2, 2, stateful=False)]), tmp_path / "b")
    path = tmp_path / "b" / "model.json"
    doc = json.loads(path.read_text())
    node = next(n for n in doc["nodes"] if n["op"] == "ConvLSTM")
    change(node)
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match=match):
        load(tmp_path / "b")


def test_tf_keras_conv_lstm_masks_repeat_outputs(tmp_path):
    """tf_keras's ConvRNN never zeroes masked outputs, not even inside a Bidirectional that
    sets zero_output_for_mask (an LSTM there would). No tf_keras file can carry a mask into
    a ConvLSTM without a TF op layer, so the converted bundle is given the mask as an input
    and compared with the tf_keras layers called eagerly with it."""
    import tf_keras as K

    rng = np.random.default_rng(34)
    x_in = K.Input((5, 4, 2))
    single = K.layers.ConvLSTM1D(2, 2, padding="same", return_sequences=True, zero_output_for_mask=True)
    bi = K.layers.Bidirectional(K.layers.ConvLSTM1D(2, 2, return_sequences=True, return_state=True))
    m = K.Model(x_in, [single(x_in), *bi(x_in)])
    randomize(m, rng)
    x = rng.normal(0, 1, (3, 5, 4, 2)).astype(np.float32)
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)
    expected = [single(x, mask=mask), *bi(x, mask=mask)]
    m.save(tmp_path / "m.h5")
    convert(tmp_path / "m.h5", tmp_path / "b")
    path = tmp_path / "b" / "model.json"
    doc = json.loads(path.read_text())
    doc["inputs"].append({"name": "mask", "shape": [None, 5], "dtype": "bool"})
    for node in doc["nodes"]:
        if node["op"] == "ConvLSTM":
            assert node["config"]["zero_output_for_mask"] is False
            node["mask"] = ["mask", 0]
    path.write_text(json.dumps(doc))
    ours = load(tmp_path / "b").predict([x, mask])
    assert_parity(ours, [np.asarray(e) for e in expected], "tf_keras masked ConvLSTM")


def test_keras224_conv_lstm2d_file(tmp_path):
    """A ConvLSTM2D file in standalone Keras 2.2.4's layout (written with h5py from its
    get_config keys, keras/layers/convolutional_recurrent.py at tag 2.2.4: the ConvRNN2D
    base keys, then the cell's, hard_sigmoid meaning 0.2x + 0.5) against tf_keras, which
    computes the same layer."""
    import keras2_files
    import tf_keras as K

    keys = [
        *["return_sequences", "return_state", "go_backwards", "stateful", "unroll"],
        *["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate"],
        *["activation", "recurrent_activation", "use_bias"],
        *["kernel_initializer", "recurrent_initializer", "bias_initializer", "unit_forget_bias"],
        *["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer"],
        *["kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout"],
    ]
    rng = np.random.default_rng(35)
    m = K.Sequential(
        [
            K.Input((3, 5, 4, 2)),
            K.layers.ConvLSTM2D(
                3, (3, 2), padding="same", strides=(2, 1), return_sequences=True, name="conv_lst_m2d_1"
            ),
            K.layers.ConvLSTM2D(2, 2, go_backwards=True, name="conv_lst_m2d_2"),
        ]
    )
    randomize(m, rng)
    x = rng.normal(0, 1, (2, 3, 5, 4, 2)).astype(np.float32)
    saved = keras2_files._KEYS.get("ConvLSTM2D")
    keras2_files._KEYS["ConvLSTM2D"] = keys
    try:
        path = keras2_files.write_h5(tmp_path / "m.h5", m, "2.2.4")
    finally:
        if saved is None:
            del keras2_files._KEYS["ConvLSTM2D"]
        else:
            keras2_files._KEYS["ConvLSTM2D"] = saved
    convert(path, tmp_path / "b")
    assert_parity(load(tmp_path / "b").predict(x), predict(m, [x])[0], "Keras 2.2.4 ConvLSTM2D")


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_conv_lstm_weights_in_reduced_precision(tmp_path, dtype):
    """ConvLSTM kernels are stored in reduced precision with per-filter-gate scales; the
    cost is measured against Keras and the bundle checks itself within it."""
    import keras as K

    rng = np.random.default_rng(36)
    x = K.Input((4, 6, 5, 2))
    m = K.Model(x, K.layers.Bidirectional(K.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True))(x))
    randomize(m, rng)
    result = convert(m, tmp_path / "b", dtype=dtype)
    arrays = result.doc["weights"]["arrays"]
    stored = {k: v["dtype"] for k, v in arrays.items() if k.endswith("kernel") and not k.startswith("__")}
    assert set(stored.values()) == {dtype} and len(stored) == 4
    (err,) = result.doc["test_vectors"]["quantization_error"]
    assert 0 < err < (1e-3 if dtype == "float16" else 2e-2)
    load(tmp_path / "b", verify=True)  # within tolerance + 1.1 * the recorded error

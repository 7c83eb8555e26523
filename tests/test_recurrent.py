"""State across calls, streaming, and the seq2seq inference split, against live Keras."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_parity
from helpers import reset_states
from keras_zoo import ERAS, PADDED_IDS, keras_call, keras_module, predict, randomize

from rnnconvert.converter import convert
from rnnconvert.errors import InputError
from rnnconvert.runtime import load

pytestmark = pytest.mark.keras


def _stateful_model(K, rng):
    x = K.Input(batch_shape=(3, None, 4))
    h = K.layers.LSTM(5, stateful=True, return_sequences=True)(x)
    g = K.layers.GRU(4, stateful=True)(h)
    m = K.Model(x, [K.layers.Dense(2)(g), h])
    randomize(m, rng)
    return m


@pytest.mark.parametrize("era", ERAS)
def test_stateful_calls_and_reset(era, tmp_path):
    K = keras_module(era)
    rng = np.random.default_rng(7)
    m = _stateful_model(K, rng)
    fmt = "model.keras" if era == "keras3" else "model.h5"
    m.save(tmp_path / fmt)
    convert(tmp_path / fmt, tmp_path / "b")
    ours = load(tmp_path / "b")
    assert ours.stateful and ours.batch_size == 3
    chunks = [rng.normal(0, 1, (3, t, 4)).astype(np.float32) for t in (5, 1, 3, 4)]
    reset_states(m)
    for k, x in enumerate(chunks):
        if k == 2:  # a reset in the middle of the sequence of calls
            reset_states(m)
            ours.reset_states()
        assert_parity(ours.predict(x), predict(m, [x]), f"stateful call {k}")
    with pytest.raises(InputError, match="batch size 3"):
        ours.predict(np.zeros((2, 5, 4), np.float32))


def _causal_model(K, rng):
    ids = K.Input((None,), dtype="int32")
    e = K.layers.Embedding(10, 4, mask_zero=True)(ids)
    h = K.layers.LSTM(5, return_sequences=True)(e)
    g = K.layers.GRU(3, return_sequences=True)(h)
    s = K.layers.SimpleRNN(3)(h)
    m = K.Model(ids, [K.layers.Dense(2, activation="softmax")(g), s])
    randomize(m, rng)
    return m


@pytest.mark.parametrize("era", ERAS)
def test_streaming_equals_full_sequence(era, tmp_path):
    K = keras_module(era)
    rng = np.random.default_rng(11)
    m = _causal_model(K, rng)
    m.save(tmp_path / ("m.keras" if era == "keras3" else "m.h5"))
    convert(next(tmp_path.glob("m.*")), tmp_path / "b")
    ours = load(tmp_path / "b")
    full = keras_call(m, [PADDED_IDS])  # masked pre-, post-, interior padding included
    # One timestep at a time.
    state = ours.initial_state(PADDED_IDS.shape[0])
    steps = []
    for t in range(PADDED_IDS.shape[1]):
        (y_t, s_t), state = ours.step(PADDED_IDS[:, t], state)
        steps.append(y_t)
    assert_parity(np.stack(steps, axis=1), full[0], "streamed one step at a time")
    assert_parity(s_t, full[1], "streamed final summary")
    # Chunks of uneven length.
    state = ours.initial_state(PADDED_IDS.shape[0])
    parts = []
    for a, b in ((0, 2), (2, 3), (3, 6)):
        (y, s), state = ours.step(PADDED_IDS[:, a:b], state)
        parts.append(y)
    assert_parity(np.concatenate(parts, axis=1), full[0], "streamed in chunks")
    assert_parity(s, full[1], "chunked final summary")


def test_streaming_refuses_non_causal_models(zoo, tmp_path):
    built = zoo.get("bidirectional_return_state_stacked", "keras3")
    convert(built.files["keras"][0], tmp_path / "b")
    model = load(tmp_path / "b")
    with pytest.raises(InputError, match="cannot be streamed"):
        model.initial_state(1)


@pytest.mark.parametrize("era", ERAS)
def test_seq2seq_inference_models_step_by_step(era, tmp_path):
    """Keras's lstm_seq2seq inference split: encoder -> states; decoder called one step
    at a time with the states passed in as inputs, each model converted on its own."""
    K = keras_module(era)
    rng = np.random.default_rng(3)
    n_in, n_out, units = 5, 4, 6
    enc_in = K.Input((None, n_in))
    _, h, c = K.layers.LSTM(units, return_state=True)(enc_in)
    dec_in = K.Input((None, n_out))
    dec_lstm = K.layers.LSTM(units, return_sequences=True, return_state=True)
    dec_seq, _, _ = dec_lstm(dec_in, initial_state=[h, c])
    dense = K.layers.Dense(n_out, activation="softmax")
    train = K.Model([enc_in, dec_in], dense(dec_seq))
    randomize(train, rng)
    encoder = K.Model(enc_in, [h, c])
    h_in, c_in = K.Input((units,)), K.Input((units,))
    seq2, h2, c2 = dec_lstm(dec_in, initial_state=[h_in, c_in])
    decoder = K.Model([dec_in, h_in, c_in], [dense(seq2), h2, c2])
    ext = ".keras" if era == "keras3" else ".h5"
    for name, mdl in (("encoder", encoder), ("decoder", decoder)):
        mdl.save(tmp_path / f"{name}{ext}")
        convert(tmp_path / f"{name}{ext}", tmp_path / name)
    our_enc, our_dec = load(tmp_path / "encoder"), load(tmp_path / "decoder")
    src = rng.normal(0, 1, (2, 7, n_in)).astype(np.float32)
    k_states = keras_call(encoder, [src])
    o_states = our_enc.predict(src)
    assert_parity(o_states, k_states, "encoder states")
    token = np.zeros((2, 1, n_out), np.float32)
    token[:, 0, 0] = 1.0
    k_tok, o_tok = token, token
    for step in range(6):  # greedy decoding, each side feeding its own outputs back
        k_out, kh, kc = keras_call(decoder, [k_tok, *k_states])
        o_out, oh, oc = our_dec.predict([o_tok, *o_states])
        assert_parity([o_out, oh, oc], [k_out, kh, kc], f"decoder step {step}")
        k_states, o_states = [kh, kc], [oh, oc]
        k_tok = np.eye(n_out, dtype=np.float32)[k_out[:, -1].argmax(-1)][:, None]
        o_tok = np.eye(n_out, dtype=np.float32)[o_out[:, -1].argmax(-1)][:, None]
        np.testing.assert_array_equal(o_tok, k_tok)


@pytest.mark.parametrize("era", ERAS)
def test_stateful_test_vectors_are_a_sequence_of_calls_from_keras(era, tmp_path):
    K = keras_module(era)
    m = _stateful_model(K, np.random.default_rng(9))
    convert(m, tmp_path / "b")  # in-memory: Keras computes the vectors
    model = load(tmp_path / "b", verify=True)
    tv = model.doc["test_vectors"]
    assert tv["origin"] == "keras" and tv["stateful_sequence"] and len(tv["calls"]) == 3
    from rnnconvert.runtime.verify import run_vectors

    report = run_vectors(model)
    assert report.ok, report.lines()


@pytest.mark.parametrize("era", ERAS)
def test_fixed_batch_of_a_stateless_model_binds_nothing(era, tmp_path):
    """Input(batch_shape=(25, ...)) without a stateful layer: Keras's predict takes any batch,
    so the bundle leaves the batch free; a stateful model keeps it (test above)."""
    K = keras_module(era)
    rng = np.random.default_rng(8)
    x = K.Input(batch_shape=(25, 6, 4))
    ids = K.Input(batch_shape=(25, 6), dtype="int32")
    h = K.layers.LSTM(5, return_sequences=True)(x)
    e = K.layers.GRU(5, return_sequences=True)(K.layers.Embedding(9, 3, mask_zero=True)(ids))
    m = K.Model([x, ids], K.layers.TimeDistributed(K.layers.Dense(2))(K.layers.Concatenate()([h, e])))
    randomize(m, rng)
    fmt = "model.keras" if era == "keras3" else "model.h5"
    m.save(tmp_path / fmt)
    doc = convert(tmp_path / fmt, tmp_path / "b").doc
    assert [i["shape"][0] for i in doc["inputs"]] == [None, None]
    ours = load(tmp_path / "b")
    for batch in (1, 7, 40):
        inputs = [rng.normal(0, 1, (batch, 6, 4)).astype(np.float32), rng.integers(0, 9, (batch, 6)).astype(np.int32)]
        assert_parity(ours.predict(inputs), m.predict(inputs, verbose=0), f"{era} batch {batch}")

"""Stateful models across calls, and streaming with explicit state, against live Keras 3
and tf_keras: Bidirectional and masked stateful models, conditioning inputs that give an
RNN its initial state, TimeDistributed RNNs, the seq2seq decoder fed one token at a time,
and the models that cannot stream."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_parity
from helpers import convert_every_format, reset_states
from keras_zoo import ERAS, PADDED_IDS, keras_call, keras_module, predict, randomize

from rnnconvert.converter import convert
from rnnconvert.errors import InputError
from rnnconvert.runtime import load

pytestmark = pytest.mark.keras


# Calls of a stateful model: uneven lengths, padding at a call's start, end and inside.
STATEFUL_CALLS = [
    np.array([[3, 4, 0, 0], [0, 0, 5, 1], [2, 2, 2, 2]], np.int32),
    np.array([[0, 7], [6, 0], [0, 0]], np.int32),
    np.array([[1, 0, 3], [0, 0, 0], [4, 5, 6]], np.int32),
    np.array([[8, 9, 1, 0, 2], [3, 0, 0, 4, 4], [0, 1, 0, 1, 0]], np.int32),
    np.array([[0], [5], [7]], np.int32),
]


@pytest.mark.parametrize("era", ERAS)
def test_stateful_bidirectional_masked_sequential(era, tmp_path):
    """Several predict calls, a reset, more calls: states carry over masked steps and
    across calls in both directions of a stateful Bidirectional; a masked first step
    of a call repeats zeros, not the previous call's output, as in Keras."""
    K = keras_module(era)
    rng = np.random.default_rng(21)
    m = K.Sequential(
        [
            K.Input(batch_shape=(3, None), dtype="int32"),
            K.layers.Embedding(10, 4, mask_zero=True),
            K.layers.Bidirectional(K.layers.LSTM(3, stateful=True, return_sequences=True)),
            K.layers.SimpleRNN(3, stateful=True, return_sequences=True),
            K.layers.GRU(2, stateful=True, return_sequences=True),
        ]
    )
    randomize(m, rng)
    for fmt, ours in convert_every_format(m, era, tmp_path, json_for_keras3=False):
        assert ours.stateful and ours.batch_size == 3
        reset_states(m)
        ours.reset_states()
        for k, ids in enumerate(STATEFUL_CALLS):
            if k == 3:
                reset_states(m)
                ours.reset_states()
            assert_parity(ours.predict(ids), predict(m, [ids]), f"{era}/{fmt} call {k}")
        with pytest.raises(InputError, match="batch size 3"):
            ours.predict(STATEFUL_CALLS[0][:2])


@pytest.mark.parametrize("era", ERAS)
def test_stateful_model_streams_with_explicit_state(era, tmp_path):
    """step() on a stateful model carries its own explicit state -- equal to Keras on the
    whole sequence -- and leaves the state predict() carries alone."""
    K = keras_module(era)
    rng = np.random.default_rng(5)
    ids_in = K.Input(batch_shape=(3, None), dtype="int32")
    e = K.layers.Embedding(10, 4, mask_zero=True)(ids_in)
    h = K.layers.LSTM(4, stateful=True, return_sequences=True)(e)
    g = K.layers.GRU(3, stateful=True, return_sequences=True)(h)
    m = K.Model(ids_in, K.layers.Dense(2)(g))
    randomize(m, rng)
    (_, ours), *_ = convert_every_format(m, era, tmp_path, json_for_keras3=False)
    whole = np.concatenate(STATEFUL_CALLS, axis=1)
    reset_states(m)
    expected = predict(m, [whole])[0]
    reset_states(m)
    first_call = predict(m, [STATEFUL_CALLS[0]])[0]
    assert_parity(ours.predict(STATEFUL_CALLS[0]), first_call, "predict before streaming")
    state = ours.initial_state(3)
    parts = []
    for ids in STATEFUL_CALLS:
        y, state = ours.step(ids, state)
        parts.append(y)
    assert_parity(np.concatenate(parts, axis=1), expected, "streamed stateful model")
    # predict() continues from its own state, which step() did not touch.
    second_call = predict(m, [STATEFUL_CALLS[1]])[0]
    assert_parity(ours.predict(STATEFUL_CALLS[1]), second_call, "predict after streaming")


def _captioner(K, rng):
    """A conditioning vector gives the decoder RNN its initial state (image captioning)."""
    img = K.Input((5,), name="image")
    tok = K.Input((None,), dtype="int32", name="tokens")
    h0 = K.layers.Dense(4, activation="tanh")(img)
    c0 = K.layers.Dense(4)(img)
    e = K.layers.Embedding(10, 3, mask_zero=True)(tok)
    y = K.layers.LSTM(4, return_sequences=True)(e, initial_state=[h0, c0])
    g = K.layers.GRU(3, return_sequences=True)(y)
    summary = K.layers.SimpleRNN(2)(y)
    probs = K.layers.Dense(6, activation="softmax")(g)
    both = K.layers.Concatenate()([summary, img])
    m = K.Model([img, tok], [probs, summary, both, h0])
    randomize(m, rng)
    return m


@pytest.mark.parametrize("era", ERAS)
def test_streaming_with_conditioning_input(era, tmp_path):
    K = keras_module(era)
    rng = np.random.default_rng(8)
    m = _captioner(K, rng)
    img = rng.normal(0, 1, (5, 5)).astype(np.float32)
    full = keras_call(m, [img, PADDED_IDS])
    for fmt, ours in convert_every_format(m, era, tmp_path, json_for_keras3=False):
        plan = ours.stream_plan()
        assert plan.error is None and plan.timed_inputs == ["tokens"], plan
        state = ours.initial_state(5)
        assert [] in state.values(), "the LSTM takes its first state from the image"
        steps = []
        for t in range(PADDED_IDS.shape[1]):
            (p, summary, both, h0), state = ours.step([img, PADDED_IDS[:, t]], state)
            steps.append(p)
        assert_parity([np.stack(steps, axis=1), summary, both, h0], full, f"{era}/{fmt} one token at a time")
        state = ours.initial_state(5)
        parts = []
        for a, b in ((0, 1), (1, 1), (1, 4), (4, 6)):  # an empty chunk included
            (p, summary, both, h0), state = ours.step([img, PADDED_IDS[:, a:b]], state)
            parts.append(p)
        assert_parity([np.concatenate(parts, axis=1), summary, both, h0], full, f"{era}/{fmt} in chunks")


@pytest.mark.parametrize("era", ERAS)
def test_streaming_time_distributed_rnn(era, tmp_path):
    """TimeDistributed(GRU) runs within each outer step: it streams with the outer LSTM."""
    K = keras_module(era)
    rng = np.random.default_rng(2)
    x = K.Input((None, 5, 2))
    inner = K.layers.TimeDistributed(K.layers.GRU(3))(x)
    outer = K.layers.LSTM(4, return_sequences=True)(inner)
    m = K.Model(x, [K.layers.TimeDistributed(K.layers.Dense(2))(outer), K.layers.SimpleRNN(2)(outer)])
    randomize(m, rng)
    data = rng.normal(0, 1, (2, 6, 5, 2)).astype(np.float32)
    full = keras_call(m, [data])
    (_, ours), *_ = convert_every_format(m, era, tmp_path, json_for_keras3=False)
    state = ours.initial_state(2)
    steps = []
    for t in range(6):
        (y, s), state = ours.step(data[:, t], state)
        steps.append(y)
    assert_parity([np.stack(steps, axis=1), s], full, "TimeDistributed GRU streamed")


@pytest.mark.parametrize("era", ERAS)
def test_seq2seq_decoder_streams_from_encoder_states(era, tmp_path):
    """The lstm_seq2seq inference decoder streamed with step(): the encoder's states enter
    as inputs on the first step only; greedy decoding matches Keras's decoder called one
    step at a time with its states fed back."""
    K = keras_module(era)
    rng = np.random.default_rng(13)
    n_in, n_out, units = 5, 4, 6
    enc_in = K.Input((None, n_in))
    _, h, c = K.layers.LSTM(units, return_state=True)(enc_in)
    dec_in = K.Input((None, n_out))
    dec_lstm = K.layers.LSTM(units, return_sequences=True, return_state=True)
    dense = K.layers.Dense(n_out, activation="softmax")
    train = K.Model([enc_in, dec_in], dense(dec_lstm(dec_in, initial_state=[h, c])[0]))
    randomize(train, rng)
    encoder = K.Model(enc_in, [h, c])
    h_in, c_in = K.Input((units,)), K.Input((units,))
    seq2, h2, c2 = dec_lstm(dec_in, initial_state=[h_in, c_in])
    decoder = K.Model([dec_in, h_in, c_in], [dense(seq2), h2, c2])
    (_, our_enc), *_ = convert_every_format(encoder, era, tmp_path / "enc", json_for_keras3=False)
    (_, our_dec), *_ = convert_every_format(decoder, era, tmp_path / "dec", json_for_keras3=False)
    src = rng.normal(0, 1, (3, 7, n_in)).astype(np.float32)
    k_states = keras_call(encoder, [src])
    o_states = our_enc.predict(src)
    assert_parity(o_states, k_states, "encoder states")
    state = our_dec.initial_state(3)
    k_tok = o_tok = np.eye(n_out, dtype=np.float32)[[0, 0, 0]]  # (B, n_out): one timestep
    for step in range(6):
        k_out, kh, kc = keras_call(decoder, [k_tok[:, None], *k_states])
        (o_out, oh, oc), state = our_dec.step([o_tok, *o_states], state)
        assert_parity([o_out, oh, oc], [k_out[:, 0], kh, kc], f"decoder step {step}")
        k_states = [kh, kc]
        k_tok = np.eye(n_out, dtype=np.float32)[k_out[:, 0].argmax(-1)]
        o_tok = np.eye(n_out, dtype=np.float32)[o_out.argmax(-1)]
        np.testing.assert_array_equal(o_tok, k_tok)


def _k3_model(build):
    import keras as K

    return build(K)


REFUSED = {
    "bidirectional": (
        lambda K: K.Sequential([K.Input((None, 3)), K.layers.Bidirectional(K.layers.LSTM(2))]),
        "runs backwards",
    ),
    "go_backwards": (
        lambda K: K.Sequential([K.Input((None, 3)), K.layers.GRU(2, go_backwards=True)]),
        "runs backwards",
    ),
    "pooling_over_time": (
        lambda K: K.Sequential(
            [K.Input((None, 3)), K.layers.LSTM(2, return_sequences=True), K.layers.GlobalAveragePooling1D()]
        ),
        "more than one timestep",
    ),
    "encoder_states_into_decoder": (
        lambda K: _seq2seq_training(K),
        "states computed from a streamed sequence",
    ),
    "no_time_axis": (lambda K: K.Sequential([K.Input((4,)), K.layers.Dense(2)]), "no input has a time axis"),
}


def _seq2seq_training(K):
    enc, dec = K.Input((None, 3)), K.Input((None, 2))
    _, h, c = K.layers.LSTM(4, return_state=True)(enc)
    return K.Model([enc, dec], K.layers.LSTM(4, return_sequences=True)(dec, initial_state=[h, c]))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_streaming_refuses_non_causal_models(name, tmp_path):
    build, why = REFUSED[name]
    convert(_k3_model(build), tmp_path / "b")
    model = load(tmp_path / "b")
    with pytest.raises(InputError, match=f"cannot be streamed: .*{why}"):
        model.initial_state(1)
    with pytest.raises(InputError, match="cannot be streamed"):
        model.step(np.zeros((1, 3), np.float32), {})
    assert model.stream_plan().error


def test_step_checks_its_state_and_inputs(tmp_path):
    import keras as K

    a, b = K.Input((None, 3)), K.Input((None, 2))
    y = K.layers.Concatenate()([K.layers.GRU(2, return_sequences=True)(a), b])
    convert(K.Model([a, b], y), tmp_path / "b")
    model = load(tmp_path / "b")
    state = model.initial_state(2)
    (name,) = state
    y, _ = model.step([np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32)], state)
    assert y.shape == (2, 4)
    with pytest.raises(InputError, match="one timestep, or every one a chunk"):
        model.step([np.zeros((2, 3), np.float32), np.zeros((2, 1, 2), np.float32)], state)
    with pytest.raises(InputError, match="lacks recurrent node"):
        model.step([np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32)], {})
    with pytest.raises(InputError, match=r"must be 2 arrays of shape \(4, 2\)"):
        model.step([np.zeros((4, 3), np.float32), np.zeros((4, 2), np.float32)], state)
    with pytest.raises(InputError, match="positive integer"):
        model.initial_state(0)

"""The first Keras cases: LSTM/GRU/SimpleRNN stacks, embeddings, functional multi-I/O,
return_state, and every built-in activation of each era in every slot. Registered into
keras_zoo.CASES; test_parity.py runs each in every era and format. Inputs are float32 unless ids."""

from __future__ import annotations

import numpy as np
from helpers import seq as _seq
from keras_zoo import case, randomize


@case("stacked_lstm_hard_sigmoid_softmax")
def _(K, era, rng):
    # The MNIST-rows classic: two stacked LSTMs with hard_sigmoid gates, softmax head, input 32x28.
    m = K.Sequential(
        [
            K.Input((32, 28)),
            K.layers.LSTM(32, return_sequences=True, recurrent_activation="hard_sigmoid"),
            K.layers.LSTM(32, recurrent_activation="hard_sigmoid"),
            K.layers.Dense(10, activation="softmax"),
        ]
    )
    randomize(m, rng)
    return m, [_seq(rng, 5, 32, 28)]


@case("lstm8_relu_activation")
def _(K, era, rng):
    m = K.Sequential([K.Input((12, 3)), K.layers.LSTM(8, activation="relu"), K.layers.Dense(2)])
    randomize(m, rng)
    return m, [_seq(rng, 4, 12, 3)]


@case("lstm8_relu_recurrent_activation")
def _(K, era, rng):
    m = K.Sequential([K.Input((12, 3)), K.layers.LSTM(8, recurrent_activation="relu"), K.layers.Dense(2)])
    randomize(m, rng, 0.2)
    return m, [_seq(rng, 4, 12, 3)]


@case("lstm100_sine_regression")
def _(K, era, rng):
    # LSTM(100) -> Dense(1) -> Activation("linear") on sine windows of length 5.
    m = K.Sequential([K.Input((5, 1)), K.layers.LSTM(100), K.layers.Dense(1), K.layers.Activation("linear")])
    randomize(m, rng, 0.15)
    t0 = rng.uniform(0, 2 * np.pi, (16, 1))
    x = np.sin(t0 + 0.1 * np.arange(5)[None, :])[..., None].astype(np.float32)
    return m, [x]


@case("lstm128_sigmoid_onehot_chars")
def _(K, era, rng):
    vocab = 30
    m = K.Sequential(
        [
            K.Input((None, vocab)),
            K.layers.LSTM(128, activation="sigmoid", recurrent_activation="sigmoid"),
            K.layers.Dense(vocab, activation="softmax"),
        ]
    )
    randomize(m, rng, 0.15)
    ids = rng.integers(0, vocab, (3, 20))
    return m, [np.eye(vocab, dtype=np.float32)[ids]]


@case("gru3_hard_sigmoid_softmax")
def _(K, era, rng):
    m = K.Sequential(
        [
            K.Input((15, 6)),
            K.layers.GRU(16, return_sequences=True, recurrent_activation="hard_sigmoid"),
            K.layers.GRU(16, return_sequences=True, recurrent_activation="hard_sigmoid"),
            K.layers.GRU(16, recurrent_activation="hard_sigmoid"),
            K.layers.Dense(5, activation="softmax"),
        ]
    )
    randomize(m, rng)
    return m, [_seq(rng, 4, 15, 6)]


for _ra in (True, False):
    for _bias in (True, False):

        @case(f"gru_reset_after_{_ra}_bias_{_bias}")
        def _(K, era, rng, _ra=_ra, _bias=_bias):
            m = K.Sequential(
                [
                    K.Input((9, 4)),
                    K.layers.GRU(7, reset_after=_ra, use_bias=_bias, return_sequences=True),
                    K.layers.Dense(3),
                ]
            )
            randomize(m, rng)
            return m, [_seq(rng, 3, 9, 4)]


@case("simple_rnn_stack")
def _(K, era, rng):
    m = K.Sequential(
        [
            K.Input((10, 4)),
            K.layers.SimpleRNN(6, return_sequences=True),
            K.layers.SimpleRNN(5, activation="relu", use_bias=False),
            K.layers.Dense(2, activation="sigmoid"),
        ]
    )
    randomize(m, rng)
    return m, [_seq(rng, 3, 10, 4)]


@case("lstm_no_bias_free_time")
def _(K, era, rng):
    m = K.Sequential([K.Input((None, 3)), K.layers.LSTM(5, use_bias=False, return_sequences=True)])
    randomize(m, rng)
    return m, [_seq(rng, 2, 7, 3)]


@case("time_length_1")
def _(K, era, rng):
    m = K.Sequential([K.Input((None, 4)), K.layers.LSTM(6), K.layers.Dense(3)])
    randomize(m, rng)
    return m, [_seq(rng, 3, 1, 4)]


@case("time_length_400")
def _(K, era, rng):
    m = K.Sequential([K.Input((None, 4)), K.layers.GRU(12, return_sequences=True), K.layers.LSTM(8), K.layers.Dense(3)])
    randomize(m, rng, 0.3)
    return m, [_seq(rng, 2, 400, 4)]


@case("embedding_lstm")
def _(K, era, rng):
    m = K.Sequential(
        [
            K.Input((None,), dtype="int32"),
            K.layers.Embedding(50, 8),
            K.layers.LSTM(10),
            K.layers.Dense(4, activation="softmax"),
        ]
    )
    randomize(m, rng)
    return m, [rng.integers(0, 50, (4, 11)).astype(np.int32)]


@case("embedding_float_ids_dropout")
def _(K, era, rng):
    # Sequential with float ids (Keras casts them) and inference no-ops in the middle.
    m = K.Sequential(
        [
            K.Input((8,)),
            K.layers.Embedding(20, 5),
            K.layers.Dropout(0.5),
            K.layers.GRU(6, dropout=0.3, recurrent_dropout=0.2),
            K.layers.GaussianNoise(0.3),
            K.layers.Dense(2),
        ]
    )
    randomize(m, rng)
    return m, [rng.integers(0, 20, (3, 8)).astype(np.float32)]


@case("dense_rank3_and_activation_layers")
def _(K, era, rng):
    m = K.Sequential(
        [
            K.Input((6, 5)),
            K.layers.LSTM(7, return_sequences=True),
            K.layers.Dense(4, activation="tanh"),
            K.layers.Activation("softmax"),
        ]
    )
    randomize(m, rng)
    return m, [_seq(rng, 3, 6, 5)]


@case("functional_multi_io")
def _(K, era, rng):
    # Two inputs, three outputs, a branch; layers listed out of call order on purpose.
    a = K.Input((None, 3), name="seq_a")
    b = K.Input((5,), name="vec_b")
    h = K.layers.LSTM(6, return_sequences=True, name="enc")(a)
    g = K.layers.GRU(4, name="gru_head")(h)
    s = K.layers.SimpleRNN(3, name="rnn_head")(h)
    v = K.layers.Dense(4, activation="relu", name="vec")(b)
    out1 = K.layers.Dense(2, activation="softmax", name="cls")(g)
    out2 = K.layers.Dense(1, name="reg")(v)
    m = K.Model([a, b], [out1, out2, s])
    randomize(m, rng)
    return m, [_seq(rng, 3, 8, 3), rng.normal(0, 1, (3, 5)).astype(np.float32)]


@case("return_state_outputs")
def _(K, era, rng):
    x = K.Input((7, 3))
    y, h, c = K.layers.LSTM(5, return_state=True, return_sequences=True)(x)
    y2, h2 = K.layers.GRU(4, return_state=True)(y)
    m = K.Model(x, [y, h, c, y2, h2])
    randomize(m, rng)
    return m, [_seq(rng, 2, 7, 3)]


# Every built-in activation of the era, in a Dense head and in both RNN slots.
K3_ACTIVATIONS = [
    "celu",
    "elu",
    "exponential",
    "gelu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
]
TFK_ACTIVATIONS = [
    "elu",
    "exponential",
    "gelu",
    "hard_sigmoid",
    "linear",
    "mish",
    "relu",
    "selu",
    "sigmoid",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def activations_for(era: str) -> list[str]:
    return K3_ACTIVATIONS if era == "keras3" else TFK_ACTIVATIONS


def _branches(K, era, rng, make):
    x = K.Input((4, 3), name="x")
    outs = [make(act)(x) for act in activations_for(era)]
    m = K.Model(x, outs)
    # Moderate weights: unbounded gates (linear, elu, exponential...) must not make the
    # recurrence explode, or float32 rounding alone would decide the comparison.
    randomize(m, rng, 0.2)
    return m, [_seq(rng, 3, 4, 3)]


@case("every_activation_dense")
def _(K, era, rng):
    return _branches(K, era, rng, lambda a: K.layers.Dense(4, activation=a, name=f"dense_{a}"))


@case("every_activation_glu_dense")
def _(K, era, rng):
    if era != "keras3":
        import pytest

        pytest.skip("glu is Keras 3 only")
    x = K.Input((6, 3))
    m = K.Model(x, K.layers.Dense(8, activation="glu")(x))
    randomize(m, rng)
    return m, [_seq(rng, 2, 6, 3)]


@case("every_activation_lstm_activation")
def _(K, era, rng):
    return _branches(K, era, rng, lambda a: K.layers.LSTM(4, activation=a, name=f"lstm_act_{a}"))


@case("every_activation_lstm_recurrent_activation")
def _(K, era, rng):
    return _branches(K, era, rng, lambda a: K.layers.LSTM(4, recurrent_activation=a, name=f"lstm_ract_{a}"))


@case("every_activation_gru_both")
def _(K, era, rng):
    return _branches(
        K,
        era,
        rng,
        lambda a: K.layers.GRU(4, activation=a, recurrent_activation=a, return_sequences=True, name=f"gru_{a}"),
    )


@case("every_activation_simple_rnn")
def _(K, era, rng):
    return _branches(K, era, rng, lambda a: K.layers.SimpleRNN(4, activation=a, name=f"srnn_{a}"))


@case("every_activation_layer")
def _(K, era, rng):
    return _branches(K, era, rng, lambda a: K.layers.Activation(a, name=f"act_{a}"))

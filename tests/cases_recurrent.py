"""Keras cases for Bidirectional, go_backwards, return_state/initial_state, TimeDistributed
and masks. Registered into keras_zoo.CASES; test_parity.py runs each in every era and format."""

from __future__ import annotations

import numpy as np
from helpers import seq as _seq
from keras_zoo import PADDED_IDS, case, randomize

MERGE_MODES = ["concat", "sum", "mul", "ave", None]
RNNS = ["LSTM", "GRU", "SimpleRNN"]


for _rnn in RNNS:

    @case(f"bidirectional_{_rnn.lower()}_every_merge_mode")
    def _(K, era, rng, _rnn=_rnn):
        x = K.Input((7, 3))
        outs = []
        for mode in MERGE_MODES:
            for seqs in (True, False):
                layer = getattr(K.layers, _rnn)(4, return_sequences=seqs)
                y = K.layers.Bidirectional(layer, merge_mode=mode)(x)
                outs.extend(y if isinstance(y, (list, tuple)) else [y])
        m = K.Model(x, outs)
        randomize(m, rng)
        return m, [_seq(rng, 3, 7, 3)]


@case("bidirectional_return_state_stacked")
def _(K, era, rng):
    x = K.Input((6, 3))
    y, fh, fc, bh, bc = K.layers.Bidirectional(K.layers.LSTM(4, return_sequences=True, return_state=True))(x)
    y2 = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True), merge_mode="sum")(y)
    y3, gf, gb = K.layers.Bidirectional(K.layers.GRU(2, return_state=True, reset_after=False), merge_mode="ave")(y2)
    m = K.Model(x, [y, fh, fc, bh, bc, y3, gf, gb, K.layers.Dense(2)(y3)])
    randomize(m, rng)
    return m, [_seq(rng, 2, 6, 3)]


@case("go_backwards_standalone")
def _(K, era, rng):
    x = K.Input((8, 3))
    a = K.layers.LSTM(4, go_backwards=True, return_sequences=True)(x)
    b = K.layers.GRU(3, go_backwards=True)(x)
    c = K.layers.SimpleRNN(3, go_backwards=True, return_sequences=True)(a)
    m = K.Model(x, [a, b, c])
    randomize(m, rng)
    return m, [_seq(rng, 2, 8, 3)]


@case("time_distributed_dense")
def _(K, era, rng):
    m = K.Sequential(
        [
            K.Input((None, 4)),
            K.layers.GRU(5, return_sequences=True),
            K.layers.TimeDistributed(K.layers.Dense(3, activation="relu")),
            K.layers.TimeDistributed(K.layers.Dense(2)),
        ]
    )
    randomize(m, rng)
    return m, [_seq(rng, 3, 9, 4)]


@case("seq2seq_training_model")
def _(K, era, rng):
    # Keras's lstm_seq2seq example: encoder states initialise the decoder.
    enc_in = K.Input((None, 5), name="encoder_inputs")
    _, h, c = K.layers.LSTM(6, return_state=True, name="encoder")(enc_in)
    dec_in = K.Input((None, 4), name="decoder_inputs")
    dec_seq, _, _ = K.layers.LSTM(6, return_sequences=True, return_state=True, name="decoder")(
        dec_in, initial_state=[h, c]
    )
    out = K.layers.Dense(4, activation="softmax", name="decoder_dense")(dec_seq)
    m = K.Model([enc_in, dec_in], out)
    randomize(m, rng)
    return m, [_seq(rng, 3, 7, 5), _seq(rng, 3, 5, 4)]


for _rnn in RNNS:

    @case(f"mask_zero_embedding_{_rnn.lower()}")
    def _(K, era, rng, _rnn=_rnn):
        ids = K.Input((6,), dtype="int32")
        e = K.layers.Embedding(10, 4, mask_zero=True)(ids)
        seq = getattr(K.layers, _rnn)(5, return_sequences=True)(e)
        last = getattr(K.layers, _rnn)(3)(seq)
        back = getattr(K.layers, _rnn)(3, go_backwards=True, return_sequences=True)(e)
        td = K.layers.TimeDistributed(K.layers.Dense(2))(seq)
        bi = K.layers.Bidirectional(getattr(K.layers, _rnn)(3, return_sequences=True))(td)
        bi_last = K.layers.Bidirectional(getattr(K.layers, _rnn)(2))(bi)
        m = K.Model(ids, [seq, last, back, td, bi, bi_last])
        randomize(m, rng)
        return m, [PADDED_IDS]


@case("masking_layer_flows")
def _(K, era, rng):
    x = K.Input((6, 3))
    masked = K.layers.Masking(mask_value=0.0)(x)
    g = K.layers.GRU(4, return_sequences=True)(masked)
    d = K.layers.Dense(3, activation="tanh")(g)
    s = K.layers.LSTM(3, return_state=True)(d)
    b = K.layers.Bidirectional(K.layers.SimpleRNN(2, return_sequences=True), merge_mode="mul")(d)
    m = K.Model(x, [g, d, *s, b])
    randomize(m, rng)
    data = _seq(rng, 5, 6, 3)
    keep = PADDED_IDS != 0
    data[~keep] = 0.0  # same padding patterns as the token rows
    return m, [data]


@case("time_distributed_rnn_and_embedding")
def _(K, era, rng):
    # A sequence of sequences: an inner GRU summarises each outer step, an outer LSTM reads them.
    x = K.Input((4, 5, 2))
    inner = K.layers.TimeDistributed(K.layers.GRU(3))(x)
    outer = K.layers.LSTM(4, return_sequences=True)(inner)
    ids = K.Input((3, 6), dtype="int32")
    emb = K.layers.TimeDistributed(K.layers.Embedding(9, 2))(ids)
    per_step = K.layers.TimeDistributed(K.layers.SimpleRNN(2, return_sequences=True))(emb)
    m = K.Model([x, ids], [outer, per_step])
    randomize(m, rng)
    return m, [_seq(rng, 2, 20, 2).reshape(2, 4, 5, 2), rng.integers(0, 9, (2, 3, 6)).astype(np.int32)]

"""Keras cases for RNN(cell) and RNN(StackedRNNCells) in every era and format."""

from __future__ import annotations

import numpy as np
from keras_zoo import PADDED_IDS, case, randomize


def _flat(xs):
    out = []
    for x in xs:
        out.extend(_flat(x) if isinstance(x, (list, tuple)) else [x])
    return out


def _seq(rng, b, t, d):
    return rng.normal(0, 1, (b, t, d)).astype(np.float32)


@case("rnn_single_cells")
def _(K, era, rng):
    x = K.Input((7, 3))
    L = K.layers
    outs = [
        L.RNN(L.LSTMCell(4), return_sequences=True)(x),
        L.RNN(L.GRUCell(3, reset_after=True))(x),
        L.RNN(L.GRUCell(3, reset_after=False), go_backwards=True, return_sequences=True)(x),
        L.RNN(L.SimpleRNNCell(2, activation="relu"))(x),
        *_flat(L.RNN(L.LSTMCell(3, recurrent_activation="hard_sigmoid"), return_state=True)(x)),
    ]
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_seq(rng, 2, 7, 3)]


@case("rnn_stacked_cells")
def _(K, era, rng):
    x = K.Input((6, 3))
    L = K.layers

    def stack():
        return [L.LSTMCell(4), L.GRUCell(3), L.SimpleRNNCell(2)]

    outs = [
        L.RNN(stack(), return_sequences=True)(x),
        L.RNN(stack(), go_backwards=True, return_sequences=True)(x),
        *_flat(L.RNN(stack(), return_state=True)(x)),
        L.Bidirectional(L.RNN([L.GRUCell(2), L.LSTMCell(2)], return_sequences=True))(x),
    ]
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_seq(rng, 2, 6, 3)]


@case("rnn_stacked_cells_masked_initial_state")
def _(K, era, rng):
    ids = K.Input((6,), dtype="int32")
    L = K.layers
    e = L.Embedding(10, 3, mask_zero=True)(ids)
    _, h1, c1, h2 = _flat(L.RNN([L.LSTMCell(4), L.GRUCell(4)], return_state=True)(e))
    fw = L.RNN([L.LSTMCell(4), L.GRUCell(4)], return_sequences=True)(e, initial_state=[[h1, c1], h2])
    bw = L.RNN([L.SimpleRNNCell(3), L.GRUCell(2)], go_backwards=True, return_sequences=True)(e)
    m = K.Model(ids, [fw, bw, h1, c1, h2])
    randomize(m, rng)
    return m, [PADDED_IDS]

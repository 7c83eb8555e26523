"""One model combining the whole recurrent family: RNN(cell) of every cell type, stacked
cells of mixed types, ConvLSTM1D/2D/3D, Bidirectional around both, masks, go_backwards,
states, initial states from another branch -- five inputs, dozens of outputs."""

from __future__ import annotations

import numpy as np
from helpers import flat as _flat
from keras_zoo import PADDED_IDS, case, randomize


@case("recurrent_family_all_in_one")
def _(K, era, rng):
    L = K.layers
    seq = K.Input((6, 3), name="seq")
    ids = K.Input((6,), dtype="int32", name="ids")
    f1 = K.Input((4, 7, 2), name="frames1d")
    f2 = K.Input((3, 5, 4, 2), name="frames2d")
    f3 = K.Input((3, 4, 3, 3, 1), name="frames3d")
    outs = []
    # RNN(cell), each cell type on its own.
    outs.append(L.RNN(L.LSTMCell(3), return_sequences=True)(seq))
    outs.append(L.RNN(L.GRUCell(3, reset_after=True))(seq))
    outs.append(L.RNN(L.GRUCell(2, reset_after=False), go_backwards=True, return_sequences=True)(seq))
    outs += _flat(L.RNN(L.SimpleRNNCell(2), return_state=True)(seq))
    # Stacked cells of mixed types: output, then each cell's states in order.
    outs += _flat(L.RNN([L.LSTMCell(3), L.GRUCell(2), L.SimpleRNNCell(2)], return_state=True)(seq))
    outs.append(L.Bidirectional(L.RNN([L.GRUCell(2), L.LSTMCell(2)], return_sequences=True))(seq))
    # Masked token ids through cells, backwards and bidirectional.
    e = L.Embedding(10, 3, mask_zero=True)(ids)
    outs += _flat(L.RNN([L.SimpleRNNCell(2), L.LSTMCell(3)], go_backwards=True, return_state=True)(e))
    outs += _flat(L.Bidirectional(L.RNN(L.LSTMCell(2), return_state=True, return_sequences=True))(e))
    # ConvLSTMs of every rank.
    outs += _flat(L.ConvLSTM1D(2, 3, padding="same", strides=2, return_state=True)(f1))
    outs.append(L.ConvLSTM1D(2, 3, dilation_rate=2, go_backwards=True, return_sequences=True)(f1))
    c2 = _flat(L.ConvLSTM2D(2, (3, 2), padding="same", return_sequences=True, return_state=True)(f2))
    outs += c2
    outs.append(L.Bidirectional(L.ConvLSTM2D(2, 2, strides=(2, 1)), merge_mode="sum")(f2))
    f2_first = L.Permute((1, 4, 2, 3))(f2)
    outs.append(L.ConvLSTM2D(2, 2, padding="same", data_format="channels_first")(f2_first))
    outs += _flat(L.ConvLSTM3D(2, 2, padding="same", go_backwards=True, return_state=True)(f3))
    # A ConvLSTM's final state gives an RNN(cell) its initial state; a head joins branches.
    summary = L.Flatten()(c2[1])
    h0 = L.Dense(3, activation="tanh")(summary)
    c0 = L.Dense(3)(summary)
    dec = L.RNN(L.LSTMCell(3), return_sequences=True)(seq, initial_state=[h0, c0])
    outs.append(dec)
    joined = L.Concatenate()([L.Flatten()(dec), L.Flatten()(outs[-2]), outs[1]])
    outs.append(L.Dense(4, activation="softmax")(joined))
    m = K.Model([seq, ids, f1, f2, f3], outs)
    randomize(m, rng)
    b = PADDED_IDS.shape[0]
    inputs = [
        rng.normal(0, 1, (b, 6, 3)).astype(np.float32),
        PADDED_IDS,
        rng.normal(0, 1, (b, 4, 7, 2)).astype(np.float32),
        rng.normal(0, 1, (b, 3, 5, 4, 2)).astype(np.float32),
        rng.normal(0, 1, (b, 3, 4, 3, 3, 1)).astype(np.float32),
    ]
    return m, inputs

"""Keras cases for RNN(cell) and RNN(StackedRNNCells) in every era and format."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import flat as _flat
from helpers import seq as _seq
from keras_zoo import PADDED_IDS, case, randomize


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


@case("rnn_stacked_cells_repeated_bidirectional")
def _(K, era, rng):
    # Twelve cells, classes repeated (Keras 3 files name them lstm_cell, lstm_cell_1, …,
    # lstm_cell_7), with and without biases, both GRU modes, inference-only dropout;
    # Bidirectional with states, and initial states split half forward, half backward.
    L = K.layers

    def stack():
        kinds = [
            lambda: L.LSTMCell(2, use_bias=False),
            lambda: L.GRUCell(2, reset_after=False, dropout=0.2),
            lambda: L.SimpleRNNCell(2, recurrent_dropout=0.3),
            lambda: L.LSTMCell(2, recurrent_activation="hard_sigmoid"),
            lambda: L.GRUCell(2, use_bias=False),
            lambda: L.SimpleRNNCell(2, use_bias=False, activation="relu"),
        ]
        return [kinds[k % len(kinds)]() for k in range(12)]

    x = K.Input((5, 3))
    outs = [L.RNN(stack(), return_sequences=True)(x)]
    bi = _flat(L.Bidirectional(L.RNN(stack(), return_state=True))(x))
    outs += bi  # merged output, then 16 forward states, then 16 backward states
    # Keras takes stacked cells' initial states nested per cell: [h, c] or h.
    flat, nested = bi[1:], []
    for k in range(24):
        if k % 3 == 0:  # an LSTMCell
            nested.append(flat[:2])
            flat = flat[2:]
        else:
            nested.append(flat[0])
            flat = flat[1:]
    bi2 = L.Bidirectional(L.RNN(stack(), return_sequences=True), merge_mode="mul")(x, initial_state=nested)
    outs.append(bi2)
    outs += _flat(L.Bidirectional(L.RNN(L.LSTMCell(3), return_state=True, return_sequences=True))(x))
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_seq(rng, 3, 5, 3)]


@case("rnn_cells_masked_backwards_states")
def _(K, era, rng):
    # Masks through stacked cells running backwards, returning states, zeroing masked
    # outputs, and through Bidirectional stacks.
    ids = K.Input((6,), dtype="int32")
    L = K.layers
    e = L.Embedding(10, 3, mask_zero=True)(ids)
    outs = [
        *_flat(L.RNN([L.GRUCell(3), L.LSTMCell(2)], go_backwards=True, return_state=True)(e)),
        *_flat(
            L.RNN(
                [L.SimpleRNNCell(2), L.GRUCell(3, reset_after=False), L.LSTMCell(2)],
                go_backwards=True,
                return_sequences=True,
                return_state=True,
            )(e)
        ),
        L.RNN([L.LSTMCell(2), L.LSTMCell(3)], return_sequences=True, zero_output_for_mask=True)(e),
        L.RNN(L.GRUCell(3), go_backwards=True, return_sequences=True, zero_output_for_mask=True)(e),
        L.Bidirectional(L.RNN([L.GRUCell(2), L.SimpleRNNCell(2)], return_sequences=True))(e),
        *_flat(L.Bidirectional(L.RNN([L.LSTMCell(2), L.GRUCell(2)], return_state=True), merge_mode="ave")(e)),
    ]
    m = K.Model(ids, outs)
    randomize(m, rng)
    return m, [PADDED_IDS]


@case("rnn_cells_unrolled_masked")
def _(K, era, rng):
    # Keras's unrolled scan zeroes masked outputs after the loop with the mask in time
    # order, while a backwards sequence is in processing order (see recurrent.py): for a
    # stack that applies to the stack's output only, not between its cells.
    ids = K.Input((6,), dtype="int32")
    L = K.layers
    e = L.Embedding(10, 3, mask_zero=True)(ids)
    outs = [
        L.Bidirectional(L.RNN([L.GRUCell(2), L.LSTMCell(3)], unroll=True, return_sequences=True))(e),
        L.Bidirectional(L.RNN(L.LSTMCell(2), unroll=True, return_sequences=True), merge_mode="sum")(e),
        L.RNN(
            [L.LSTMCell(2), L.SimpleRNNCell(2)],
            unroll=True,
            go_backwards=True,
            zero_output_for_mask=True,
            return_sequences=True,
        )(e),
        *_flat(L.RNN([L.GRUCell(2), L.GRUCell(2)], unroll=True, go_backwards=True, return_state=True)(e)),
    ]
    m = K.Model(ids, outs)
    randomize(m, rng)
    return m, [PADDED_IDS]


@case("rnn_cells_time_major")
def _(K, era, rng):
    if era == "keras3":
        pytest.skip("Keras 3 has no time_major")
    # Keras sees (T, B, D) with T in the "batch" place: inputs are (T=6, B=3, D=4).
    L = K.layers
    x = K.Input((3, 4))
    masked = L.Masking(mask_value=0.0)(x)
    outs = [
        L.RNN(L.LSTMCell(3), time_major=True, return_sequences=True)(x),
        *_flat(L.RNN([L.GRUCell(2), L.LSTMCell(3)], time_major=True, return_state=True)(x)),
        L.RNN([L.SimpleRNNCell(2), L.GRUCell(3)], time_major=True, go_backwards=True, return_sequences=True)(masked),
    ]
    m = K.Model(x, outs)
    randomize(m, rng)
    xs = rng.normal(0, 1, (6, 3, 4)).astype(np.float32)
    xs[4:, 0] = 0.0  # batch row 0: its last two steps are masked
    xs[0, 1] = 0.0  # batch row 1: its first step is masked
    return m, [xs]

"""Keras cases for the corners of recurrent semantics where Keras 3 and tf_keras differ
from each other or from their docs: masks meeting initial_state, merges and
TimeDistributed; unrolled masked scans; Bidirectional's backward layer and initial
state; every RNN's return_state/initial_state. Registered into keras_zoo.CASES;
test_parity.py runs each in every era and file format."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import seq as _seq
from keras_zoo import PADDED_IDS, case, randomize

RNNS = ["LSTM", "GRU", "SimpleRNN"]


@case("masked_seq2seq_initial_state")
def _(K, era, rng):
    # Keras 3 passes no mask to a layer called with more than one tensor (here the
    # initial states), tf_keras does: each file must give its own Keras's numbers.
    enc, dec = K.Input((6,), dtype="int32"), K.Input((6,), dtype="int32")
    _, h, c = K.layers.LSTM(4, return_state=True)(K.layers.Embedding(10, 3, mask_zero=True)(enc))
    de = K.layers.Embedding(10, 3, mask_zero=True)(dec)
    y = K.layers.LSTM(4, return_sequences=True)(de, initial_state=[h, c])
    g = K.layers.GRU(4, return_sequences=True)(de, initial_state=h)
    s = K.layers.SimpleRNN(4)(de, initial_state=[h])
    bi = K.layers.Bidirectional(K.layers.GRU(4, return_sequences=True))(de, initial_state=[h, h])
    m = K.Model([enc, dec], [y, g, s, bi])
    randomize(m, rng)
    return m, [PADDED_IDS, PADDED_IDS[::-1].copy()]


@case("return_state_initial_state_every_rnn")
def _(K, era, rng):
    # States out of every RNN kind, fed onward as another layer's initial state, and
    # states given as model inputs (the inference half of a seq2seq model).
    x = K.Input((5, 3))
    h_in = K.Input((4,))
    outs = []
    for rnn in RNNS:
        layer = getattr(K.layers, rnn)(4, return_sequences=True, return_state=True)
        n_states = 2 if rnn == "LSTM" else 1
        y, *states = layer(x, initial_state=[h_in] * n_states)
        y2, *states2 = getattr(K.layers, rnn)(4, return_state=True, go_backwards=True)(y, initial_state=states)
        outs += [y, *states, y2, *states2]
    m = K.Model([x, h_in], outs)
    randomize(m, rng)
    return m, [_seq(rng, 3, 5, 3), rng.normal(0, 1, (3, 4)).astype(np.float32)]


@case("bidirectional_initial_state_and_backward_layer")
def _(K, era, rng):
    x = K.Input((6, 3))
    _, fh, fc, bh, bc = K.layers.Bidirectional(K.layers.LSTM(4, return_state=True))(x)
    y = K.layers.Bidirectional(K.layers.LSTM(4, return_sequences=True))(x, initial_state=[fh, fc, bh, bc])
    # A different class and size backwards (Keras checks only the shared options).
    mixed = K.layers.Bidirectional(
        K.layers.LSTM(3, return_sequences=True),
        backward_layer=K.layers.GRU(2, return_sequences=True, go_backwards=True),
        merge_mode="concat",
    )(x)
    mixed_last, *mixed_states = K.layers.Bidirectional(
        K.layers.SimpleRNN(3, return_state=True),
        backward_layer=K.layers.SimpleRNN(3, return_state=True, go_backwards=True, activation="relu"),
        merge_mode=None,
    )(y)
    m = K.Model(x, [y, mixed, mixed_last, *mixed_states])
    randomize(m, rng)
    return m, [_seq(rng, 3, 6, 3)]


@case("bidirectional_around_go_backwards_layer")
def _(K, era, rng):
    if era == "keras3":
        pytest.skip("Keras 3 sets go_backwards=True on the backward copy and refuses two backward layers")
    # tf_keras flips go_backwards for the backward copy: the "forward" half runs backwards.
    x = K.Input((6, 3))
    y = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True, go_backwards=True))(x)
    z = K.layers.Bidirectional(K.layers.LSTM(2, go_backwards=True), merge_mode="sum")(x)
    m = K.Model(x, [y, z])
    randomize(m, rng)
    return m, [_seq(rng, 2, 6, 3)]


@case("unrolled_masked_scans")
def _(K, era, rng):
    # unroll=True zeroes masked outputs after the loop with the mask in time order, even
    # for a go_backwards sequence (both Keras 3 and tf_keras): the backward half of an
    # unrolled Bidirectional shows it. The rolled twins give the textbook numbers.
    ids = K.Input((6,), dtype="int32")
    e = K.layers.Embedding(10, 3, mask_zero=True)(ids)
    outs = []
    for unroll in (True, False):
        outs.append(K.layers.Bidirectional(K.layers.LSTM(2, return_sequences=True, unroll=unroll))(e))
        outs.append(K.layers.Bidirectional(K.layers.GRU(2, unroll=unroll), merge_mode="ave")(e))
        outs.append(K.layers.SimpleRNN(2, return_sequences=True, go_backwards=True, unroll=unroll)(e))
        outs.append(
            K.layers.GRU(2, return_sequences=True, go_backwards=True, unroll=unroll, zero_output_for_mask=True)(e)
        )
        outs.append(K.layers.LSTM(2, return_sequences=True, unroll=unroll, zero_output_for_mask=True)(e))
    m = K.Model(ids, outs)
    randomize(m, rng)
    return m, [PADDED_IDS]


@case("masks_through_merges")
def _(K, era, rng):
    # Keras 3 ORs the masks of an element-wise merge and drops them when one input has
    # none; tf_keras ANDs them, treating a missing mask as all true. (Keras 3's Multiply,
    # Maximum and Minimum also change values under masks: not covered here.)
    a, b, x = K.Input((6,), dtype="int32"), K.Input((6,), dtype="int32"), K.Input((6, 3))
    ea = K.layers.Embedding(10, 3, mask_zero=True)(a)
    eb = K.layers.Embedding(10, 3, mask_zero=True)(b)
    merged = [
        K.layers.Concatenate()([ea, eb]),
        K.layers.Concatenate()([x, eb]),
        K.layers.Add()([ea, x]),
        K.layers.Average()([ea, eb]),
    ]
    fw, bw = K.layers.Bidirectional(K.layers.GRU(2, return_sequences=True), merge_mode=None)(ea)
    merged.append(K.layers.Concatenate()([fw, bw]))
    merged.append(K.layers.Bidirectional(K.layers.GRU(2, return_sequences=True), merge_mode="mul")(ea))
    outs = [K.layers.LSTM(2, return_sequences=True)(t) for t in merged]
    m = K.Model([a, b, x], outs + [fw, bw])
    randomize(m, rng)
    return m, [PADDED_IDS, PADDED_IDS[[2, 4, 0, 3, 1]], _seq(rng, 5, 6, 3)]


_IDS3 = np.array(
    [
        [[1, 2, 3, 0, 0], [0, 0, 0, 0, 0], [4, 0, 5, 1, 0], [2, 2, 0, 0, 0]],
        [[0, 0, 3, 4, 5], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [5, 4, 3, 2, 1]],
        [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
    ],
    dtype=np.int32,
)


@case("time_distributed_masks")
def _(K, era, rng):
    # A (B, T, S) mask from Masking reaches a TimeDistributed RNN's inner steps. tf_keras
    # then asks the inner layer for the output mask (kept by return_sequences, else any()
    # over the inner steps); Keras 3 passes the input mask through, which an outer RNN
    # cannot take -- so only tf_keras continues with one.
    x = K.Input((4, 5, 2))
    masked = K.layers.Masking(0.0)(x)
    s = K.layers.TimeDistributed(K.layers.LSTM(3, return_sequences=True))(masked)
    d = K.layers.TimeDistributed(K.layers.Dense(2))(s)
    last = K.layers.TimeDistributed(K.layers.GRU(2))(d)
    outs = [s, d, last]
    if era != "keras3":
        outs.append(K.layers.SimpleRNN(2, return_sequences=True)(last))
        ids = K.Input((4, 5), dtype="int32")
        # tf_keras: the inner Embedding's mask (ids != 0) flows out and on.
        e = K.layers.TimeDistributed(K.layers.Embedding(6, 3, mask_zero=True))(ids)
        inner = K.layers.TimeDistributed(K.layers.GRU(2))(e)
        outs += [inner, K.layers.LSTM(2, return_sequences=True)(inner)]
        m = K.Model([x, ids], outs)
    else:
        m = K.Model(x, outs)
    randomize(m, rng)
    data = rng.normal(0, 1, (3, 4, 5, 2)).astype(np.float32)
    data[_IDS3 == 0] = 0.0
    return m, [data] if era == "keras3" else [data, _IDS3]


@case("time_distributed_masks_sequential")
def _(K, era, rng):
    m = K.Sequential(
        [
            K.Input((6,), dtype="int32"),
            K.layers.Embedding(10, 3, mask_zero=True),
            K.layers.TimeDistributed(K.layers.Dense(4, activation="tanh")),
            K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=True)),
            K.layers.TimeDistributed(K.layers.Dense(2)),
            K.layers.GRU(2, return_sequences=True),
        ]
    )
    randomize(m, rng)
    return m, [PADDED_IDS]


@case("masking_value_partial_rows")
def _(K, era, rng):
    # A step is masked only when every feature equals mask_value.
    x = K.Input((6, 3))
    masked = K.layers.Masking(mask_value=-1.0)(x)
    y = K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=True), merge_mode="sum")(masked)
    z = K.layers.Bidirectional(K.layers.SimpleRNN(2, return_sequences=True), merge_mode="ave")(y)
    w, h = K.layers.GRU(2, return_state=True, go_backwards=True)(z)
    m = K.Model(x, [masked, y, z, w, h])
    randomize(m, rng)
    data = _seq(rng, 5, 6, 3)
    data[PADDED_IDS == 0] = -1.0
    data[0, 1, :2] = -1.0  # partly equal: a real step
    data[4, 2, 1] = -1.0
    return m, [data]

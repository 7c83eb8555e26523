"""Keras cases for ConvLSTM1D/2D/3D in every era and format: each padding with strides and
dilation, both data formats, return_state, go_backwards, Bidirectional, initial states
and (Keras 3) masks. Shapes are tiny so the suite stays fast."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import flat as _flat
from keras_zoo import PADDED_IDS, case, randomize


def _frames(rng, *shape):
    return rng.normal(0, 1, shape).astype(np.float32)


def _cl_layers(L, cls, rank):
    """One layer per option set: (padding, kernel, strides, dilation, extra kwargs)."""
    k3 = (3, 2, 2)[:rank]  # non-square kernels on purpose
    k2 = (2,) * rank
    s2 = (2, 1, 2)[:rank]
    d2 = (2, 1, 1)[:rank]
    return [
        cls(2, k3, padding="valid", return_sequences=True),
        cls(3, k2, padding="same", strides=s2, return_state=True),
        cls(2, k3, padding="same", dilation_rate=d2, go_backwards=True, return_sequences=True),
        cls(
            2,
            k2,
            padding="valid",
            strides=s2,
            go_backwards=True,
            return_state=True,
            activation="relu",
            recurrent_activation="hard_sigmoid",
            use_bias=False,
        ),
        cls(2, k3, padding="valid", dilation_rate=d2, return_sequences=True, return_state=True),
        cls(3, k2, padding="same", return_sequences=True, go_backwards=True, return_state=True),
    ]


def _options_case(K, rng, cls, rank, spatial):
    L = K.layers
    x = K.Input((4, *spatial, 2))
    outs = []
    for layer in _cl_layers(L, cls, rank):
        outs += _flat(layer(x))
    # channels_first: the same frames with the channel axis moved after time.
    xf = L.Permute((1, rank + 2, *range(2, rank + 2)))(x)
    outs += _flat(cls(2, 2, padding="same", data_format="channels_first", return_sequences=True, return_state=True)(xf))
    outs += _flat(
        cls(2, 3, padding="valid", strides=2, data_format="channels_first", go_backwards=True, return_state=True)(xf)
    )
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_frames(rng, 2, 4, *spatial, 2)]


@case("conv_lstm1d_options")
def _(K, era, rng):
    return _options_case(K, rng, K.layers.ConvLSTM1D, 1, (7,))


@case("conv_lstm2d_options")
def _(K, era, rng):
    return _options_case(K, rng, K.layers.ConvLSTM2D, 2, (6, 5))


@case("conv_lstm3d_options")
def _(K, era, rng):
    return _options_case(K, rng, K.layers.ConvLSTM3D, 3, (5, 4, 4))


@case("conv_lstm_bidirectional_stacked")
def _(K, era, rng):
    L = K.layers
    x = K.Input((4, 5, 4, 2))
    seq = L.Bidirectional(L.ConvLSTM2D(2, (3, 3), padding="same", return_sequences=True))(x)
    top = L.ConvLSTM2D(3, (2, 2), padding="valid", strides=(2, 1))(seq)
    outs = [seq, L.Dense(2)(L.Flatten()(top))]
    outs += _flat(L.Bidirectional(L.ConvLSTM2D(2, (2, 3), padding="same", return_state=True), merge_mode="sum")(x))
    outs += _flat(L.Bidirectional(L.ConvLSTM1D(2, 2, return_sequences=True), merge_mode=None)(L.Reshape((4, 5, 8))(x)))
    outs.append(L.Bidirectional(L.ConvLSTM3D(2, 2, padding="same"), merge_mode="ave")(L.Reshape((4, 5, 4, 1, 2))(x)))
    # channels_first: Keras concatenates the halves along the last axis all the same.
    xf = L.Permute((1, 4, 2, 3))(x)
    outs += _flat(
        L.Bidirectional(
            L.ConvLSTM2D(2, 2, padding="same", data_format="channels_first", return_sequences=True, return_state=True)
        )(xf)
    )
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_frames(rng, 2, 4, 5, 4, 2)]


@case("conv_lstm_initial_state")
def _(K, era, rng):
    # Encoder-decoder: the decoder starts from the encoder's final [h, c].
    L = K.layers
    enc_in = K.Input((3, 6, 2), name="enc")
    dec_in = K.Input((5, 6, 2), name="dec")
    _, h, c = L.ConvLSTM1D(3, 3, padding="same", return_state=True)(enc_in)
    y = L.ConvLSTM1D(3, 2, padding="same", return_sequences=True)(dec_in, initial_state=[h, c])
    yb = L.ConvLSTM1D(3, 3, padding="same", go_backwards=True)(dec_in, initial_state=[h, c])
    m = K.Model([enc_in, dec_in], [y, yb, h, c])
    randomize(m, rng)
    return m, [_frames(rng, 3, 3, 6, 2), _frames(rng, 3, 5, 6, 2)]


@case("conv_lstm_explicit_mask")
def _(K, era, rng):
    if era != "keras3":
        pytest.skip(
            "tf_keras can pass a (batch, time) mask to a ConvLSTM only from a TF op (TFOpLambda), "
            "which the converter refuses as code; Keras 3 records ops.not_equal"
        )
    L = K.layers
    x = K.Input((6, 4, 2), name="frames")
    ids = K.Input((6,), dtype="int32", name="ids")
    mask = K.ops.not_equal(ids, 0)
    outs = [
        L.ConvLSTM1D(2, 2, padding="same", return_sequences=True)(x, mask=mask),
        L.ConvLSTM1D(2, 3, go_backwards=True, return_sequences=True)(x, mask=mask),
        *_flat(L.ConvLSTM1D(2, 2, return_state=True)(x, mask=mask)),
        L.ConvLSTM1D(2, 2, padding="same", return_sequences=True, zero_output_for_mask=True)(x, mask=mask),
        L.Bidirectional(L.ConvLSTM1D(2, 2, padding="same", return_sequences=True))(x, mask=mask),
        # Keras's unrolled scan zeroes masked outputs after the loop (see recurrent.py).
        L.Bidirectional(L.ConvLSTM1D(2, 2, return_sequences=True, unroll=True), merge_mode="sum")(x, mask=mask),
    ]
    m = K.Model([x, ids], outs)
    randomize(m, rng)
    return m, [_frames(rng, 5, 6, 4, 2), PADDED_IDS]


@case("conv_lstm_masked_ids")
def _(K, era, rng):
    # Token ids made into frames keep their (batch, time) mask through TimeDistributed.
    # (tf_keras refuses a mask on Reshape; its ConvLSTM masks are tested in
    # test_conv_lstm_cells.py against tf_keras called eagerly with a mask.)
    if era != "keras3":
        pytest.skip("tf_keras's Reshape does not support masking, so no layer makes frames of masked ids")
    L = K.layers
    ids = K.Input((6,), dtype="int32")
    e = L.Embedding(10, 4, mask_zero=True)(ids)
    f1 = L.TimeDistributed(L.Reshape((2, 2)))(e)
    f2 = L.TimeDistributed(L.Reshape((2, 1, 2)))(e)
    outs = [
        L.ConvLSTM1D(2, 2, padding="same", return_sequences=True)(f1),
        *_flat(L.ConvLSTM1D(2, 2, go_backwards=True, return_sequences=True, return_state=True)(f1)),
        L.ConvLSTM1D(2, 2, padding="same", return_sequences=True, zero_output_for_mask=True)(f1),
        L.Bidirectional(L.ConvLSTM1D(2, 2, padding="same", return_sequences=True))(f1),
        *_flat(L.Bidirectional(L.ConvLSTM2D(2, (2, 1), return_state=True), merge_mode="sum")(f2)),
    ]
    m = K.Model(ids, outs)
    randomize(m, rng)
    return m, [PADDED_IDS]

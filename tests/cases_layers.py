"""Keras cases for the layers around RNNs (conv, pooling, shape, normalization, merges,
activation layers), alone and inside recurrent models, in every era and file format."""

from __future__ import annotations

import numpy as np
from helpers import seq as _seq
from keras_zoo import case, randomize


def _randomize_with_positive_variances(m, rng) -> None:
    """randomize(), then BatchNormalization moving variances made |v| + 0.1 (they must be > 0)."""
    randomize(m, rng)
    for layer in m.layers:
        if "batch_normalization" in layer.name:
            w = layer.get_weights()
            w[-1] = np.abs(w[-1]) + 0.1
            layer.set_weights(w)


def _two_padded_sequences(K):
    """Two id inputs, each embedded with mask_zero (different paddings when fed PADDED_IDS
    and its reverse), and an unmasked sequence computed from the second."""
    a, b = K.Input((6,), dtype="int32"), K.Input((6,), dtype="int32")
    ea = K.layers.Embedding(10, 3, mask_zero=True)(a)
    eb = K.layers.Embedding(10, 3, mask_zero=True)(b)
    plain = K.layers.Dense(3)(K.layers.Embedding(10, 3)(b))
    return a, b, ea, eb, plain


@case("conv1d_paddings_strides_dilation")
def _(K, era, rng):
    x = K.Input((13, 3))
    outs = []
    for padding in ("valid", "same", "causal"):
        for stride, dil in ((1, 1), (2, 1), (1, 2)):
            if padding == "causal" and stride > 1 and era == "tf_keras":
                continue
            outs.append(K.layers.Conv1D(4, 3, strides=stride, dilation_rate=dil, padding=padding, activation="relu")(x))
    outs.append(K.layers.Conv1D(2, 1, use_bias=False)(x))
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_seq(rng, 2, 13, 3)]


@case("conv_pool_lstm_pipeline")
def _(K, era, rng):
    # The classic "CNN front-end + RNN" sequence classifier.
    m = K.Sequential(
        [
            K.Input((None, 5)),
            K.layers.Conv1D(8, 3, padding="same", activation="relu"),
            K.layers.MaxPooling1D(2),
            K.layers.Conv1D(6, 2, padding="causal"),
            K.layers.AveragePooling1D(2, padding="same"),
            K.layers.LSTM(6, return_sequences=True),
            K.layers.GlobalAveragePooling1D(),
            K.layers.Dense(3, activation="softmax"),
        ]
    )
    randomize(m, rng)
    return m, [_seq(rng, 3, 17, 5)]


@case("pooling_padding_cropping_upsampling")
def _(K, era, rng):
    x = K.Input((11, 4))
    outs = [
        K.layers.MaxPooling1D(3, strides=2, padding="same")(x),
        K.layers.MaxPooling1D(2, padding="valid")(x),
        K.layers.AveragePooling1D(3, strides=1, padding="same")(x),
        K.layers.AveragePooling1D(2, strides=3)(x),
        K.layers.GlobalMaxPooling1D()(x),
        K.layers.GlobalAveragePooling1D()(x),
        K.layers.ZeroPadding1D((2, 1))(x),
        K.layers.Cropping1D((1, 3))(x),
        K.layers.UpSampling1D(3)(x),
    ]
    m = K.Model(x, outs)
    return m, [_seq(rng, 2, 11, 4)]


@case("shape_layers")
def _(K, era, rng):
    x = K.Input((6, 4))
    h = K.layers.LSTM(5)(x)
    rep = K.layers.RepeatVector(4)(h)
    dec = K.layers.GRU(3, return_sequences=True)(rep)
    outs = [
        K.layers.Flatten()(x),
        K.layers.Reshape((3, 8))(x),
        K.layers.Reshape((-1, 2))(x),
        K.layers.Permute((2, 1))(x),
        rep,
        K.layers.Flatten()(dec),
    ]
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_seq(rng, 2, 6, 4)]


@case("normalization_layers")
def _(K, era, rng):
    x = K.Input((7, 5))
    outs = [
        K.layers.BatchNormalization()(x),
        K.layers.BatchNormalization(center=False, scale=False, epsilon=0.01)(x),
        K.layers.BatchNormalization(center=False)(x),
        K.layers.LayerNormalization()(x),
        K.layers.LayerNormalization(center=False, scale=False)(x),
    ]
    if era == "keras3":  # tf_keras's own LayerNormalization fails on several axes
        outs.append(K.layers.LayerNormalization(axis=[1, 2])(x))
    h = K.layers.LSTM(6, return_sequences=True)(K.layers.BatchNormalization()(x))
    outs.append(K.layers.LayerNormalization()(h))
    m = K.Model(x, outs)
    _randomize_with_positive_variances(m, rng)
    return m, [_seq(rng, 3, 7, 5)]


@case("merge_layers")
def _(K, era, rng):
    a = K.Input((5, 4))
    b = K.Input((5, 4))
    la = K.layers.LSTM(4, return_sequences=True)(a)
    lb = K.layers.GRU(4, return_sequences=True)(b)
    outs = [
        K.layers.Concatenate()([la, lb]),
        K.layers.Concatenate(axis=1)([la, lb]),
        K.layers.Add()([la, lb, a]),
        K.layers.Subtract()([la, lb]),
        K.layers.Multiply()([la, lb]),
        K.layers.Average()([la, lb]),
        K.layers.Maximum()([la, lb]),
        K.layers.Minimum()([la, lb]),
        K.layers.Dot(axes=2)([la, lb]),
        K.layers.Dot(axes=(1, 1), normalize=True)([la, lb]),
        K.layers.Dot(axes=1)([K.layers.LSTM(3)(a), K.layers.LSTM(3)(b)]),
    ]
    m = K.Model([a, b], outs)
    randomize(m, rng)
    return m, [_seq(rng, 2, 5, 4), _seq(rng, 2, 5, 4)]


@case("activation_layers")
def _(K, era, rng):
    x = K.Input((6, 4))
    h = K.layers.Dense(5)(x)
    outs = [
        K.layers.ReLU()(h),
        K.layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2)(h),
        K.layers.LeakyReLU()(h),
        K.layers.ELU(alpha=0.7)(h),
        K.layers.Softmax()(h),
        K.layers.Softmax(axis=1)(h),
        K.layers.PReLU()(h),
        K.layers.PReLU(shared_axes=[1])(h),
    ]
    m = K.Model(x, outs)
    randomize(m, rng)
    return m, [_seq(rng, 2, 6, 4)]


@case("masked_merge_and_pooling")
def _(K, era, rng):
    ids = K.Input((6,), dtype="int32")
    e = K.layers.Embedding(10, 4, mask_zero=True)(ids)
    f = K.layers.LSTM(3, return_sequences=True)(e)
    g = K.layers.GRU(3, return_sequences=True)(e)
    cat = K.layers.Concatenate()([f, g])
    add = K.layers.Add()([f, g])
    outs = [cat, add, K.layers.LSTM(2)(cat), K.layers.GRU(2)(add), K.layers.GlobalAveragePooling1D()(add)]
    m = K.Model(ids, outs)
    randomize(m, rng)
    from keras_zoo import PADDED_IDS

    return m, [PADDED_IDS]


@case("shared_layers")
def _(K, era, rng):
    # One LSTM and one Dense applied at several places (a siamese encoder).
    a = K.Input((5, 3))
    b = K.Input((5, 3))
    enc = K.layers.LSTM(4)
    head = K.layers.Dense(2)
    ea, eb = enc(a), enc(b)
    m = K.Model([a, b], [head(ea), head(eb), K.layers.Subtract()([ea, eb])])
    randomize(m, rng)
    return m, [_seq(rng, 2, 5, 3), _seq(rng, 2, 5, 3)]


@case("nested_models")
def _(K, era, rng):
    # A Sequential and a Functional model used as layers; the Sequential is called twice.
    enc = K.Sequential([K.Input((5, 3)), K.layers.LSTM(4, return_sequences=True), K.layers.Dense(3)], name="enc")
    xi = K.Input((5, 3))
    gi = K.layers.GRU(2)(xi)
    head = K.Model(xi, [K.layers.Dense(2, activation="softmax")(gi), gi], name="head")
    a, b = K.Input((5, 3)), K.Input((5, 3))
    ea, eb = enc(a), enc(b)
    p, g = head(K.layers.Add()([ea, eb]))
    m = K.Model([a, b], [p, g, ea])
    randomize(m, rng)
    return m, [_seq(rng, 2, 5, 3), _seq(rng, 2, 5, 3)]


@case("masked_concat_time_and_mixed_merges")
def _(K, era, rng):
    # Concatenation along time carries both masks along; merges of a masked and an
    # unmasked sequence give the mask each Keras gives (tf_keras: the masked one's;
    # Keras 3: none), which the LSTMs after them read.
    from keras_zoo import PADDED_IDS

    a, b, ea, eb, plain = _two_padded_sequences(K)
    sa = K.layers.LSTM(3, return_sequences=True)(ea)
    cat_t = K.layers.Concatenate(axis=1)([sa, eb])
    outs = [cat_t, K.layers.LSTM(2)(cat_t), K.layers.GRU(2)(K.layers.Add()([ea, plain]))]
    outs.append(K.layers.LSTM(2)(K.layers.Multiply()([plain, eb])))
    outs.append(K.layers.SimpleRNN(2)(K.layers.Concatenate()([ea, plain])))
    if era == "keras3":  # tf_keras cannot build a time-concatenation of masked and unmasked (B, T, 3)
        mixed = K.layers.Concatenate(axis=1)([plain, sa])
        outs += [mixed, K.layers.GRU(2)(mixed)]
    m = K.Model([a, b], outs)
    randomize(m, rng)
    return m, [PADDED_IDS, PADDED_IDS[::-1].copy()]


@case("masked_elementwise_merges")
def _(K, era, rng):
    # Every element-wise merge of masked sequences (different paddings) and unmasked
    # ones, in several orders: Keras 3's Multiply / Maximum / Minimum let masked-out
    # entries drop out of the result; the LSTMs read the merged masks.
    from keras_zoo import PADDED_IDS

    a, b, ea, eb, plain = _two_padded_sequences(K)
    outs = []
    for layer in (K.layers.Multiply, K.layers.Maximum, K.layers.Minimum):
        for k, ins in enumerate(([ea, eb], [ea, plain], [plain, eb], [ea, eb, plain], [ea, plain, eb])):
            y = layer()(ins)
            outs += [y, K.layers.LSTM(2)(y)] if k in (0, 1) else [y]
    for layer in (K.layers.Add, K.layers.Average, K.layers.Subtract):
        y = layer()([ea, eb])
        outs += [y, K.layers.GRU(2)(y)]
    m = K.Model([a, b], outs)
    randomize(m, rng)
    return m, [PADDED_IDS, PADDED_IDS[::-1].copy()]


@case("masks_through_layers_around_rnns")
def _(K, era, rng):
    # A padded sequence through each layer around RNNs, then an LSTM: the layers that
    # pass masks on (normalizations, activations, Dense, Dropout) keep the padding
    # masked for the LSTM; those that do not (Conv1D, pooling, reshaping) drop it.
    from keras_zoo import PADDED_IDS

    ids = K.Input((6,), dtype="int32")
    e = K.layers.Embedding(10, 4, mask_zero=True)(ids)
    around = [
        K.layers.BatchNormalization(),
        K.layers.LayerNormalization(),
        K.layers.ReLU(),
        K.layers.LeakyReLU(),
        K.layers.PReLU(),
        K.layers.ELU(),
        K.layers.Activation("tanh"),
        K.layers.Dropout(0.3),
        K.layers.Dense(4),
        K.layers.Conv1D(4, 3, padding="same"),
        K.layers.MaxPooling1D(2),
        K.layers.Permute((1, 2)),
        K.layers.Reshape((3, 8)),
        K.layers.UpSampling1D(2),
        K.layers.ZeroPadding1D(1),
        K.layers.Cropping1D((1, 0)),
    ]
    outs = [K.layers.LSTM(2)(layer(e)) for layer in around]
    m = K.Model(ids, outs)
    _randomize_with_positive_variances(m, rng)
    return m, [PADDED_IDS]


@case("layers_between_rnns")
def _(K, era, rng):
    # Every layer family between recurrent layers: RNN -> norm/activation -> RNN ->
    # reshaping and resampling -> RNN -> flatten/repeat -> RNN (an encoder-decoder stack).
    m = K.Sequential(
        [
            K.Input((8, 3)),
            K.layers.LSTM(6, return_sequences=True),
            K.layers.LayerNormalization(),
            K.layers.LeakyReLU(),
            K.layers.GRU(4, return_sequences=True),
            K.layers.PReLU(shared_axes=[1]),
            K.layers.Conv1D(4, 2, padding="causal", dilation_rate=2, activation="elu"),
            K.layers.Cropping1D((1, 1)),
            K.layers.ZeroPadding1D((0, 2)),
            K.layers.UpSampling1D(2),
            K.layers.AveragePooling1D(3, strides=2, padding="same"),
            K.layers.SimpleRNN(4, return_sequences=True),
            K.layers.BatchNormalization(),
            K.layers.Permute((2, 1)),
            K.layers.Reshape((-1, 4)),
            K.layers.LSTM(3),
            K.layers.ReLU(max_value=1.0),
            K.layers.RepeatVector(3),
            K.layers.GRU(2, return_sequences=True),
            K.layers.Flatten(),
            K.layers.Dense(2),
            K.layers.Softmax(),
        ]
    )
    _randomize_with_positive_variances(m, rng)
    return m, [_seq(rng, 3, 8, 3)]


@case("nested_models_deep_and_masked")
def _(K, era, rng):
    # Two levels of nesting, a padded sequence flowing into them (masks cross the model
    # boundaries), attention and a layer shared between the inner and the outer model.
    from keras_zoo import PADDED_IDS

    inner = K.Sequential([K.Input((6, 4)), K.layers.LSTM(4, return_sequences=True), K.layers.Dense(4)], name="inner")
    shared = K.layers.Dense(4, activation="tanh", name="shared_dense")
    mid_in = K.Input((6, 4))
    h = inner(mid_in)
    mid = K.Model(mid_in, shared(K.layers.AdditiveAttention()([h, mid_in])), name="mid")
    ids = K.Input((6,), dtype="int32")
    e = K.layers.Embedding(10, 4, mask_zero=True)(ids)
    y = mid(e)
    m = K.Model(ids, [y, K.layers.GRU(3)(y), K.layers.GRU(2)(shared(e))])
    randomize(m, rng)
    return m, [PADDED_IDS]

"""Keras cases for the norm helper's layers (issue 16): GroupNormalization, RMSNormalization,
UnitNormalization, Normalization, Identity, the recorded keras.ops activations, and the
augmentation layers at inference -- each in one multi-output model per topic."""

from __future__ import annotations

from helpers import seq as _seq
from keras_zoo import case


@case("norm_layers")
def _(K, era, rng):
    x = K.Input((5, 6))
    img = K.Input((4, 3, 6))
    mean2 = rng.normal(0, 1, (5, 6)).astype("float32")
    var2 = (rng.uniform(0.2, 2.0, (5, 6))).astype("float32")
    outs = [
        K.layers.GroupNormalization(groups=3)(x),
        K.layers.GroupNormalization(groups=2, axis=1, center=False)(K.layers.Permute((2, 1))(x)),
        K.layers.GroupNormalization(groups=-1, scale=False, epsilon=0.01)(img),
        K.layers.UnitNormalization()(x),
        K.layers.UnitNormalization(axis=[1, 2])(x),
        K.layers.Normalization(mean=0.5, variance=4.0)(x),
        K.layers.Normalization(axis=-1, mean=list(mean2[0]), variance=list(var2[0]), invert=True)(x),
        K.layers.Normalization(axis=(1, 2), mean=mean2, variance=var2)(x),
        K.layers.Normalization(axis=None, mean=1.5, variance=0.0)(x),
        K.layers.Identity()(x),
    ]
    adapted = K.layers.Normalization(axis=1)
    adapted.adapt(rng.normal(2.0, 3.0, (20, 5, 6)).astype("float32"))
    outs.append(K.layers.LSTM(3, return_sequences=True)(adapted(x)))
    if era == "keras3":
        outs += [
            K.layers.RMSNormalization()(x),
            K.layers.RMSNormalization(axis=[1, 2], epsilon=0.1)(x),
        ]
    m = K.Model([x, img], outs)
    for layer in m.layers:  # random gammas, betas and scales; Normalization keeps its statistics
        if layer.weights and "normalization" in layer.name and not layer.name.startswith("normalization"):
            layer.set_weights([rng.normal(1.0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return m, [_seq(rng, 3, 5, 6), rng.normal(0, 2, (3, 4, 3, 6)).astype("float32")]

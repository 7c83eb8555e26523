"""How the 1.3.0 golden bundle was made (run once, on 2026-12-07; never rerun to update it).

A Keras 3 model using a representative set of what format 1.3 added: a frames input
(B, T, H, W, C) through TimeDistributed(Rescaling -> Resizing(bilinear) -> Conv2D ->
AdaptiveAveragePooling2D -> Flatten) -> LSTM(return_sequences) -> self-attention
(MultiHeadAttention) -> EinsumDense -> GroupNormalization / RMSNormalization -> keras.ops
slice and reduce -> Dense; a Conv3D -> MaxPooling3D -> GlobalAveragePooling3D branch on the
same (rescaled) frames; an integer-id input through IntegerLookup (vocabulary in the constructor) ->
Embedding. Saved as ``.keras`` and converted from that file by the rnnconvert of this
release with ``verify=True`` (test vectors computed by Keras); ``expected.npz`` holds inputs
and Keras's own first ``predict`` outputs for them.

    TF_CPP_MIN_LOG_LEVEL=3 python tests/data/golden/1.3.0/make.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def build():
    import keras as K
    from keras import ops

    K.utils.set_random_seed(130)
    L = K.layers
    frames = K.Input(batch_shape=(2, 4, 10, 10, 2), name="frames")
    ids = K.Input(batch_shape=(2, 5), dtype="int32", name="ids")

    def td(layer):
        return L.TimeDistributed(layer, name=f"td_{layer.name}")

    scaled = td(L.Rescaling(1.0 / 255.0, offset=-0.5, name="rescale"))(frames)
    x = td(L.Resizing(8, 8, interpolation="bilinear", name="resize"))(scaled)
    x = td(L.Conv2D(4, 3, padding="same", activation="relu", name="conv2d"))(x)
    x = td(L.AdaptiveAveragePooling2D((2, 2), name="adaptive"))(x)
    x = td(L.Flatten(name="flat"))(x)
    s = L.LSTM(8, return_sequences=True, name="lstm")(x)
    a = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(s, s)
    e = L.EinsumDense("btd,de->bte", output_shape=(None, 6), bias_axes="e", name="einsum")(a)
    g = L.GroupNormalization(groups=2, name="groupnorm")(e)
    r = L.RMSNormalization(name="rmsnorm")(g)
    last = r[:, -1]
    mean = ops.mean(r, axis=1)
    seq_head = L.Dense(3, activation="softmax", name="seq_head")(L.Concatenate(name="cat")([last, mean]))

    v = L.Conv3D(3, (2, 3, 3), activation="relu", name="conv3d")(scaled)
    v = L.MaxPooling3D((1, 2, 2), name="pool3d")(v)
    v = L.GlobalAveragePooling3D(name="gap3d")(v)
    vol_head = L.Dense(2, name="vol_head")(v)

    t = L.IntegerLookup(vocabulary=[3, 7, 11, 42, 99], name="lookup")(ids)
    t = L.Embedding(6, 4, name="embed")(t)
    t = ops.max(t, axis=1)
    id_head = L.Dense(2, name="id_head")(t)

    model = K.Model([frames, ids], [seq_head, vol_head, id_head], name="golden_1_3")
    rng = np.random.default_rng(130)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    pixels = rng.uniform(0.0, 255.0, (2, 4, 10, 10, 2)).astype(np.float32)
    idv = rng.choice([3, 7, 11, 42, 99, 5, 0], size=(2, 5)).astype(np.int32)  # 5 and 0 are out of vocabulary
    return model, [pixels, idv]


def main() -> None:
    from rnnconvert.converter import convert

    model, inputs = build()
    outputs = [np.asarray(y, np.float32) for y in model.predict(inputs, verbose=0)]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "golden_1_3.keras"
        model.save(src)
        result = convert(src, HERE / "bundle", verify=True, force=True)
        print(result.summary())
    arrays = {f"inputs_{i}": a for i, a in enumerate(inputs)} | {f"outputs_{i}": y for i, y in enumerate(outputs)}
    np.savez(HERE / "expected.npz", **arrays)


if __name__ == "__main__":
    sys.exit(main())

"""How the 1.1.0 golden bundles were made (run once, on 2026-11-22; never rerun to update them).

A Keras 3 model using the ops format 1.1 added -- ConvLSTM, Conv1D, LayerNormalization,
Attention, a masked Concatenate (MaskedMerge), masked global average pooling, BatchNormalization,
PReLU, Reshape, a StackedRNNCells stack -- saved as ``.keras``, converted from that file by
the rnnconvert of this release with ``verify=True`` (test vectors computed by Keras), once
with float32 weights (``bundle/``) and once int8 (``bundle-int8/``), and ``expected.npz``
holding inputs and Keras's own ``predict`` outputs for them.

    TF_CPP_MIN_LOG_LEVEL=3 python tests/data/golden/1.1.0/make.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def build():
    import keras as K

    K.utils.set_random_seed(110)
    x = K.Input((6, 7, 2), name="frames")
    tok = K.Input((6,), dtype="int32", name="tokens")
    a = K.layers.ConvLSTM1D(3, 3, padding="same", dilation_rate=2, return_sequences=True, name="convlstm")(x)
    a = K.layers.Reshape((6, 21), name="flat")(a)
    a = K.layers.LayerNormalization(name="ln")(a)
    a = K.layers.Conv1D(5, 3, padding="causal", activation="tanh", name="conv")(a)
    e = K.layers.Embedding(20, 5, mask_zero=True, name="emb")(tok)
    cells = K.layers.StackedRNNCells([K.layers.LSTMCell(5), K.layers.GRUCell(5, reset_after=True)])
    s = K.layers.RNN(cells, return_sequences=True, name="stack")(e)
    att = K.layers.Attention(name="att")([s, a])
    m = K.layers.Concatenate(name="cat")([s, att])
    g = K.layers.GlobalAveragePooling1D(name="pool")(m)
    g = K.layers.BatchNormalization(name="bn")(g)
    y1 = K.layers.Dense(4, activation="softmax", name="probs")(g)
    y2 = K.layers.PReLU(name="prelu")(K.layers.Dense(3, name="head")(g))
    model = K.Model([x, tok], [y1, y2], name="golden_1_1")
    rng = np.random.default_rng(110)
    weights = [rng.normal(0.0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()]
    for i, v in enumerate(model.weights):
        if v.path.endswith("moving_variance"):  # a variance must be positive
            weights[i] = np.abs(weights[i]) + 0.5
    model.set_weights(weights)
    frames = rng.normal(0.0, 1.0, (4, 6, 7, 2)).astype(np.float32)
    tokens = np.array([[5, 3, 2, 0, 0, 0], [0, 0, 4, 1, 7, 2], [3, 0, 0, 6, 2, 0], [1, 2, 3, 4, 5, 6]], np.int32)
    return model, [frames, tokens]


def main() -> None:
    from rnnconvert.converter import convert

    model, inputs = build()
    outputs = [np.asarray(y, np.float32) for y in model.predict(inputs, verbose=0)]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "golden_1_1.keras"
        model.save(src)
        for name, dtype in (("bundle", "float32"), ("bundle-int8", "int8")):
            result = convert(src, HERE / name, verify=True, dtype=dtype, force=True)
            print(result.summary())
    arrays = {f"inputs_{i}": a for i, a in enumerate(inputs)} | {f"outputs_{i}": y for i, y in enumerate(outputs)}
    np.savez(HERE / "expected.npz", **arrays)


if __name__ == "__main__":
    sys.exit(main())

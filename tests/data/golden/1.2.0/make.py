"""How the 1.2.0 golden bundle was made (run once, on 2026-12-06; never rerun to update it).

A Keras 3 model using what format 1.2 added or changed: a stateful LSTM given an
``initial_state`` (``initial_state_rule``, F2), explicit activation parameters (a ``relu``
carries its three, F3), ``Dense(activation="glu")`` declaring U/2 (F5), and attention
pooling over time (``Dense(1) -> Softmax(axis=1)``, a whole-sequence op, F6), saved as
``.keras`` and converted from that file by the rnnconvert of this release with
``verify=True`` (test vectors computed by Keras); ``expected.npz`` holds inputs and Keras's
own first ``predict`` outputs for them.

    TF_CPP_MIN_LOG_LEVEL=3 python tests/data/golden/1.2.0/make.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def build():
    import keras as K

    K.utils.set_random_seed(120)
    x = K.Input(batch_shape=(3, 5, 4), name="frames")
    cond = K.Input(batch_shape=(3, 6), name="cond")
    h0 = K.layers.Dense(6, activation="relu", name="h0")(cond)
    c0 = K.layers.Dense(6, name="c0")(cond)
    s = K.layers.LSTM(6, stateful=True, return_sequences=True, name="lstm")(x, initial_state=[h0, c0])
    g = K.layers.Dense(8, activation="glu", name="glu")(s)
    score = K.layers.Dense(1, name="score")(s)  # (Keras mis-declares Dense(glu)'s width: it feeds nothing)
    w = K.layers.Softmax(axis=1, name="over_time")(score)
    model = K.Model([x, cond], [w, g], name="golden_1_2")
    rng = np.random.default_rng(120)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    frames = rng.normal(0.0, 1.0, (3, 5, 4)).astype(np.float32)
    conds = rng.normal(0.0, 1.0, (3, 6)).astype(np.float32)
    return model, [frames, conds]


def main() -> None:
    from rnnconvert.converter import convert

    model, inputs = build()
    outputs = [np.asarray(y, np.float32) for y in model.predict(inputs, verbose=0)]
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "golden_1_2.keras"
        model.save(src)
        result = convert(src, HERE / "bundle", verify=True, force=True)
        print(result.summary())
    arrays = {f"inputs_{i}": a for i, a in enumerate(inputs)} | {f"outputs_{i}": y for i, y in enumerate(outputs)}
    np.savez(HERE / "expected.npz", **arrays)


if __name__ == "__main__":
    sys.exit(main())

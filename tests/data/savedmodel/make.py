"""Writes tests/data/savedmodel/tiny/: a tf_keras 2.21 SavedModel folder, and Keras's outputs.

Run from the repository root: ``TF_CPP_MIN_LOG_LEVEL=3 python tests/data/savedmodel/make.py``.
``saved_model.pb`` (TensorFlow's traced graphs, ~1 MB, never read by rnnconvert) is left out;
the tests write a stub in its place. ``reference.npz`` holds the inputs and Keras's own
``model(x, training=False)`` outputs.
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import tf_keras as K

HERE = Path(__file__).parent / "tiny"


def main() -> None:
    K.utils.set_random_seed(16)
    inp = K.Input((5, 3), name="frames")
    x = K.layers.LSTM(4, return_sequences=True, name="lstm")(inp)
    x = K.layers.BatchNormalization(name="bn")(x)
    x = K.layers.GRU(3, name="gru")(x)
    out = K.layers.Dense(2, activation="tanh", name="head")(x)
    model = K.Model(inp, out, name="tiny")
    rng = np.random.default_rng(16)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    bn = model.get_layer("bn")
    bn.moving_variance.assign(np.abs(bn.moving_variance.numpy()) + 0.5)
    x = rng.normal(size=(3, 5, 3)).astype(np.float32)
    y = model(x, training=False).numpy()
    shutil.rmtree(HERE, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "m")
        HERE.mkdir(parents=True)
        shutil.copy(Path(tmp) / "m" / "keras_metadata.pb", HERE)
        shutil.copytree(Path(tmp) / "m" / "variables", HERE / "variables")
    np.savez(HERE / "reference.npz", x=x, y=y)


if __name__ == "__main__":
    main()

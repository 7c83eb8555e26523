"""The small Keras models the scoring and Dask tests score, built and converted once per session."""

from __future__ import annotations

import pytest

VOCAB = 30


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Three small Keras models with random weights, each converted to a bundle."""
    keras = pytest.importorskip("keras")
    from rnnconvert.converter import convert

    root = tmp_path_factory.mktemp("scoring_models")
    keras.utils.set_random_seed(7)
    built = {}

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(tokens)
    x = keras.layers.LSTM(6)(x)
    built["text"] = keras.Model(tokens, keras.layers.Dense(3, activation="softmax", name="probs")(x))

    frames = keras.Input((None, 4), name="frames")
    y = keras.layers.LSTM(5)(frames)  # no mask: padding changes the numbers
    built["frames"] = keras.Model(frames, keras.layers.Dense(2, name="y")(y))

    tok = keras.Input((None,), dtype="int32", name="tokens")
    feats = keras.Input((3,), name="feats")
    h = keras.layers.GRU(4)(keras.layers.Embedding(VOCAB, 5, mask_zero=True)(tok))
    h = keras.layers.Concatenate()([h, keras.layers.Dense(4, activation="tanh")(feats)])
    outs = [keras.layers.Dense(2, name="a")(h), keras.layers.Dense(1, activation="sigmoid", name="b")(h)]
    built["multi"] = keras.Model([tok, feats], outs)

    bundles = {}
    for name, model in built.items():
        convert(model, root / name)
        bundles[name] = str(root / name)
    return built, bundles

"""The padding analysis behind --bucket, on Keras models: where it says "padding-invariant", the
numbers with each batch padded to its own longest row equal full padding (and Keras); where it
refuses, padding does change the numbers (so the refusal is not just caution)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_parity
from helpers import LazyModule

from rnnconvert.runtime import load, pad_sequences
from rnnconvert.scoring.padding import analyse

keras = LazyModule("keras")  # imported by the first test that uses it
pytestmark = pytest.mark.keras
VOCAB = 20


def _text_input():
    return keras.Input((None,), dtype="int32", name="tokens")


def _bidirectional_pooled():
    t = _text_input()
    x = keras.layers.Embedding(VOCAB, 6, mask_zero=True)(t)
    x = keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True))(x)
    x = keras.layers.GlobalAveragePooling1D()(x)  # mask-aware
    return keras.Model(t, keras.layers.Dense(2)(x))


def _time_distributed_backwards():
    f = keras.Input((None, 3), name="frames")
    x = keras.layers.Masking(0.0)(f)
    x = keras.layers.TimeDistributed(keras.layers.Dense(4, activation="relu"))(x)
    x = keras.layers.LSTM(4, return_sequences=True)(x)
    return keras.Model(f, keras.layers.LSTM(4, go_backwards=True)(x))


def _backwards_sequence_into_masked_lstm():
    t = _text_input()
    x = keras.layers.Embedding(VOCAB, 6, mask_zero=True)(t)
    x = keras.layers.LSTM(4, return_sequences=True, go_backwards=True)(x)  # steps come out reversed...
    return keras.Model(t, keras.layers.LSTM(4)(x))  # ... but the mask is not: real steps meet padding


def _max_pooled():
    t = _text_input()
    x = keras.layers.Embedding(VOCAB, 6, mask_zero=True)(t)
    x = keras.layers.LSTM(5, return_sequences=True)(x)
    x = keras.layers.GlobalMaxPooling1D()(x)  # ignores the mask: padding steps count
    return keras.Model(t, x)


def _conv():
    t = _text_input()
    x = keras.layers.Embedding(VOCAB, 6)(t)  # no mask
    x = keras.layers.Conv1D(4, 3, padding="same")(x)
    return keras.Model(t, keras.layers.LSTM(3)(x))


def _rows(seed: int, frames: bool) -> list:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 15, size=64)
    if frames:
        return [rng.normal(size=(n, 3)).astype(np.float32) + 5 for n in lengths]  # never all zero
    return [rng.integers(1, VOCAB, size=n) for n in lengths]


@pytest.mark.parametrize("build", [_bidirectional_pooled, _time_distributed_backwards])
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_invariant_models_give_the_same_numbers_padded_per_batch(build, padding, tmp_path):
    from rnnconvert.converter import convert

    keras.utils.set_random_seed(3)
    model = build()
    convert(model, tmp_path / "b")
    ours = load(tmp_path / "b")
    assert analyse(ours.doc, 0.0).ok, analyse(ours.doc, 0.0).reason
    rows = _rows(1, frames=ours.inputs[0].dtype.startswith("float"))
    dtype = "float32" if ours.inputs[0].dtype.startswith("float") else "int32"
    full = pad_sequences(rows, padding=padding, dtype=dtype, maxlen=20)
    y_full = ours.predict(full)
    order = np.argsort([len(r) for r in rows], kind="stable")
    y_bucketed = np.empty_like(y_full)
    for part in np.array_split(order, 4):
        y_bucketed[part] = ours.predict(pad_sequences([rows[k] for k in part], padding=padding, dtype=dtype))
    np.testing.assert_array_equal(y_bucketed, y_full)
    # Keras called eagerly: predict() retraces TimeDistributed at a new length and fails in TF's pfor.
    assert_parity(y_full, np.asarray(model(full)), f"{build.__name__}, {padding}")


@pytest.mark.parametrize("build", [_max_pooled, _conv, _backwards_sequence_into_masked_lstm])
def test_refused_models_do_depend_on_padding(build, tmp_path):
    from rnnconvert.converter import convert

    keras.utils.set_random_seed(4)
    model = build()
    convert(model, tmp_path / "b")
    ours = load(tmp_path / "b")
    verdict = analyse(ours.doc, 0.0)
    assert not verdict.ok and "depends on the padding" in verdict.reason
    rows = _rows(2, frames=False)[:8]
    # Keras called eagerly (predict would retrace at every row's length)
    padded = np.asarray(model(pad_sequences(rows, maxlen=25), training=False))
    alone = np.concatenate([np.asarray(model(np.asarray([r], np.int32), training=False)) for r in rows])
    assert np.abs(padded - alone).max() > 1e-4  # Keras itself: padding changes the numbers

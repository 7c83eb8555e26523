"""rnnconvert.runtime.pad_sequences against keras.utils.pad_sequences, live, on random cases."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import LazyModule

from rnnconvert.runtime import pad_sequences

keras = LazyModule("keras")  # imported by the first test that uses it
pytestmark = pytest.mark.keras


def _outcome(fn, *args, **kwargs):
    """The array, or the fact of a ValueError (ours is an InputError, a ValueError too)."""
    try:
        return fn(*args, **kwargs)
    except ValueError:
        return "ValueError"


def _same(ours, theirs, case) -> None:
    if isinstance(theirs, str) or isinstance(ours, str):
        assert ours == theirs, case
        return
    assert ours.dtype == theirs.dtype, case
    assert ours.shape == theirs.shape, case
    np.testing.assert_array_equal(ours, theirs, err_msg=str(case))


def _random_case(rng: np.random.Generator) -> tuple[list, dict]:
    n = int(rng.integers(0, 6))
    step = () if rng.random() < 0.6 else tuple(int(d) for d in rng.integers(1, 4, size=int(rng.integers(1, 3))))
    seqs = []
    for _ in range(n):
        length = int(rng.integers(0, 7))
        values = rng.normal(size=(length, *step)) * 5
        seqs.append(values.tolist() if rng.random() < 0.5 else values)
    kwargs: dict = {}
    if rng.random() < 0.7:
        kwargs["maxlen"] = int(rng.integers(1, 8))
    if rng.random() < 0.7:
        kwargs["dtype"] = str(rng.choice(["int32", "int64", "float32", "float64", "int8"]))
    if rng.random() < 0.7:
        kwargs["padding"] = str(rng.choice(["pre", "post"]))
    if rng.random() < 0.7:
        kwargs["truncating"] = str(rng.choice(["pre", "post"]))
    if rng.random() < 0.6:
        kwargs["value"] = float(rng.choice([0.0, -1.0, 2.5, 7.0]))
    return seqs, kwargs


def test_pad_sequences_matches_keras_on_random_cases():
    rng = np.random.default_rng(1234)
    for _ in range(400):
        seqs, kwargs = _random_case(rng)
        theirs = _outcome(keras.utils.pad_sequences, seqs, **kwargs)
        ours = _outcome(pad_sequences, seqs, **kwargs)
        _same(ours, theirs, (seqs, kwargs))


@pytest.mark.parametrize(
    "seqs, kwargs",
    [
        ([[1, 2, 3], [], [4]], {}),
        ([[], []], {}),
        ([[], []], {"maxlen": 3, "padding": "post"}),
        ([[1, 2, 3, 4, 5], [6]], {"maxlen": 2, "truncating": "post", "padding": "post"}),
        ([[1, 2, 3, 4, 5], [6]], {"maxlen": 2, "truncating": "pre", "value": 9}),
        ([[1, 2], [3]], {"padding": "middle"}),
        ([[1, 2], [3]], {"truncating": "middle", "maxlen": 1}),
        ([[], []], {"padding": "middle"}),  # never looked at for empty sequences
        ([[1, 2], [3]], {"maxlen": 0}),
        ([[[1, 2]], [[3, 4, 5]]], {}),  # steps of different shapes
        ([[1.5, 2.7], [-3.9]], {"dtype": "int32"}),  # cast, truncating toward zero
        ([[1, 2], [3]], {"dtype": "float32", "value": np.nan}),
        ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
        ([[1, 2], [3]], {"value": "x"}),  # a string value needs dtype=object
        ([5, [1]], {}),  # a non-iterable sequence
        (np.arange(12).reshape(3, 4), {"maxlen": 3, "padding": "post"}),
        ([np.zeros((2, 3)), np.ones((4, 3))], {"dtype": "float32", "padding": "post", "value": -1}),
    ],
)
def test_pad_sequences_matches_keras_on_edge_cases(seqs, kwargs):
    theirs = _outcome(keras.utils.pad_sequences, seqs, **kwargs)
    ours = _outcome(pad_sequences, seqs, **kwargs)
    if isinstance(theirs, np.ndarray) and theirs.dtype == object:
        assert ours.tolist() == theirs.tolist()
        return
    if isinstance(theirs, np.ndarray) and theirs.dtype.kind == "f":
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        theirs, ours = np.nan_to_num(theirs), np.nan_to_num(ours)
    _same(ours, theirs, (seqs, kwargs))

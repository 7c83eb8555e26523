"""Shared fixtures. Keras is imported once per session and every Keras model is
built, saved and run once per session (see ``keras_zoo``)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest


def tolerance(expected: np.ndarray) -> float:
    """The parity bound every Keras comparison uses: 1e-5 * max(1, max|y|)."""
    finite = np.asarray(expected)[np.isfinite(expected)]
    return 1e-5 * max(1.0, float(np.max(np.abs(finite))) if finite.size else 1.0)


def assert_parity(ours, theirs, what: str = "") -> None:
    """Our outputs equal Keras's within ``tolerance``; NaN/Inf in the same places."""
    ours_l = ours if isinstance(ours, list) else [ours]
    theirs_l = theirs if isinstance(theirs, list) else [theirs]
    assert len(ours_l) == len(theirs_l), f"{what}: {len(ours_l)} outputs, Keras has {len(theirs_l)}"
    for k, (a, e) in enumerate(zip(ours_l, theirs_l)):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape, f"{what} output {k}: shape {a.shape}, Keras {e.shape}"
        assert a.dtype == np.float32, f"{what} output {k}: dtype {a.dtype}"
        np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg=f"{what} output {k}: NaN positions differ")
        fin = np.isfinite(e)
        np.testing.assert_array_equal(a[~fin & ~np.isnan(e)], e[~fin & ~np.isnan(e)])
        tol = tolerance(e)
        err = float(np.max(np.abs(a[fin] - e[fin]))) if fin.any() else 0.0
        assert err <= tol, f"{what} output {k}: max |ours - keras| = {err:.3g} > {tol:.3g}"


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    from keras_zoo import Zoo

    return Zoo(tmp_path_factory.mktemp("zoo"))

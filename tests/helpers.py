"""Small helpers shared by the test modules and the Keras cases (``cases_*.py``).

Keras is imported lazily: importing this module costs nothing for the tests that need no TensorFlow.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def seq(rng: np.random.Generator, b: int, t: int, d: int) -> np.ndarray:
    """A float32 (batch, time, features) sequence of N(0, 1) values."""
    return rng.normal(0, 1, (b, t, d)).astype(np.float32)


def conv_case(
    rng: np.random.Generator,
    n: int,
    *,
    padding: str,
    stride: int,
    dilation: int,
    act: dict,
    use_bias: bool = True,
    cf: bool = False,
    k: int = 3,
    c_in: int = 3,
    c_out: int = 5,
    size: int = 7,
    batch: int = 2,
) -> tuple[np.ndarray, dict, dict]:
    """An n-D convolution's (x, config, weights) for the fast-path tests: a k^n kernel, unequal
    spatial sizes (size, size + 1, ...), channels first or last."""
    weights = {"kernel": rng.normal(0, 0.5, (*[k] * n, c_in, c_out)).astype(np.float32)}
    if use_bias:
        weights["bias"] = rng.normal(0, 0.5, c_out).astype(np.float32)
    config = {
        "strides": [stride] * n,
        "padding": padding,
        "dilation_rate": [dilation] * n,
        "groups": 1,
        "data_format": "channels_first" if cf else "channels_last",
        "activation": act,
    }
    spatial = [size + a for a in range(n)]
    x = rng.normal(0, 1, (batch, c_in, *spatial) if cf else (batch, *spatial, c_in)).astype(np.float32)
    return x, config, weights


def copy_doc(doc: Any) -> Any:
    """A deep copy of a JSON-like value (a bundle document, a Keras config) through pickle:
    the same as ``copy.deepcopy`` for dicts, lists and scalars, at a fraction of its cost (the
    fuzz tests copy a document per mutant)."""
    return pickle.loads(pickle.dumps(doc, pickle.HIGHEST_PROTOCOL))


def flat(xs: Any) -> list:
    """Nested lists/tuples flattened in order; a lone non-list value becomes ``[value]``."""
    out: list = []
    for x in xs if isinstance(xs, (list, tuple)) else [xs]:
        out.extend(flat(x) if isinstance(x, (list, tuple)) else [x])
    return out


def as_list(y: Any) -> list:
    """A model's output(s) as a list (single outputs come back bare from ``predict``)."""
    return list(y) if isinstance(y, (list, tuple)) else [y]


def one_or_many(xs: list) -> Any:
    """What ``predict`` takes or returns: the lone array of a one-element list, else the list."""
    return xs[0] if len(xs) == 1 else xs


def reset_layer_states(layer: Any) -> None:
    """Zero a stateful layer's carried states, Bidirectional halves and stacked cells included."""
    halves = [getattr(layer, k, None) for k in ("forward_layer", "backward_layer")]
    if any(h is not None for h in halves):
        for h in halves:
            reset_layer_states(h)
        return
    if not getattr(layer, "stateful", False):
        return
    try:
        layer.reset_states()
    except AttributeError:
        # Keras 3.15's RNN.reset_state assigns to each entry of `states`, which for stacked
        # cells is a list per cell: reset the variables themselves.
        for v in flat(layer.states):
            v.assign(np.zeros(v.shape, v.dtype))


def reset_states(model: Any) -> None:
    """``reset_layer_states`` on every layer of ``model``."""
    for layer in model.layers:
        reset_layer_states(layer)


def save_every_format(model: Any, era: str, directory: Path, *, json_for_keras3: bool = True) -> dict[str, tuple]:
    """Save ``model`` in every file format ``era`` writes a whole model to:
    ``{"keras" | "h5" | "json": (model file, weights file or None)}``.

    Keras 3: ``.keras`` zip, legacy HDF5 and ``to_json`` + ``.weights.h5``; tf_keras: HDF5 and
    ``to_json`` + HDF5 weights. ``json_for_keras3=False`` leaves out Keras 3's JSON pair.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if era == "keras3":
            model.save(directory / "m.keras")
            files["keras"] = (directory / "m.keras", None)
        model.save(directory / "m.h5")
        files["h5"] = (directory / "m.h5", None)
        if era != "keras3" or json_for_keras3:
            weights = directory / ("w.weights.h5" if era == "keras3" else "w.h5")
            (directory / "a.json").write_text(model.to_json())
            model.save_weights(weights)
            files["json"] = (directory / "a.json", weights)
    return files


def convert_every_format(model: Any, era: str, directory: Path, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """Yield ``(file name, loaded runtime model)`` for each file of ``save_every_format``."""
    from rnnconvert.converter import convert
    from rnnconvert.runtime import load

    for k, (mf, wf) in enumerate(save_every_format(model, era, directory, **kwargs).values()):
        convert(mf, directory / f"b{k}", weights=wf)
        yield mf.name, load(directory / f"b{k}")


class LazyModule:
    """A module imported on first attribute access, inside a test rather than at collection
    (``make test-fast`` collects every file without importing TensorFlow); a missing module
    skips the test that touches it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import pytest

        if attr.startswith("_") or attr.startswith("pytest"):  # pytest probing module globals at collection
            raise AttributeError(attr)

        return getattr(pytest.importorskip(self._name), attr)

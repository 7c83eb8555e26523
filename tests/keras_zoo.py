"""Keras models built live, saved in every file format, with Keras's own outputs.

A *case* is a function ``build(K, era, rng) -> (model, inputs)`` where ``K`` is the
``keras`` (3.x) or ``tf_keras`` (2.x) module. ``Zoo.get(case, era)`` builds it once per
session, randomises its weights (so biases are non-zero), saves it as every file format
that era can write, and records Keras's outputs on the inputs (``keras_call``: the eager
``model(x, training=False)``, which agrees with ``model.predict`` to ~3e-7 relative at a
sixth of the cost; ``predict`` stays for the tests about stateful models).

The files and outputs are cached on disk (see ``cache_dir``), keyed by the Keras, tf_keras,
TensorFlow and NumPy versions and the source of the case's module, this module and
``helpers.py``: a second run loads them instead of asking Keras again. ``Built.model`` is
then rebuilt on first use, from the same seed.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import inspect
import json
import os
import re
import shutil
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from helpers import flat, save_every_format

ERAS = ("keras3", "tf_keras")
FORMATS = {"keras3": ("keras", "h5", "json"), "tf_keras": ("h5", "json")}
CACHE_ENV = "RNNCONVERT_TEST_CACHE"
CACHE_FORMAT = 1  # bump when the cache layout changes


def keras_module(era: str):
    if era == "keras3":
        import keras

        return keras
    import tf_keras

    skip_gradient_graphs()
    return tf_keras


def skip_gradient_graphs() -> None:
    """tf_keras's LSTM and GRU, called on symbolic tensors (a functional model being built),
    put their CPU/GPU backend-selection function into the model's graph *with its gradient
    graphs*: training machinery, two thirds of building a masked tf_keras model (measured:
    7.7 s -> 2.7 s for masks_through_layers_around_rnns). The tests register the function
    without them. What a test reads is unchanged -- configs, weights, saved files and eager
    outputs; ``test_zoo_cache`` checks a model built both ways. Idempotent."""
    from tf_keras.src.layers.rnn import gru_lstm_utils

    if getattr(gru_lstm_utils.function_register, "skips_gradients", False):
        return

    def function_register(func, *args, **kwargs):
        concrete = func.get_concrete_function(*args, **kwargs)
        concrete.add_to_graph()
        return concrete

    function_register.skips_gradients = True  # type: ignore[attr-defined]
    function_register.original = gru_lstm_utils.function_register  # type: ignore[attr-defined]
    gru_lstm_utils.function_register = function_register


# Token rows covering every padding pattern: post, pre, interior, fully masked, unmasked.
PADDED_IDS = np.array(
    [[5, 3, 2, 0, 0, 0], [0, 0, 4, 1, 7, 2], [3, 0, 0, 6, 2, 0], [0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]],
    dtype=np.int32,
)

CaseFn = Callable[[Any, str, np.random.Generator], tuple[Any, list[np.ndarray]]]
CASES: dict[str, CaseFn] = {}


def case(name: str):
    def deco(fn: CaseFn) -> CaseFn:
        CASES[name] = fn
        return fn

    return deco


def randomize(model, rng: np.random.Generator, scale: float = 0.4) -> None:
    """Replace every weight by N(0, scale): non-zero biases, nothing hides behind zeros."""
    model.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32) for w in model.get_weights()])


def predict(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Keras's ``model.predict``: for stateful models (it carries their states) and where
    ``predict`` itself is the subject. Elsewhere use ``keras_call``."""
    y = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    ys = y if isinstance(y, list) else [y]
    return [np.asarray(a, dtype=np.float32) for a in ys]


def keras_call(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The test oracle: Keras's eager ``model(x, training=False)`` on the whole batch."""
    y = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    ys = flat(list(y) if isinstance(y, (list, tuple)) else [y])
    return [np.asarray(a.numpy() if hasattr(a, "numpy") else a, dtype=np.float32) for a in ys]


def eager(model, x):
    """``keras_call`` shaped like ``model.predict(x, verbose=0)``: ``x`` an array or a list of
    them; one array back for a one-output model, else a list."""
    ys = keras_call(model, list(x) if isinstance(x, (list, tuple)) else [x])
    return ys[0] if len(ys) == 1 else ys


# ----------------------------------------------------------------------------------------
# The on-disk cache.


def cache_dir() -> Path | None:
    """Where built cases are cached, or None for no cache.

    ``RNNCONVERT_TEST_CACHE``: unset -> ``<repo>/.test-cache`` unless ``CI=true`` (CI builds
    fresh); ``0``/``off``/``false`` -> off; ``1``/``on``/``true`` -> on even in CI; anything
    else is the cache directory itself.
    """
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in ("0", "off", "false", "no"):
        return None
    if value and value.lower() not in ("1", "on", "true", "yes"):
        return Path(value)
    if not value and os.environ.get("CI", "").lower() in ("true", "1"):
        return None
    return Path(__file__).resolve().parent.parent / ".test-cache"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _source(path: str | None) -> bytes:
    return Path(path).read_bytes() if path else b""


def cache_key(name: str, era: str, fn: CaseFn | None = None) -> str:
    """Hash of everything a built case depends on: versions and the sources that build it."""
    fn = fn or CASES[name]
    module = sys.modules.get(fn.__module__)
    parts = [
        f"format={CACHE_FORMAT}",
        f"case={name}",
        f"era={era}",
        *(f"{d}={_version(d)}" for d in ("keras", "tf-keras", "tensorflow-cpu", "tensorflow", "numpy", "h5py")),
    ]
    h = hashlib.sha256("\n".join(parts).encode())
    for path in (inspect.getsourcefile(fn), module and getattr(module, "__file__", None), __file__):
        h.update(_source(path))
    h.update(_source(str(Path(__file__).with_name("helpers.py"))))
    return h.hexdigest()[:20]


@dataclass
class Built:
    name: str
    era: str
    inputs: list[np.ndarray]
    expected: list[np.ndarray]
    files: dict[str, tuple[Path, Path | None]] = field(default_factory=dict)  # format -> (model, weights)
    _model: Any = None
    _rebuild: Callable[[], Any] | None = None

    @property
    def model(self) -> Any:
        """The live Keras model (rebuilt from the same seed when the case came from the cache)."""
        if self._model is None:
            assert self._rebuild is not None
            self._model = self._rebuild()
        return self._model


class Zoo:
    """Builds cases on demand, once per session; ``cache`` (a directory or None) persists them."""

    def __init__(self, root: Path, cache: Path | None = None):
        self.root = root
        self.cache = cache
        self._built: dict[tuple[str, str], Built] = {}
        self.keras_builds = 0  # cases built with Keras this session (the cache test reads it)

    def get(self, name: str, era: str) -> Built:
        key = (name, era)
        if key not in self._built:
            self._built[key] = self._get(name, era)
        return self._built[key]

    def _make(self, name: str, era: str) -> tuple[Any, list[np.ndarray]]:
        K = keras_module(era)
        seed = zlib.crc32(f"{name}/{era}".encode())  # stable across processes, unlike hash()
        rng = np.random.default_rng(seed)
        K.utils.set_random_seed(seed % 10000)
        model, inputs = CASES[name](K, era, rng)
        return model, [np.asarray(x) for x in inputs]

    def _get(self, name: str, era: str) -> Built:
        if self.cache is None:
            return self._build(name, era, self.root / f"{name}-{era}")
        d = self.cache / f"{name}-{era}-{cache_key(name, era)}"
        self.cache.mkdir(parents=True, exist_ok=True)
        # One process builds a case at a time (pytest-xdist workers share the cache): the
        # others wait on the lock, then load what it wrote.
        with open(self.cache / f".{name}-{era}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._get_locked(name, era, d)

    def _get_locked(self, name: str, era: str, d: Path) -> Built:
        if (d / "meta.json").is_file():
            try:
                return self._load(name, era, d)
            except Exception:  # a damaged entry (truncated, hand-edited): build it again
                shutil.rmtree(d, ignore_errors=True)
        tmp = self.cache / f".{d.name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        built = self._build(name, era, tmp)
        _write_reference(tmp, built)
        try:
            tmp.rename(d)
        except OSError:  # another process cached it first
            shutil.rmtree(tmp, ignore_errors=True)
        for old in self.cache.glob(f"{name}-{era}-*"):  # entries of this case under other keys
            if old != d and re.fullmatch(r"[0-9a-f]{20}", old.name[len(f"{name}-{era}-") :]):
                shutil.rmtree(old, ignore_errors=True)
        return self._load(name, era, d, built.model)

    def _build(self, name: str, era: str, d: Path) -> Built:
        model, inputs = self._make(name, era)
        self.keras_builds += 1
        expected = keras_call(model, inputs)
        files = save_every_format(model, era, d)
        return Built(name, era, inputs, expected, files, _model=model)

    def _load(self, name: str, era: str, d: Path, model: Any = None) -> Built:
        meta = json.loads((d / "meta.json").read_text())
        with np.load(d / "reference.npz") as z:
            inputs = [z[f"input_{i}"] for i in range(meta["inputs"])]
            expected = [z[f"output_{i}"] for i in range(meta["outputs"])]
        files = {fmt: (d / m, d / w if w else None) for fmt, (m, w) in meta["files"].items()}
        if not all(p.is_file() for pair in files.values() for p in pair if p is not None):
            raise OSError(f"{d}: a cached file is missing")
        return Built(name, era, inputs, expected, files, _model=model, _rebuild=lambda: self._make(name, era)[0])


def _write_reference(d: Path, built: Built) -> None:
    arrays = {f"input_{i}": x for i, x in enumerate(built.inputs)}
    arrays.update({f"output_{i}": y for i, y in enumerate(built.expected)})
    np.savez(d / "reference.npz", **arrays)
    files = {fmt: (m.name, w.name if w else None) for fmt, (m, w) in built.files.items()}
    meta = {"case": built.name, "era": built.era, "inputs": len(built.inputs), "outputs": len(built.expected)}
    (d / "meta.json").write_text(json.dumps({**meta, "files": files}, indent=1))
    for f in d.iterdir():
        f.chmod(0o444)  # shared by later runs: a test writing to one fails (unless root) instead of poisoning it


def _load_case_modules() -> None:
    """Cases of other topics live in ``tests/cases_*.py``; importing them registers them."""
    import importlib
    import sys

    here = Path(__file__).parent
    if str(here) not in sys.path:
        sys.path.insert(0, str(here))
    for path in sorted(here.glob("cases_*.py")):
        importlib.import_module(path.stem)


_load_case_modules()

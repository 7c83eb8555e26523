"""The converter's optional imports: h5py and jsonschema to convert, Keras for ``--verify``.

A machine with the runtime-only install (NumPy and this package) gets one
:class:`~rnnconvert.errors.MissingDependencyError` naming the ``pip install`` command,
not a ``ModuleNotFoundError`` traceback from deep inside a reader.

Keras is imported only to compute reference outputs (``verify=True`` and in-memory
models). TensorFlow's C++ logging reads ``TF_CPP_MIN_LOG_LEVEL`` when TensorFlow is
first imported, so it is set here, before that import, unless the user set it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, MissingDependencyError

#: What converting a file needs beyond the runtime's NumPy: module -> pip package.
CONVERT_DEPENDENCIES = {"h5py": "h5py", "jsonschema": "jsonschema"}

Predictor = Callable[[list[list[np.ndarray]]], list[list[np.ndarray]]]


def _importable(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_converter_dependencies() -> None:
    """Raise one MissingDependencyError naming every package conversion needs and lacks."""
    missing = [pip for module, pip in CONVERT_DEPENDENCIES.items() if not _importable(module)]
    if missing:
        raise MissingDependencyError(
            f"converting a Keras model needs {' and '.join(missing)}, not installed here "
            f"(a runtime-only install runs bundles): pip install {' '.join(missing)}"
        )


def quiet_tensorflow_logs() -> None:
    """Ask TensorFlow's C++ logging for fatal messages only -- effective only before TF is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 nowhere, for the ``with`` block.

    TensorFlow prints lines (oneDNN, CUDA probes) before its logging is initialised,
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says; only the file descriptor can keep them off a
    terminal. Python's own errors still reach the caller as exceptions.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded, pythonw)
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def import_keras(major: str) -> Any:
    """``keras`` (major "3") or ``tf_keras`` (major "2"), with TensorFlow's logs quieted first."""
    module, pip = ("keras", "tensorflow") if major == "3" else ("tf_keras", "tf-keras")
    quiet_tensorflow_logs()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"--verify loads the model with Keras to compare against, and {module} cannot be imported "
            f"({exc}): pip install {pip}"
        ) from None


def model_predictor(model: Any) -> Predictor:
    """Keras's own outputs for a list of calls (stateful models: in order, from reset states)."""

    def run(calls: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        for layer in getattr(model, "layers", []):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()
        outs = []
        for ins in calls:
            # predict_on_batch, not predict: Keras 3's predict reuses a function traced on an
            # earlier call's sequence length, and TimeDistributed then returns the wrong number
            # of steps (predict on 9 steps, then on 6: 3 steps out). The vectors are one small batch.
            y = model.predict_on_batch(ins if len(ins) > 1 else ins[0])
            ys = list(y) if isinstance(y, (list, tuple)) else [y]
            outs.append([np.asarray(a) for a in ys])
        return outs

    return run


def file_predictor(path: Path, weights: Any, keras_version: str | None) -> tuple[Predictor, str | None]:
    """Load the source file with the Keras that wrote it (Keras 3 or tf_keras), safely."""
    major = (keras_version or "3").split(".")[0]
    if major not in ("2", "3"):
        raise InputError(f"--verify: Keras {keras_version} cannot be installed here to verify against")
    K = import_keras(major)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if weights is not None:
                model = K.models.model_from_json(Path(path).read_text())
                model.load_weights(weights)
            elif major == "3":
                model = K.saving.load_model(path, compile=False, safe_mode=True)
            else:
                model = K.models.load_model(path, compile=False)
    except Exception as exc:  # Keras's own loading errors
        raise InputError(f"--verify: Keras could not load {path} ({type(exc).__name__}: {exc})") from None
    return model_predictor(model), keras_version


__all__ = [
    "require_converter_dependencies",
    "import_keras",
    "quiet_tensorflow_logs",
    "native_stderr_silenced",
    "model_predictor",
    "file_predictor",
]

"""Shared fixtures and the ``keras`` marker.

Keras is imported once per session and every Keras model of the zoo is built, saved and run
once per session, or loaded from the on-disk cache (see ``keras_zoo``).

Every test that needs TensorFlow is marked ``keras`` automatically: one that uses the ``zoo``
fixture, or whose function, fixtures or the module-level functions they call (followed through
the module) import ``tensorflow``/``keras``/``tf_keras`` or call the zoo's Keras helpers.
``pytest -m "not keras"`` (``make test-fast``) runs the rest; there, a test that imports
TensorFlow anyway fails and names itself.
"""

from __future__ import annotations

import ast
import gc
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One TensorFlow thread pool thread per worker: `make test` runs as many workers as cores, and
    # the zoo's models are small (measured: ~7% less CPU than TF's default of one thread per core).
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import numpy as np
import pytest

# Python's cyclic garbage collector, at its default thresholds, runs a full collection every few
# hundred thousand allocations once TensorFlow is imported, and each one walks TensorFlow's and
# Keras's whole heap (~340,000 objects): the fuzz tests, which build big nested configs, spent
# 85% of their time there (measured: 6.9 s -> 0.7 s for 100 mutations of one file). Young
# generations are collected as before; full collections become rare.
gc.set_threshold(50_000, 20, 100)

KERAS_MODULES = {"tensorflow", "keras", "tf_keras"}
# Names from the test helpers that take or make a live Keras model.
KERAS_NAMES = {
    "keras_module",
    "keras_call",
    "eager",
    "predict",
    "randomize",
    "Zoo",
    "save_every_format",
    "convert_every_format",
    "reset_states",
    "reset_layer_states",
}
KERAS_FIXTURES = {"zoo", "zoo_bundle", "zoo_in_memory", "zoo_keras_vectors"}


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


def _run_dir(tmp_path_factory) -> Path:
    """A directory shared by every process of this run: pytest-xdist's workers each get
    ``<basetemp>/popen-gwN`` and share its parent; a run without xdist has its own basetemp."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """The zoo, cached on disk (``keras_zoo.cache_dir``). With the cache off (``CI=true``),
    the processes of one xdist run still share what they build, in a directory of this run
    that starts empty: every case is built fresh, once per run rather than once per worker."""
    from keras_zoo import Zoo, cache_dir

    cache = cache_dir()
    if cache is None and os.environ.get("PYTEST_XDIST_WORKER"):
        cache = _run_dir(tmp_path_factory) / "zoo-cache"
    return Zoo(tmp_path_factory.mktemp("zoo"), cache)


@pytest.fixture(scope="session")
def zoo_bundle(zoo, tmp_path_factory):
    """``zoo_bundle(case, era, fmt)``: the ConversionResult of that case's ``fmt`` file, converted
    once per session and shared (test_parity, test_long_sequences and test_stream_rules convert
    the same files). The bundle is read-only by agreement: load it, never write into it."""
    from rnnconvert.converter import convert

    root = tmp_path_factory.mktemp("zoo-bundles")
    done: dict = {}

    def get(case: str, era: str, fmt: str):
        key = (case, era, fmt)
        if key not in done:
            model_file, weights_file = zoo.get(case, era).files[fmt]
            done[key] = convert(model_file, root / f"{case}-{era}-{fmt}", weights=weights_file)
        return done[key]

    return get


@pytest.fixture(scope="session")
def zoo_in_memory(zoo, tmp_path_factory):
    """``zoo_in_memory(case, era)``: the ConversionResult of that case's live Keras model
    converted from memory (Keras computes the test vectors: the slow part), once per session
    and shared (test_js_runtime checks every case; test_parity, test_vector_sensitivity and
    test_conv_lstm_cells some). A conversion error is raised again to every test that asks.
    The bundle is read-only by agreement."""
    from rnnconvert.converter import convert

    root = tmp_path_factory.mktemp("zoo-in-memory")
    return _once_per_case(lambda case, era: convert(zoo.get(case, era).model, root / f"{case}-{era}"))


@pytest.fixture(scope="session")
def zoo_keras_vectors(zoo, tmp_path_factory):
    """``zoo_keras_vectors(case, era)``: the case's live Keras model converted from memory, with
    test vectors whose expected outputs are Keras's eager ``model(x, training=False)`` (states
    reset first, calls in order) instead of ``predict_on_batch``, which retraces a graph per
    model (~10 CPU s for some tf_keras models; the eager call agrees to ~3e-7 relative). For
    tests whose subject is not the in-memory conversion (the JS runtime checks every case
    against these vectors); ``zoo_in_memory`` keeps the converter's own path. Once per session;
    a conversion error is raised again to every test that asks. Read-only by agreement."""
    from unittest import mock

    from helpers import reset_states
    from keras_zoo import keras_call

    from rnnconvert.converter import convert

    root = tmp_path_factory.mktemp("zoo-keras-vectors")

    def eager_predictor(model):
        def run(calls):
            reset_states(model)
            return [keras_call(model, ins) for ins in calls]

        return run

    def build(case: str, era: str):
        with mock.patch("rnnconvert.converter.model_predictor", eager_predictor):
            return convert(zoo.get(case, era).model, root / f"{case}-{era}")

    return _once_per_case(build)


def _once_per_case(build):
    """``get(case, era)``: ``build(case, era)`` once per session; its error, if it raised, is
    raised again to every test that asks."""
    done: dict = {}

    def get(case: str, era: str):
        key = (case, era)
        if key not in done:
            try:
                done[key] = build(case, era)
            except Exception as exc:
                done[key] = exc
        if isinstance(done[key], Exception):
            raise done[key]
        return done[key]

    return get


# ---------------------------------------------------------------------------------------------
# pytest-xdist (`make test` runs `-n 2 --dist loadgroup`): every test of one zoo case runs in the
# worker that builds its Keras models, and the other tests of a module stay together (its
# module-scoped fixtures are built once). The groups come from the node ids, in the controller:
# xdist's own `xdist_group` marks do not reach the scheduler under pytest 9.2 (it rewrites
# `item._nodeid`, which pytest no longer reads).


def xdist_group(nodeid: str) -> str:
    """The scheduling group of a test: ``zoo-<case>`` when a parameter is a zoo case's name,
    else its module."""
    from keras_zoo import CASES

    path, _, rest = nodeid.partition("::")
    if rest.endswith("]") and "[" in rest:
        for token in rest[rest.index("[") + 1 : -1].split("-"):
            if token in CASES:
                return f"zoo-{token}"
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ZooScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return ZooScheduling(config, log)


# ---------------------------------------------------------------------------------------------
# Auto-marking the tests that need TensorFlow.


class _ModuleScan:
    """Which top-level functions of one source file need Keras (by what they import and call)."""

    def __init__(self, path: Path):
        tree = ast.parse(path.read_text(), str(path))
        self.functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for n in cls.body:
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions.setdefault(f"{cls.name}.{n.name}", n)
        self._memo: dict[str, bool] = {}

    def needs_keras(self, name: str) -> bool:
        if name not in self._memo:
            self._memo[name] = False  # recursion guard
            node = self.functions.get(name)
            self._memo[name] = node is not None and self._node_needs_keras(node)
        return self._memo[name]

    def _node_needs_keras(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import) and any(a.name.split(".")[0] in KERAS_MODULES for a in sub.names):
                return True
            if isinstance(sub, ast.ImportFrom) and (sub.module or "").split(".")[0] in KERAS_MODULES:
                return True
            if isinstance(sub, ast.Name) and (
                sub.id in KERAS_NAMES or (sub.id in self.functions and self.needs_keras(sub.id))
            ):
                return True
        return False


_SCANS: dict[Path, _ModuleScan] = {}


def _function_needs_keras(func) -> bool:
    func = getattr(func, "__wrapped__", func)
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    path = Path(code.co_filename)
    if path.suffix != ".py" or not path.is_file():
        return False
    if path not in _SCANS:
        _SCANS[path] = _ModuleScan(path)
    qual = func.__qualname__
    scan = _SCANS[path]
    return scan.needs_keras(qual) or scan.needs_keras(qual.rsplit(".", 1)[-1])


def needs_keras(item: pytest.Item) -> bool:
    """Whether ``item`` needs TensorFlow (see the module docstring)."""
    if not isinstance(item, pytest.Function):
        return False
    if KERAS_FIXTURES & set(item.fixturenames) or _function_needs_keras(item.function):
        return True
    for name in item.fixturenames:
        for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
            if _function_needs_keras(fixturedef.func):
                return True
    return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("keras") is None and needs_keras(item):
            item.add_marker(pytest.mark.keras)
    imported = KERAS_MODULES & set(sys.modules)
    if imported and "not keras" in (config.option.markexpr or ""):
        raise pytest.UsageError(f"collecting the tests imported {sorted(imported)}: import them inside the tests")


_BEFORE = pytest.StashKey[frozenset]()


def _imported_keras() -> frozenset:
    """The Keras modules really imported (a test may block one with ``sys.modules[name] = None``)."""
    return frozenset(m for m in KERAS_MODULES if sys.modules.get(m) is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    item.stash[_BEFORE] = _imported_keras()
    if sys.modules.get("tf_keras") is not None:  # imported by an earlier test: see keras_zoo
        from keras_zoo import skip_gradient_graphs

        skip_gradient_graphs()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test left unmarked that imports TensorFlow (in its fixtures or its body) fails: the
    marker must stay honest."""
    result = yield
    new = _imported_keras() - item.stash.get(_BEFORE, frozenset())
    if new and item.get_closest_marker("keras") is None:
        pytest.fail(f"{item.nodeid} imported {sorted(new)} but is not marked keras: mark it, or teach conftest.py why")
    return result

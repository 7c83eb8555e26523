"""Property-based fuzzing: mutated bundles and model files give a working model or the
project's own error — never another exception, a hang, or a write outside the target."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import copy_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnconvert.converter import convert
from rnnconvert.errors import FormatError, RnnConvertError
from rnnconvert.runtime import load
from rnnconvert.runtime.bundle import npz_bytes

GOLDEN = Path(__file__).parent / "data" / "golden" / "1.0.0"
# The 1.1 golden with int8 weights: ConvLSTM, Attention, stacked cells, masked merges, scales.
GOLDEN_11 = Path(__file__).parent / "data" / "golden" / "1.1.0" / "bundle-int8"


def fuzz(n: int) -> settings:
    return settings(
        max_examples=n, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


BASE_DOC = json.loads((GOLDEN / "bundle" / "model.json").read_text())
ALL_PATHS = [p for p in _paths(BASE_DOC) if p]
INPUTS = np.load(GOLDEN / "expected.npz")["inputs"]
DOC_11 = json.loads((GOLDEN_11 / "model.json").read_text())
PATHS_11 = [p for p in _paths(DOC_11) if p]
_ref11 = np.load(GOLDEN_11.parent / "expected.npz")
INPUTS_11 = [_ref11["inputs_0"], _ref11["inputs_1"]]


def _exercise(bundle: Path, inputs=INPUTS) -> None:
    try:
        model = load(bundle, max_elements=10_000_000)
        model.predict(inputs)
    except RnnConvertError:
        pass


def _mutate(data, base: dict) -> dict:
    doc = copy_doc(base)
    paths = ALL_PATHS if base is BASE_DOC else PATHS_11
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            if data.draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@fuzz(1500)
@given(data=st.data())
def test_mutated_model_json(workdir, data):
    doc = _mutate(data, BASE_DOC)
    d = workdir / "json"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(GOLDEN / "bundle", d)
    (d / "model.json").write_text(json.dumps(doc))
    _exercise(d)


@fuzz(800)
@given(data=st.data())
def test_mutated_model_json_of_1_1_ops_and_int8(workdir, data):
    doc = _mutate(data, DOC_11)
    d = workdir / "json11"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(GOLDEN_11, d)
    (d / "model.json").write_text(json.dumps(doc))
    _exercise(d, INPUTS_11)


@fuzz(600)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4), fix_sum=st.booleans()
)
def test_mutated_npz_bytes(workdir, flips, fix_sum):
    d = workdir / "npz"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(GOLDEN / "bundle", d)
    raw = bytearray((d / "weights.npz").read_bytes())
    for pos, x in flips:
        raw[pos % len(raw)] ^= x
    (d / "weights.npz").write_bytes(bytes(raw))
    if fix_sum:  # let the mutation past the checksum, into the zip and .npy parsers
        doc = json.loads((d / "model.json").read_text())
        doc["weights"]["sha256"] = hashlib.sha256(bytes(raw)).hexdigest()
        (d / "model.json").write_text(json.dumps(doc))
    _exercise(d)


def test_npz_header_shape_bomb(tmp_path):
    shutil.copytree(GOLDEN / "bundle", tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "model.json").read_text())
    key = next(iter(doc["weights"]["arrays"]))
    raw = npz_bytes({k: np.zeros(v["shape"], v["dtype"]) for k, v in doc["weights"]["arrays"].items()})
    # Claim a gigantic shape in the .npy header of one member; the file stays small.
    old = repr(tuple(doc["weights"]["arrays"][key]["shape"])).encode()
    raw = raw.replace(old, b"(99999999, 99999)".ljust(len(old)), 1)
    (tmp_path / "b" / "weights.npz").write_bytes(raw)
    doc["weights"]["sha256"] = hashlib.sha256(raw).hexdigest()
    (tmp_path / "b" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(RnnConvertError):
        load(tmp_path / "b")


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    import keras
    import tf_keras

    d = tmp_path_factory.mktemp("fuzzsrc")
    m = keras.Sequential([keras.Input((4, 3)), keras.layers.GRU(3), keras.layers.Dense(2)])
    m.save(d / "m.keras")
    k2 = tf_keras.Sequential([tf_keras.Input((4, 3)), tf_keras.layers.LSTM(3), tf_keras.layers.Dense(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k2.save(d / "m.h5")
    return {"keras": (d / "m.keras").read_bytes(), "h5": (d / "m.h5").read_bytes()}


@pytest.mark.keras
@fuzz(500)
@given(
    kind=st.sampled_from(["keras", "h5"]),
    flips=st.lists(st.tuples(st.integers(0, 10**7), st.integers(1, 255)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**7)),
)
def test_mutated_model_files(model_files, workdir, kind, flips, cut):
    raw = bytearray(model_files[kind])
    for pos, x in flips:
        raw[pos % len(raw)] ^= x
    if cut is not None:
        raw = raw[: cut % len(raw)]
    d = workdir / "model"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    src = d / f"m.{kind}"
    src.write_bytes(bytes(raw))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            convert(src, d / "out")
        _exercise(d / "out")
    except RnnConvertError:
        assert not (d / "out").exists()
    assert sorted(p.name for p in d.iterdir()) in ([src.name], sorted([src.name, "out"]))


@pytest.mark.parametrize(
    "what, edit",
    [
        ("bad magic", lambda h: b"\x93NUMPX" + h[6:]),
        ("unknown version", lambda h: h[:6] + b"\x09\x00" + h[8:]),
        ("header length past the bound", lambda h: h[:8] + (60000).to_bytes(2, "little") + h[10:]),
        (
            "header length past its text",
            lambda h: h[:8] + (int.from_bytes(h[8:10], "little") + 64).to_bytes(2, "little") + h[10:],
        ),
        (
            "header text not a dict",
            lambda h: (
                h[:10]
                + b"[1, 2]".ljust(int.from_bytes(h[8:10], "little") - 1)
                + b"\n"
                + h[10 + int.from_bytes(h[8:10], "little") :]
            ),
        ),
    ],
)
def test_broken_npy_headers_are_format_errors(tmp_path, what, edit):
    """Each member's .npy header is read as bytes and parsed by NumPy (once per distinct
    header): a broken one is the project's FormatError, not a NumPy exception."""
    shutil.copytree(GOLDEN / "bundle", tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "model.json").read_text())
    raw = npz_bytes({k: np.zeros(v["shape"], v["dtype"]) for k, v in doc["weights"]["arrays"].items()})
    start = raw.index(b"\x93NUMPY")
    raw = raw[:start] + edit(raw[start:])
    (tmp_path / "b" / "weights.npz").write_bytes(raw)
    doc["weights"]["sha256"] = hashlib.sha256(raw).hexdigest()
    (tmp_path / "b" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError):
        load(tmp_path / "b")

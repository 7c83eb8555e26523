"""Every row of shared ROBUSTNESS.md: bad input ends in the project's own error, naming
what is at fault, and nothing is left half-written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from keras_zoo import eager

from rnnconvert.converter import RnnConvertWarning, convert
from rnnconvert.errors import (
    FormatError,
    InputError,
    OutputError,
    ResourceError,
    RnnConvertError,
    SecurityError,
    UnsupportedError,
    VersionError,
)
from rnnconvert.runtime import load

# ---------------------------------------------------------------------------------------
# Converter input


@pytest.fixture(scope="module")
def small_keras3(tmp_path_factory):
    import keras

    d = tmp_path_factory.mktemp("k3small")
    m = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, name="rnn"), keras.layers.Dense(2, name="head")])
    m.save(d / "m.keras")
    m.save(d / "m.h5")
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    return d, m, x


def _rewrite_zip(src: Path, dst: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return dst


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_lambda_and_custom_classes_are_refused_by_name(tmp_path):
    import keras
    import tf_keras

    m = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2, name="evil"), keras.layers.Dense(2)])
    m.save(tmp_path / "lambda.keras")
    with pytest.raises(SecurityError, match="evil"):
        convert(tmp_path / "lambda.keras", tmp_path / "out")
    k2 = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Lambda(lambda t: t * 2, name="evil2")])
    k2.save(tmp_path / "lambda.h5")
    with pytest.raises(SecurityError, match="evil2"):
        convert(tmp_path / "lambda.h5", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_custom_module_reference_is_refused(small_keras3, tmp_path):
    d, _, _ = small_keras3
    members = _members(d / "m.keras")
    cfg = json.loads(members["config.json"])
    cfg["config"]["layers"][1]["module"] = "os.path"
    cfg["config"]["layers"][1]["registered_name"] = "Custom>Evil"
    members["config.json"] = json.dumps(cfg).encode()
    bad = _rewrite_zip(d / "m.keras", tmp_path / "custom.keras", list(members.items()))
    with pytest.raises(SecurityError, match="rnn"):
        convert(bad, tmp_path / "out")


def test_every_unsupported_layer_is_reported_at_once(small_keras3, tmp_path):
    d, _, _ = small_keras3
    members = _members(d / "m.keras")
    cfg = json.loads(members["config.json"])
    cfg["config"]["layers"][1]["class_name"] = "FancyRNN"
    cfg["config"]["layers"][2]["class_name"] = "FancyDense"
    members["config.json"] = json.dumps(cfg).encode()
    bad = _rewrite_zip(d / "m.keras", tmp_path / "two.keras", list(members.items()))
    with pytest.raises(UnsupportedError) as info:
        convert(bad, tmp_path / "out")
    names = {p[0] for p in info.value.problems}
    assert names == {"rnn", "head"}
    assert "FancyRNN" in str(info.value) and "FancyDense" in str(info.value)


@pytest.mark.parametrize(
    "content,name",
    [
        (b"", "empty.h5"),
        (os.urandom(4096), "random.keras"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "trunc.h5"),
        (b"PK\x03\x04junk", "trunc.keras"),
        (b"{not json", "arch.json"),
    ],
)
def test_not_a_model_file(tmp_path, content, name):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises((FormatError, InputError)):
        convert(p, tmp_path / "out", weights=None)
    assert not (tmp_path / "out").exists()


def test_truncated_real_files(small_keras3, tmp_path):
    d, _, _ = small_keras3
    for name in ("m.keras", "m.h5"):
        data = (d / name).read_bytes()
        p = tmp_path / name
        p.write_bytes(data[: len(data) // 2])
        with pytest.raises(FormatError):
            convert(p, tmp_path / "out")


def test_keras_file_that_is_really_hdf5(small_keras3, tmp_path):
    d, m, x = small_keras3
    shutil.copy(d / "m.h5", tmp_path / "really_h5.keras")
    convert(tmp_path / "really_h5.keras", tmp_path / "out")
    np.testing.assert_allclose(load(tmp_path / "out").predict(x), eager(m, x), atol=1e-5)


@pytest.mark.parametrize("problem", ["no_config", "traversal", "absolute", "duplicate", "too_many", "huge"])
def test_hostile_keras_zips(small_keras3, tmp_path, problem):
    d, _, _ = small_keras3
    members = list(_members(d / "m.keras").items())
    if problem == "no_config":
        members = [(n, b) for n, b in members if n != "config.json"]
    elif problem == "traversal":
        members.append(("../../etc/evil", b"x"))
    elif problem == "absolute":
        members.append(("/tmp/evil", b"x"))
    elif problem == "duplicate":
        members.append(("config.json", b"{}"))
    elif problem == "too_many":
        members += [(f"extra/{i}", b"") for i in range(200)]
    path = tmp_path / "bad.keras"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        _rewrite_zip(d / "m.keras", path, members)
    if problem == "huge":
        # Patch the central directory so model.weights.h5 declares 2**40 bytes (a zip bomb's lie).
        raw = bytearray(path.read_bytes())
        name = b"model.weights.h5"
        cd = raw.rfind(b"PK\x01\x02", 0, raw.rfind(name))
        raw[cd + 24 : cd + 28] = (0xFFFFFFFE).to_bytes(4, "little")
        path.write_bytes(bytes(raw))
    expected = {
        "traversal": SecurityError,
        "absolute": SecurityError,
        "too_many": ResourceError,
        "huge": (ResourceError, FormatError),
    }
    with pytest.raises(expected.get(problem, FormatError)):
        convert(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not Path("/tmp/evil").exists()


def test_h5_weight_problems(small_keras3, tmp_path):
    d, m, x = small_keras3
    # A missing dataset, named.
    p = tmp_path / "missing.h5"
    shutil.copy(d / "m.h5", p)
    with h5py.File(p, "r+") as f:
        g = f["model_weights/rnn"]
        name = g.attrs["weight_names"][0]
        name = name.decode() if isinstance(name, bytes) else name
        del g[name]
    with pytest.raises(FormatError, match="rnn"):
        convert(p, tmp_path / "out")
    # A dataset whose shape disagrees with the config, named.
    p = tmp_path / "shape.h5"
    shutil.copy(d / "m.h5", p)
    with h5py.File(p, "r+") as f:
        g = f["model_weights/head"]
        name = g.attrs["weight_names"][0]
        name = name.decode() if isinstance(name, bytes) else name
        del g[name]
        g.create_dataset(name, data=np.zeros((3, 2), np.float32))
    with pytest.raises(UnsupportedError, match="head"):
        convert(p, tmp_path / "out")
    # Extra non-Keras groups are ignored.
    p = tmp_path / "extra.h5"
    shutil.copy(d / "m.h5", p)
    with h5py.File(p, "r+") as f:
        f.create_group("my_metadata").create_dataset("notes", data=np.arange(3))
        f["model_weights"].create_group("not_a_layer")
    convert(p, tmp_path / "ok")
    np.testing.assert_allclose(load(tmp_path / "ok").predict(x), eager(m, x), atol=1e-5)


def test_nan_weights_convert_with_a_warning(small_keras3, tmp_path):
    d, _, x = small_keras3
    p = tmp_path / "nan.h5"
    shutil.copy(d / "m.h5", p)
    with h5py.File(p, "r+") as f:
        g = f["model_weights/head"]
        name = g.attrs["weight_names"][-1]
        name = name.decode() if isinstance(name, bytes) else name
        g[name][0] = np.nan
    with pytest.warns(RnnConvertWarning, match="NaN"):
        convert(p, tmp_path / "out")
    y = load(tmp_path / "out").predict(x)
    assert np.isnan(y[:, 0]).all() and np.isfinite(y[:, 1]).all()


# ---------------------------------------------------------------------------------------
# Writing the bundle


def test_output_dir_rules_and_atomic_replace(small_keras3, tmp_path, monkeypatch):
    d, _, _ = small_keras3
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="--force"):
        convert(d / "m.keras", out)
    assert (out / "keep.txt").read_text() == "mine"
    convert(d / "m.keras", out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "weights.npz"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    # A failure midway (disk full while writing) leaves the old bundle intact and no temp dirs.
    import rnnconvert.converter.writer as writer

    def boom(path, data):
        Path(path).write_bytes(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_write_file", boom)
    with pytest.raises(OutputError, match="No space left on device"):
        convert(d / "m.h5", out, force=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_same_model_twice_is_byte_identical(small_keras3, tmp_path):
    d, _, _ = small_keras3
    convert(d / "m.keras", tmp_path / "a")
    convert(d / "m.keras", tmp_path / "b")
    for name in ("model.json", "weights.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_cli_one_line_errors_and_no_output(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"nope")
    proc = subprocess.run(
        [sys.executable, "-m", "rnnconvert", str(bad), str(tmp_path / "out")], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("rnnconvert: error:")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# Loading a bundle


@pytest.fixture()
def bundle(small_keras3, tmp_path):
    d, m, x = small_keras3
    convert(d / "m.keras", tmp_path / "b")
    return tmp_path / "b"


def _edit(bundle: Path, fn) -> None:
    p = bundle / "model.json"
    doc = json.loads(p.read_text())
    fn(doc)
    p.write_text(json.dumps(doc))


def test_newer_major_version_names_both(bundle):
    _edit(bundle, lambda d: d.update(format_version="2.0.0"))
    with pytest.raises(VersionError, match=r"2\.0\.0.*1\."):
        load(bundle)


def test_newer_minor_version_with_unknown_optional_fields_loads(bundle, small_keras3):
    _, m, x = small_keras3
    _edit(bundle, lambda d: d.update(format_version="1.7.0", some_future_field={"a": 1}))
    np.testing.assert_allclose(load(bundle).predict(x), eager(m, x), atol=1e-5)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda d: d["nodes"][0].update(op="NoSuchOp"), "NoSuchOp"),
        (lambda d: d["nodes"][1].update(inputs=[["ghost", 0]]), "ghost"),
        (lambda d: d["nodes"][0].update(inputs=[[d["nodes"][1]["name"], 0]]), "earlier"),  # forward ref = cycle
        (lambda d: d["nodes"][1].update(name=d["nodes"][0]["name"]), "duplicate"),
        (lambda d: d["nodes"][0]["inputs"][0].__setitem__(1, 5), "output 5"),
        (lambda d: d["nodes"][0]["config"].pop("units"), "units"),
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d["weights"].update(file="../weights.npz"), "plain file name"),
        (lambda d: d["weights"].update(file="/etc/passwd"), "plain file name"),
        (lambda d: d["weights"]["arrays"][next(iter(d["weights"]["arrays"]))].update(shape=[9, 9]), "model.json says"),
    ],
)
def test_broken_model_json(bundle, mutate, match):
    _edit(bundle, mutate)
    with pytest.raises(RnnConvertError, match=match):
        load(bundle)


def test_weights_file_checks(bundle, tmp_path):
    w = bundle / "weights.npz"
    data = bytearray(w.read_bytes())
    data[-30] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="SHA-256"):
        load(bundle)
    w.unlink()
    os.symlink(tmp_path / "elsewhere.npz", w)
    with pytest.raises(SecurityError, match="symbolic link"):
        load(bundle)


def _write_npz_with(bundle: Path, arrays: dict[str, np.ndarray], *, pickle: bool = False) -> None:
    w = bundle / "weights.npz"
    np.savez(w, **arrays) if not pickle else np.savez(w, **arrays)
    import hashlib

    _edit(bundle, lambda d: d["weights"].update(sha256=hashlib.sha256(w.read_bytes()).hexdigest()))


def test_npz_content_checks(bundle):
    doc = json.loads((bundle / "model.json").read_text())
    keys = list(doc["weights"]["arrays"])
    good = {k: np.zeros(doc["weights"]["arrays"][k]["shape"], np.float32) for k in keys}
    # Object array (would need pickle): refused without unpickling.
    evil = dict(good)
    evil[keys[0]] = np.array([{"a": 1}], dtype=object)
    _write_npz_with(bundle, evil)
    with pytest.raises((SecurityError, FormatError)):
        load(bundle)
    # Missing and extra arrays.
    less = dict(good)
    less.pop(keys[0])
    _write_npz_with(bundle, less)
    with pytest.raises(FormatError, match="missing"):
        load(bundle)
    more = dict(good, extra=np.zeros(3, np.float32))
    _write_npz_with(bundle, more)
    with pytest.raises(FormatError, match="extra"):
        load(bundle)
    # Wrong dtype.
    wrong = dict(good)
    wrong[keys[0]] = good[keys[0]].astype(np.float64)
    _write_npz_with(bundle, wrong)
    with pytest.raises(FormatError, match="float64"):
        load(bundle)


def test_shape_bomb_in_json_is_refused_before_allocating(bundle):
    def bomb(d):
        k = next(iter(d["weights"]["arrays"]))
        d["weights"]["arrays"][k]["shape"] = [2**31, 2**31]

    _edit(bundle, bomb)
    with pytest.raises((ResourceError, FormatError)):
        load(bundle)


# ---------------------------------------------------------------------------------------
# Predicting


def test_predict_input_checks(bundle, small_keras3):
    _, m, x = small_keras3
    model = load(bundle)
    with pytest.raises(InputError, match="rank"):
        model.predict(x[0])
    with pytest.raises(InputError, match=r"\(None, 5, 3\)"):
        model.predict(np.zeros((2, 5, 4), np.float32))
    with pytest.raises(InputError, match="takes 1 input"):
        model.predict([x, x])
    with pytest.raises(InputError, match="not numeric"):
        model.predict(np.full((2, 5, 3), "a"))
    with pytest.raises(InputError, match="not numeric"):
        model.predict(np.empty((2, 5, 3), dtype=object))


def test_nan_input_propagates_and_batches_are_consistent(bundle, small_keras3):
    _, m, x = small_keras3
    model = load(bundle)
    bad = x.copy()
    bad[0, 2, 1] = np.nan
    y = model.predict(bad)
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    keras_y = eager(m, bad)
    assert np.isnan(keras_y[0]).all()
    whole = model.predict(x)
    np.testing.assert_array_equal(whole, model.predict(x))
    np.testing.assert_allclose(np.concatenate([model.predict(x[:1]), model.predict(x[1:])]), whole, rtol=0, atol=1e-6)


def test_memory_bound(bundle):
    model = load(bundle, max_elements=10_000)
    model.predict(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(ResourceError, match="max_elements"):
        model.predict(np.zeros((2000, 5, 3), np.float32))


def test_embedding_ids_out_of_range_name_the_input(zoo, tmp_path):
    built = zoo.get("embedding_lstm", "keras3")
    convert(built.files["keras"][0], tmp_path / "b")
    model = load(tmp_path / "b")
    ids = built.inputs[0].copy()
    ids[0, 0] = 50  # vocabulary is 50
    with pytest.raises(InputError, match="out of range"):
        model.predict(ids)


# ---------------------------------------------------------------------------------------
# Test vectors at a fixed input shape from the file (issue 12, item 10)


def _doc(*shapes):
    return {
        "inputs": [{"name": f"x{i}", "shape": list(s), "dtype": "float32"} for i, s in enumerate(shapes)],
        "nodes": [],
    }


def test_vectors_at_a_huge_fixed_shape_are_refused_before_allocating():
    from rnnconvert.converter.vectors import make_inputs

    with pytest.raises(ResourceError, match=r"input 'x0'.*fixed input shape \(None, 100000000, 3\)"):
        make_inputs(_doc((None, 100_000_000, 3)), 1)
    with pytest.raises(ResourceError, match="steps"):  # few values, but 10^5 steps would run for minutes
        make_inputs(_doc((None, 100_000, 1)), 1)
    with pytest.raises(ResourceError, match="x1"):  # a fixed batch is kept, so it counts in full
        make_inputs(_doc((2, 4, 3), (2, 60_000, 40)), 1)


def test_vectors_reduce_a_free_batch_to_fit():
    from rnnconvert.converter.vectors import make_inputs

    (x,) = make_inputs(_doc((None, 60_000, 30)), 1)[0]  # batch 3 would be 5.4M values
    assert x.shape == (1, 60_000, 30)
    (y,) = make_inputs(_doc((None, None, 3)), 1)[0]
    assert y.shape == (3, 6, 3)  # the usual small vectors are unchanged


def test_convert_refuses_a_model_whose_fixed_shape_makes_vectors_too_big(tmp_path):
    import keras

    m = keras.Sequential([keras.Input((100_000_000, 3)), keras.layers.SimpleRNN(2, name="rnn")])
    m.save(tmp_path / "m.keras")
    with pytest.raises(ResourceError, match="test vectors"):
        convert(tmp_path / "m.keras", tmp_path / "out")
    assert not (tmp_path / "out").exists()

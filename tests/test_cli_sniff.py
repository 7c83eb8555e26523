"""A Keras file, architecture JSON, SavedModel folder or NPZ given where a bundle belongs: the
error says what it is and how to convert it (#12.19)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from rnnconvert import FormatError, InputError, cli
from rnnconvert.runtime import load

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden" / "1.0.0" / "bundle"
LEGACY_H5 = DATA / "legacy" / "k2_dl4j_simple_lstm_keras213" / "simple_flatten_lstm_tf_keras_2_model.h5"


def _keras_zip(path: Path) -> Path:
    """The member layout of Keras 3's .keras (only the names matter here: nothing is read)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {}}))
        z.writestr("model.weights.h5", LEGACY_H5.read_bytes())
    path.write_bytes(buf.getvalue())
    return path


def test_keras_files_given_to_load_name_the_convert_command(tmp_path):
    h5 = tmp_path / "model.h5"
    shutil.copy(LEGACY_H5, h5)
    cases = {
        h5: "a Keras model file (HDF5)",
        _keras_zip(tmp_path / "my model.keras"): "a Keras model file (.keras zip)",
    }
    for path, what in cases.items():
        with pytest.raises(FormatError) as info:
            load(path)
        msg = str(info.value)
        assert what in msg and "not valid JSON" not in msg
        assert f"rnnconvert convert '{path}' OUT_DIR" in msg or f"rnnconvert convert {path} OUT_DIR" in msg


def test_architecture_json_and_npz_get_their_own_hints(tmp_path):
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"class_name": "Sequential", "config": {"layers": []}, "keras_version": "2.15.0"}))
    with pytest.raises(FormatError, match=r"architecture JSON .*--weights WEIGHTS_H5 OUT_DIR"):
        load(arch)
    with pytest.raises(FormatError, match="NPZ weights file.*bundle directory"):
        load(GOLDEN / "weights.npz")
    with pytest.raises(FormatError, match="no such file or directory"):
        load(tmp_path / "missing")


def _saved_model(folder: Path, keras: bool) -> Path:
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\x08\x01")
    (folder / "variables").mkdir()
    if keras:
        (folder / "keras_metadata.pb").write_bytes(b"\x0a\x00")
    return folder


def test_savedmodel_folders_say_how_to_convert(tmp_path, capsys):
    tfk = _saved_model(tmp_path / "tfk_model", keras=True)
    with pytest.raises(FormatError, match=r"tf\.keras SavedModel folder, not an rnnconvert bundle.*rnnconvert convert"):
        load(tfk)
    export = _saved_model(tmp_path / "exported", keras=False)
    with pytest.raises(FormatError, match=r"without a Keras config.*model\.save\('model\.keras'\)"):
        load(export)
    from rnnconvert.converter import convert

    with pytest.raises(FormatError, match="keras_metadata.pb"):  # a stub: read, and found not to be one
        convert(tfk, tmp_path / "out")
    with pytest.raises(InputError, match=r"without a Keras config.*model\.save\('model\.keras'\)"):
        convert(export, tmp_path / "out")
    for argv in (["check", str(tfk)], ["inspect", str(tfk)]):
        assert cli.main(argv) == 1
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and "rnnconvert convert" in err, argv
    assert cli.main(["convert", str(export), str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "model.save('model.keras')" in err

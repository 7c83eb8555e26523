"""Installs without the optional packages: one error line naming the pip command (#12.17,
#12.20), and ``check`` saying when it did not check the schema (#12.22)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from rnnconvert import cli

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden" / "1.0.0" / "bundle"
LEGACY_H5 = DATA / "legacy" / "k2_dl4j_simple_lstm_keras213" / "simple_flatten_lstm_tf_keras_2_model.h5"

# A runtime-only install: NumPy and rnnconvert, nothing else importable.
RUNTIME_ONLY = textwrap.dedent(
    """
    import sys
    BLOCKED = {"h5py", "jsonschema", "tensorflow", "keras", "tf_keras"}
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, _Block())
    from rnnconvert.cli import main
    raise SystemExit(main(sys.argv[1:]))
    """
)


def _runtime_only(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", RUNTIME_ONLY, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_runtime_only_install_converts_to_one_line_and_still_checks(tmp_path):
    shutil.copytree(GOLDEN, tmp_path / "bundle")
    p = _runtime_only(str(LEGACY_H5), "out", cwd=tmp_path)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith("rnnconvert: error: ") and "pip install h5py jsonschema" in p.stderr
    assert not (tmp_path / "out").exists()
    p = _runtime_only("check", "bundle", cwd=tmp_path)  # running bundles needs none of them
    assert p.returncode == 0, p.stderr
    assert "schema: not checked (jsonschema not installed)" in p.stdout and "schema ok" not in p.stdout


def test_check_says_schema_ok_only_when_it_checked(tmp_path, capsys, monkeypatch):
    shutil.copytree(GOLDEN, tmp_path / "bundle")
    assert cli.main(["check", str(tmp_path / "bundle")]) == 0
    assert "schema ok" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import jsonschema now fails
    assert cli.main(["check", str(tmp_path / "bundle")]) == 0
    out = capsys.readouterr().out
    assert "schema: not checked (jsonschema not installed)" in out and "schema ok" not in out


def test_verify_without_keras_is_one_line_naming_pip(tmp_path, capsys, monkeypatch):
    for name in ("tf_keras", "keras", "tensorflow"):
        monkeypatch.setitem(sys.modules, name, None)
    code = cli.main([str(LEGACY_H5), str(tmp_path / "out"), "--verify"])  # a Keras 2.1.3 file: tf_keras
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "--verify" in err and "pip install tf-keras" in err
    assert not (tmp_path / "out").exists()

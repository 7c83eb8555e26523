"""The command line as a user runs it: convert, check, inspect, --verify, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnconvert.schema import FORMAT_VERSION, required_version

pytestmark = pytest.mark.keras


ROOT = Path(__file__).resolve().parent.parent


def rnnconvert(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])  # this tree's code
    return subprocess.run(
        [sys.executable, "-m", "rnnconvert", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_convert_check_inspect_and_graph(zoo, tmp_path):
    built = zoo.get("functional_multi_io", "tf_keras")
    out = tmp_path / "bundle"
    p = rnnconvert(str(built.files["h5"][0]), str(out))
    assert p.returncode == 0, p.stderr
    assert "wrote" in p.stdout and "parameters" in p.stdout
    p = rnnconvert("check", str(out))
    assert p.returncode == 0, p.stderr
    assert "rnnconvert-runtime" in p.stdout
    for name in ("cls", "reg", "rnn_head"):
        assert f"  {name}: max |error|" in p.stdout
    p = rnnconvert("inspect", str(out), "--graph", str(tmp_path / "g.dot"))
    assert p.returncode == 0, p.stderr
    # a new bundle declares the oldest format that has everything it uses (FORMAT.md 6.1)
    doc = json.loads((out / "model.json").read_text())
    version = doc["format_version"]
    assert version == required_version(doc) == "1.2.0"  # a plain LSTM/GRU model: the 1.2 npz layout
    for text in ("enc (LSTM)", "Total params", f"format {version}", "Keras 2.21.0"):
        assert text in p.stdout
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph") and '"enc" -> "gru_head"' in dot


def test_inspect_shows_the_declared_version_and_the_migration(tmp_path):
    old = Path(__file__).parent / "data" / "golden" / "1.0.0" / "bundle"
    p = rnnconvert("inspect", str(old))
    assert p.returncode == 0, p.stderr
    assert f"format 1.0.0 (migrated to {FORMAT_VERSION})" in p.stdout


def test_existing_output_refused_then_forced(zoo, tmp_path):
    src = str(zoo.get("embedding_lstm", "keras3").files["keras"][0])
    out = tmp_path / "b"
    assert rnnconvert(src, str(out)).returncode == 0
    p = rnnconvert(src, str(out))
    assert p.returncode == 1 and "--force" in p.stderr and p.stderr.count("\n") == 1
    assert rnnconvert(src, str(out), "--force").returncode == 0


def test_verify_stores_keras_outputs_and_check_detects_tampering(zoo, tmp_path):
    built = zoo.get("mask_zero_embedding_gru", "keras3")
    out = tmp_path / "b"
    # As a user runs it, without TF_CPP_MIN_LOG_LEVEL: TensorFlow's C++ logs must not reach stderr (#12.20).
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    p = rnnconvert("convert", str(built.files["keras"][0]), str(out), "--verify", env=env)
    assert p.returncode == 0, p.stderr
    assert "verified against Keras" in p.stdout
    assert p.stderr == ""
    doc = json.loads((out / "model.json").read_text())
    assert doc["test_vectors"]["origin"] == "keras"
    assert rnnconvert("check", str(out)).returncode == 0
    # Tamper with a weight (and fix up the checksum so only the vectors can notice).
    import hashlib
    import zipfile

    from rnnconvert.runtime.bundle import npz_bytes

    with zipfile.ZipFile(out / "weights.npz") as z:
        arrays = {n[:-4]: np.load(z.open(n)) for n in z.namelist()}
    key = next(k for k in arrays if k.endswith("/kernel"))
    arrays[key] = arrays[key] + np.float32(0.05)
    data = npz_bytes(arrays)
    (out / "weights.npz").write_bytes(data)
    doc["weights"]["sha256"] = hashlib.sha256(data).hexdigest()
    (out / "model.json").write_text(json.dumps(doc))
    p = rnnconvert("check", str(out))
    assert p.returncode == 1 and "MISMATCH" in p.stdout


def test_inspect_given_the_keras_file_names_the_convert_command(zoo, tmp_path):
    src = zoo.get("embedding_lstm", "keras3").files["keras"][0]  # a real .keras file (#12.19)
    p = rnnconvert("inspect", str(src))
    assert p.returncode == 1 and p.stderr.count("\n") == 1
    assert "a Keras model file (.keras zip)" in p.stderr and "rnnconvert convert" in p.stderr

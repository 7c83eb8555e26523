"""The runtime runs where TensorFlow, Keras, h5py and jsonschema cannot be imported,
and the converter converts files without importing TensorFlow or Keras."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_parity

from rnnconvert.converter import convert

BLOCKER = textwrap.dedent(
    """
    import sys
    BLOCKED = {blocked!r}
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None
    sys.meta_path.insert(0, _Block())
    """
)


def _run(code: str, blocked: list[str], cwd: Path) -> subprocess.CompletedProcess:
    script = BLOCKER.format(blocked=blocked) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.keras
def test_runtime_without_tensorflow_keras_h5py_jsonschema(zoo, tmp_path):
    built = zoo.get("functional_multi_io", "keras3")
    convert(built.files["keras"][0], tmp_path / "bundle")
    np.savez(tmp_path / "inputs.npz", *built.inputs)
    proc = _run(
        """
        import numpy as np
        from rnnconvert.runtime import load
        data = np.load("inputs.npz")
        model = load("bundle")
        ys = model.predict([data[k] for k in sorted(data.files)])
        np.savez("outputs.npz", *ys)
        for mod in ("tensorflow", "keras", "tf_keras", "h5py", "jsonschema", "rnnconvert.converter"):
            assert mod not in sys.modules, mod
        print("ok")
        """,
        ["tensorflow", "keras", "tf_keras", "h5py", "jsonschema"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = np.load(tmp_path / "outputs.npz")
    ours = [out[f"arr_{i}"] for i in range(len(out.files))]
    assert_parity(ours, built.expected, "runtime in a TF-free process")


@pytest.mark.keras
def test_converter_never_imports_tensorflow(zoo, tmp_path):
    built = zoo.get("stacked_lstm_hard_sigmoid_softmax", "tf_keras")
    src = built.files["h5"][0]
    proc = _run(
        f"""
        from rnnconvert.converter import convert
        convert({str(src)!r}, "bundle")
        print("ok")
        """,
        ["tensorflow", "keras", "tf_keras"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "bundle" / "model.json").read_text())
    assert doc["source"]["keras_version"].startswith("2.")

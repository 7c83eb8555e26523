"""The JavaScript runtime (js/) against Keras: every Python test model, converted with
Keras-made test vectors, must reproduce them in JS (``node js/bin/rnnconvert.js check``);
models that stream must give, fed one timestep at a time, what they give whole."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from keras_zoo import CASES, ERAS

from rnnconvert.converter import convert
from rnnconvert.runtime import load
from rnnconvert.runtime.verify import run_vectors

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "js"
NODE = shutil.which("node")


def _node_version() -> tuple[int, ...]:
    if NODE is None:
        return ()
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        return tuple(int(p) for p in out.lstrip("v").split("."))
    except ValueError:
        return ()


pytestmark = pytest.mark.skipif(
    _node_version() < (18,), reason="the JavaScript runtime needs Node.js >= 18 on PATH (not found or too old)"
)

PARAMS = [(c, e) for c in CASES for e in ERAS]


def _node(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NODE, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.keras
@pytest.mark.parametrize("case,era", PARAMS, ids=[f"{c}-{e}" for c, e in PARAMS])
def test_js_reproduces_keras_vectors(zoo, tmp_path, case, era):
    built = zoo.get(case, era)
    out = tmp_path / "bundle"
    try:
        convert(built.model, out)  # in-memory: the test vectors are Keras's own outputs
    except (IndexError, ValueError) as exc:  # the converter's vectors, not the JS runtime (see DECISIONS.md)
        pytest.xfail(f"the converter cannot attach Keras vectors to this in-memory model: {exc}")
    assert json.loads((out / "model.json").read_text())["test_vectors"]["origin"] == "keras"
    run = _node(str(JS / "test" / "stream_check.mjs"), str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # The NumPy runtime on the same vectors: where it too misses Keras (an ill-conditioned
    # output, e.g. exponential activations compounding float32 rounding), JS is held to it.
    numpy_report = run_vectors(load(out))
    misses = []
    for js_out, np_out in zip(result["outputs"], numpy_report.outputs):
        if np_out.ok:
            assert js_out["ok"], "\n".join(result["lines"])
        else:
            misses.append(np_out.name)
            assert js_out["maxAbsError"] <= 2 * np_out.max_abs_error, "\n".join(result["lines"])
    if result["stream"] is not None:
        assert result["stream"] <= 1e-5, f"streamed one step at a time differs by {result['stream']:.3g}"
    if misses:
        pytest.xfail(f"the NumPy runtime also misses Keras's vectors on {misses}; JS is within 2x of its error")


@pytest.mark.keras
def test_js_cli_check_and_predict(zoo, tmp_path):
    built = zoo.get("functional_multi_io", "keras3")
    out = tmp_path / "bundle"
    convert(built.model, out)
    run = _node(str(JS / "bin" / "rnnconvert.js"), "check", str(out))
    assert run.returncode == 0, run.stderr
    assert "ok" in run.stdout
    np.savez(tmp_path / "in.npz", *built.inputs)
    run = _node(
        str(JS / "bin" / "rnnconvert.js"), "predict", str(out), str(tmp_path / "in.npz"), str(tmp_path / "o.npz")
    )
    assert run.returncode == 0, run.stderr
    got = np.load(tmp_path / "o.npz")
    names = [o["name"] for o in json.loads((out / "model.json").read_text())["outputs"]]
    for name, want in zip(names, built.expected):
        tol = 1e-5 * max(1.0, float(np.abs(want).max()))
        assert got[name].dtype == np.float32
        assert float(np.abs(got[name] - want).max()) <= tol


def _edited(src: Path, dst: Path, edit) -> Path:
    shutil.copytree(src, dst)
    doc = json.loads((dst / "model.json").read_text())
    edit(doc)
    (dst / "model.json").write_text(json.dumps(doc))
    return dst


@pytest.mark.keras
def test_js_check_exits_1_on_a_mismatch_and_on_a_bad_offset(zoo, tmp_path):
    built = zoo.get("functional_multi_io", "keras3")
    out = tmp_path / "bundle"
    convert(built.model, out)

    def relu_to_tanh(doc):  # the model no longer computes what the vectors recorded
        node = next(n for n in doc["nodes"] if n["name"] == "vec")
        node["config"]["activation"] = {"type": "tanh"}

    run = _node(str(JS / "bin" / "rnnconvert.js"), "check", str(_edited(out, tmp_path / "b1", relu_to_tanh)))
    assert run.returncode == 1 and "MISMATCH" in run.stdout, run.stdout + run.stderr

    def shift_offset(doc):
        spec = next(s for k, s in doc["weights"]["arrays"].items() if not k.startswith("__"))
        assert spec["offset"] % 64 == 0
        spec["offset"] += 64

    run = _node(str(JS / "bin" / "rnnconvert.js"), "check", str(_edited(out, tmp_path / "b2", shift_offset)))
    assert run.returncode == 1 and "offset" in run.stderr, run.stdout + run.stderr

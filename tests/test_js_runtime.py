"""The JavaScript runtime (js/) against Keras: every Python test model, converted with
Keras-made test vectors, must reproduce them in JS (``node js/bin/rnnconvert.js check``);
models that stream must give, fed one timestep at a time, what they give whole."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from keras_zoo import CASES, ERAS

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
CLI_CASE = ("functional_multi_io", "keras3")
DRIVER = JS / "test" / "stream_check.mjs"


def _node(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NODE, *args], capture_output=True, text=True, timeout=timeout, check=False)


class JsBatch:
    """Every selected zoo case converted once (from memory, with Keras's own test vectors),
    then checked by Node (``stream_check.mjs`` takes several bundles and prints one JSON line
    per bundle); each parametrized test reads its case's line. One Node process checks both
    eras of a case: a case's tests run in one pytest-xdist worker (conftest groups them), so
    the batch never converts a case another worker builds."""

    def __init__(self, keras_vectors, wanted: list[tuple[str, str]]):
        self.keras_vectors = keras_vectors  # conftest's zoo_keras_vectors: one conversion per case per session
        self.wanted = wanted
        self._results: dict[str, dict] = {}
        self._stderr = ""

    def bundle(self, case: str, era: str) -> Path:
        """The case converted from the live Keras model with Keras's eager outputs as its
        vectors; a conversion error is raised again to each test that asks."""
        return self.keras_vectors(case, era).out_dir

    def result(self, case: str, era: str) -> dict:
        """The Node driver's line for this case (the selected eras of the case run on the first ask)."""
        out = self.bundle(case, era)
        if str(out) not in self._results:
            self._run([k for k in self.wanted if k[0] == case] or [(case, era)])
        assert str(out) in self._results, f"node gave no result for {out.name}: {self._stderr[-2000:]}"
        return self._results[str(out)]

    def _run(self, keys: list[tuple[str, str]]) -> None:
        dirs = []
        for case, era in keys:
            try:
                dirs.append(str(self.bundle(case, era)))
            except (Exception, pytest.skip.Exception):
                continue  # that case's own test xfails, skips or fails on it
        run = _node(str(DRIVER), *dirs, timeout=300 + 30 * len(dirs))
        self._stderr = run.stderr
        for line in run.stdout.splitlines():
            if line.startswith("{"):
                doc = json.loads(line)
                self._results[doc["dir"]] = doc


def _selected_cases(session: pytest.Session) -> list[tuple[str, str]]:
    """The (case, era) of this session's test_js_reproduces_keras_vectors items, in order."""
    wanted: list[tuple[str, str]] = []
    for item in session.items:
        if getattr(item, "originalname", None) != "test_js_reproduces_keras_vectors":
            continue
        if getattr(item, "module", None) is not sys.modules[__name__]:
            continue
        key = (item.callspec.params["case"], item.callspec.params["era"])
        if key not in wanted:
            wanted.append(key)
    return wanted


@pytest.fixture(scope="module")
def js_batch(request, zoo_keras_vectors) -> JsBatch:
    return JsBatch(zoo_keras_vectors, _selected_cases(request.session))


@pytest.mark.keras
@pytest.mark.parametrize("case,era", PARAMS, ids=[f"{c}-{e}" for c, e in PARAMS])
def test_js_reproduces_keras_vectors(js_batch, case, era):
    try:
        out = js_batch.bundle(case, era)  # in-memory: the test vectors are Keras's own outputs
    except (IndexError, ValueError) as exc:  # the converter's vectors, not the JS runtime (see DECISIONS.md)
        pytest.xfail(f"the converter cannot attach Keras vectors to this in-memory model: {exc}")
    assert json.loads((out / "model.json").read_text())["test_vectors"]["origin"] == "keras"
    result = js_batch.result(case, era)
    assert "error" not in result, result.get("error", "")[-2000:]
    # The NumPy runtime on the same vectors: where it too misses Keras (an ill-conditioned
    # output, e.g. exponential activations compounding float32 rounding), JS is held to it.
    numpy_model = load(out)
    numpy_error = numpy_model.stream_plan().error
    assert (result["planError"] is None) == (numpy_error is None), (
        f"the runtimes disagree on whether this model streams: JS {result['planError']!r}, NumPy {numpy_error!r}"
    )
    numpy_report = run_vectors(numpy_model)
    misses = []
    for js_out, np_out in zip(result["outputs"], numpy_report.outputs):
        if np_out.ok:
            assert js_out["ok"], "\n".join(result["lines"])
        else:
            misses.append(np_out.name)
            assert js_out["maxAbsError"] <= 2 * np_out.max_abs_error, "\n".join(result["lines"])
    if result["stream"] is not None:
        assert result["stream"] <= 1e-5, f"streamed one step at a time differs by {result['stream']:.3g}"
    if result.get("chunked") is not None:  # predict through time in one-step chunks (timeChunkElements)
        assert result["chunked"] <= 1e-5, f"predict run in time chunks differs by {result['chunked']:.3g}"
    if misses:
        pytest.xfail(f"the NumPy runtime also misses Keras's vectors on {misses}; JS is within 2x of its error")


@pytest.mark.keras
def test_js_cli_check_and_predict(zoo, js_batch, tmp_path):
    built = zoo.get(*CLI_CASE)
    out = js_batch.bundle(*CLI_CASE)  # the in-memory conversion the vector test checks (read only here)
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
def test_js_check_exits_1_on_a_mismatch_and_on_a_bad_offset(js_batch, tmp_path):
    out = js_batch.bundle(*CLI_CASE)  # edited in copies (_edited), never in place

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


@pytest.mark.keras
def test_js_runs_a_long_call_in_time_chunks(js_batch, tmp_path):
    """A streaming model's call over ``timeChunkElements`` runs through time chunk by chunk with
    its states carried, as the NumPy runtime does, instead of being refused over ``maxElements``:
    one-step chunks give the whole call's numbers, which the Keras vectors hold."""
    out = js_batch.bundle("lstm_no_bias_free_time", "keras3")
    result = json.loads(_node(str(DRIVER), str(out)).stdout.strip().splitlines()[-1])
    assert "error" not in result, result.get("error")
    assert result["ok"], "\n".join(result["lines"])
    assert result["chunked"] is not None and result["chunked"] <= 1e-5, result["chunked"]
    script = (
        "import { load } from './index.js'; import { toTensor } from './src/bundle.js';"
        f"const dir = {json.dumps(str(out))};"
        "const m = await load(dir, { maxElements: 8000, timeChunkElements: 0 });"
        "const x = toTensor(m.vectorArrays[m.doc.test_vectors.calls[0].inputs[0]]);"
        "const n = x.shape[0] * 400 * x.shape[2];"
        "const long = { data: new Float32Array(n).fill(0.5), shape: [x.shape[0], 400, x.shape[2]] };"
        "let refused = null; try { m.predict(long); } catch (e) { refused = e.constructor.name; }"
        "const y = (await load(dir, { maxElements: 8000 })).predict(long);"
        "console.log(JSON.stringify({ refused, batch: x.shape[0], shape: y.shape, finite: y.data.every(Number.isFinite) }));"
    )
    run = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, cwd=JS, check=False
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["refused"] == "ResourceError", got  # over maxElements when it may not chunk
    assert got["shape"][0] == got["batch"] and got["finite"], got  # chunked, it runs

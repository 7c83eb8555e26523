"""Hostile bundles (issue 12 item 12, runtime side): a seeded mutator over model.json of the
golden bundles and a few hand-built ones. Whatever the mutation -- integers >= 2**63 in axes
and sizes, zero strides, negative sizes, floats where ints belong, huge pool sizes, wrong
refs -- load, predict, step and summary give a project error or work; never a traceback.

``RNNCONVERT_FUZZ_SCALE`` (default 1) multiplies the number of mutants."""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import copy_doc

from rnnconvert.errors import RnnConvertError
from rnnconvert.runtime import load
from rnnconvert.summary import summary, to_dot

GOLDEN = Path(__file__).parent / "data" / "golden"
BUNDLES = sorted(p.parent for p in GOLDEN.glob("*/bundle*/model.json"))
SCALE = float(os.environ.get("RNNCONVERT_FUZZ_SCALE", "1"))
MUTANTS = max(1, int(60 * SCALE))  # per bundle

HOSTILE_INTS = [0, -1, -(2**31), 2**31, 2**53 + 1, 2**63, 2**64 + 7, 10**30, 1 << 40, 7]
HOSTILE = HOSTILE_INTS + [0.5, -2.5, 1e308, True, None, "x", "", [], {}, [0], [2**63, 1], {"type": "relu"}]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of ``value`` (dict keys and list indices)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy_doc(doc)
    # the parts a runtime interprets: nodes (configs, shapes, refs), inputs, outputs
    paths = [p for p in _paths(doc) if p and p[0] in ("nodes", "inputs", "outputs") and len(p) > 1]
    for _ in range(rng.choice([1, 1, 2, 3])):
        path = rng.choice(paths)
        parent, key = _get(doc, path[:-1]), path[-1]
        old = parent[key]
        r = rng.random()
        if isinstance(old, bool) or not isinstance(old, (int, float)) or r < 0.3:
            new = rng.choice(HOSTILE)
        elif r < 0.6:
            new = rng.choice(HOSTILE_INTS)
        else:
            new = old * rng.choice([0, -1, 2, 1000, 10**9]) + rng.choice([0, 1])
        if isinstance(parent, list) and rng.random() < 0.15:
            parent.append(copy.deepcopy(old)) if rng.random() < 0.5 else parent.pop(key)
        else:
            parent[key] = copy.deepcopy(new)
        paths = [p for p in _paths(doc) if p and p[0] in ("nodes", "inputs", "outputs") and len(p) > 1]
    return doc


def _small_inputs(model: Any, batch: int) -> list[np.ndarray]:
    xs = []
    for info in model.inputs:
        shape = [batch] + [d if isinstance(d, int) and 0 < d <= 8 else 3 for d in info.shape[1:]]
        if str(info.dtype) == "string":
            xs.append(np.full(shape, "a b", dtype=object))
            continue
        dtype = np.int32 if str(info.dtype).startswith("int") else np.float32
        xs.append(
            np.ones(shape, dtype) if dtype == np.int32 else np.random.default_rng(0).normal(size=shape).astype(dtype)
        )
    return xs


def _exercise(bundle: Path) -> None:
    """load + predict + step + summary; only project errors may escape."""
    model = load(bundle, max_elements=1 << 22)
    summary(model)
    to_dot(model)
    batch = model.batch_size if isinstance(model.batch_size, int) and 0 < model.batch_size <= 8 else 2
    xs = _small_inputs(model, batch)
    try:
        model.predict(xs)
    finally:
        summary(model)
    model.stream_plan()
    state = model.initial_state(batch)  # a model that cannot stream says so (a project error)
    model.step(xs, state)  # the whole inputs as one chunk


def _write(src: Path, dst: Path, doc: dict[str, Any]) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        if f.name != "model.json":
            shutil.copy(f, dst / f.name)  # weights.npz and its sha256 unchanged
    (dst / "model.json").write_text(json.dumps(doc))
    return dst


def _streamable() -> dict[str, Any]:
    """Hand-built from the 1.2.0 golden: without its whole-sequence softmax branch it streams
    (LSTM from a conditioning input's initial state, then a per-step Dense), so step runs."""
    doc = json.loads((GOLDEN / "1.2.0" / "bundle" / "model.json").read_text())
    doc["nodes"] = [n for n in doc["nodes"] if n["name"] not in ("over_time", "score")]
    doc["outputs"] = [o for o in doc["outputs"] if o["name"] != "over_time"]
    doc.pop("test_vectors")
    return doc


SOURCES = [(b, None) for b in BUNDLES] + [(GOLDEN / "1.2.0" / "bundle", "streamable")]


@pytest.mark.parametrize(
    "bundle,variant", SOURCES, ids=[f"{b.relative_to(GOLDEN)}{'-' + v if v else ''}" for b, v in SOURCES]
)
def test_mutated_bundles_give_project_errors_only(bundle, variant, tmp_path):
    base = _streamable() if variant else json.loads((bundle / "model.json").read_text())
    _mutants(bundle, base, random.Random(f"{bundle.relative_to(GOLDEN)}{variant}"), tmp_path)


def _mutants(bundle: Path, base: dict[str, Any], rng: random.Random, tmp_path: Path) -> None:
    escaped = []
    for k in range(MUTANTS):
        doc = _mutate(base, rng)
        d = _write(bundle, tmp_path / f"m{k}", doc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                _exercise(d)
            except RnnConvertError:
                pass
            except Exception as exc:  # noqa: BLE001 -- the point: report what escaped
                escaped.append(f"mutant {k}: {type(exc).__name__}: {exc} at {_where(exc)}"[:400])
        shutil.rmtree(d)
    assert not escaped, "\n".join(escaped)


def _where(exc: BaseException) -> str:
    """The innermost frame of rnnconvert's own code in the traceback."""
    tb, last = exc.__traceback__, "?"
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if "/rnnconvert/" in name:
            last = f"{name.split('/rnnconvert/')[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    return last


SYSTEMATIC = [0, -1, 2**63, 2**64, 1.5, 10**12, 1 << 31]


@pytest.mark.parametrize(
    "bundle,variant", SOURCES, ids=[f"{b.relative_to(GOLDEN)}{'-' + v if v else ''}" for b, v in SOURCES]
)
def test_every_integer_in_every_config_at_every_hostile_value(bundle, variant, tmp_path):
    """Not random: each integer (or list of integers) in each node's config -- strides, pool
    sizes, axes, units, padding -- and each declared size, set to zero, negative, >= 2**63,
    a float or huge."""
    base = _streamable() if variant else json.loads((bundle / "model.json").read_text())
    _systematic(bundle, base, tmp_path)


def _targets(base: dict[str, Any]) -> list[tuple]:
    """Each integer of each node's config (the first of a list of them, or of a list of
    pairs) and the last declared size of each output."""
    targets: list[tuple] = []
    for i, node in enumerate(base["nodes"]):
        for key, value in (node.get("config") or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                targets.append(("nodes", i, "config", key))
            elif isinstance(value, list) and value and all(isinstance(v, int) for v in value):
                targets.append(("nodes", i, "config", key, 0))
            elif isinstance(value, list) and value and isinstance(value[0], list) and value[0]:
                if all(isinstance(v, int) for v in value[0]):
                    targets.append(("nodes", i, "config", key, 0, 0))  # [[before, after], ...]
        for k, out in enumerate(node.get("outputs") or []):
            if isinstance(out, dict) and isinstance(out.get("shape"), list) and len(out["shape"]) > 1:
                targets.append(("nodes", i, "outputs", k, "shape", len(out["shape"]) - 1))
    return targets


def _systematic(bundle: Path, base: dict[str, Any], tmp_path: Path) -> None:
    escaped = []
    for t, path in enumerate(_targets(base)):
        for v, value in enumerate(SYSTEMATIC):
            doc = copy_doc(base)
            _get(doc, path[:-1])[path[-1]] = value
            d = _write(bundle, tmp_path / f"t{t}-{v}", doc)
            try:
                _exercise(d)
            except RnnConvertError:
                pass
            except Exception as exc:  # noqa: BLE001
                escaped.append(f"{path}={value}: {type(exc).__name__}: {exc} at {_where(exc)}"[:400])
            shutil.rmtree(d)
    assert not escaped, "\n".join(escaped)


#: A zoo case of each format 1.3.0 topic (conv, pool, resize, attn, norm, text, tfop): their
#: bundles, converted from the Keras 3 files, mutated as the golden ones above.
NEW_OP_CASES = [
    "conv3d_options",
    "conv_transpose_options",
    "pool3d_padding_cropping_upsampling",
    "adaptive_pooling_1d_2d_3d",
    "resizing_every_interpolation",
    "upsampling2d_centercrop_rescaling",
    "attn_einsum_dense",
    "attn_gqa",
    "norm_layers",
    "ops_activations",
    "text_lookups",
    "text_vectorization",
    "text_hashing",
    "tfop_tensor_ops",
]


@pytest.mark.keras
@pytest.mark.parametrize("case", NEW_OP_CASES)
def test_new_op_bundles_mutated_give_project_errors_only(case, zoo_bundle, tmp_path):
    bundle = zoo_bundle(case, "keras3", "keras").out_dir
    base = json.loads((bundle / "model.json").read_text())
    base.pop("test_vectors", None)
    _mutants(bundle, base, random.Random(case), tmp_path)


@pytest.mark.keras
@pytest.mark.parametrize("case", NEW_OP_CASES)
def test_new_op_bundles_every_integer_at_every_hostile_value(case, zoo_bundle, tmp_path):
    bundle = zoo_bundle(case, "keras3", "keras").out_dir
    base = json.loads((bundle / "model.json").read_text())
    base.pop("test_vectors", None)
    _systematic(bundle, base, tmp_path)


JS = Path(__file__).resolve().parent.parent / "js"
NODE = shutil.which("node")
#: Loads each bundle directory given and predicts small inputs; prints what escaped that is
#: not one of the runtime's own errors.
JS_EXERCISE = """
import { load, RnnConvertError } from './index.js';
const escaped = [];
let ran = 0;
for (const dir of JSON.parse(process.argv[1])) {
  try {
    const m = await load(dir, { maxElements: 1 << 22 });
    const batch = Number.isInteger(m.batchSize) && m.batchSize > 0 && m.batchSize <= 8 ? m.batchSize : 2;
    const xs = m.inputs.map((info) => {
      const shape = [batch, ...info.shape.slice(1).map((d) => (Number.isInteger(d) && d > 0 ? d : 3))];
      const n = shape.reduce((a, b) => a * b, 1);
      if (info.dtype === 'string') return { shape, data: Array(n).fill('a b') };
      return { shape, data: info.dtype.startsWith('int') ? new Int32Array(n).fill(1) : new Float32Array(n).fill(0.5) };
    });
    m.predict(xs);
    ran += 1;
  } catch (e) {
    if (!(e instanceof RnnConvertError)) escaped.push(`${dir}: ${e && e.constructor && e.constructor.name}: ${e && e.message}`.slice(0, 400));
  }
}
console.log(JSON.stringify({ escaped, ran }));
"""


@pytest.mark.keras
@pytest.mark.skipif(NODE is None, reason="the JavaScript runtime needs Node.js on PATH")
@pytest.mark.parametrize("case", NEW_OP_CASES)
def test_js_refuses_the_same_mutants_with_its_own_errors(case, zoo_bundle, tmp_path):
    """The JS runtime (js/src/checks.js and the ops) on the systematic sweep and the random
    mutants of each new-op bundle: only its own error types (FormatError, InputError,
    ResourceError, ...), never a TypeError or RangeError."""
    bundle = zoo_bundle(case, "keras3", "keras").out_dir
    base = json.loads((bundle / "model.json").read_text())
    base.pop("test_vectors", None)
    dirs, rng = [], random.Random(case)
    for t, path in enumerate(_targets(base)):
        for v, value in enumerate(SYSTEMATIC):
            doc = copy_doc(base)
            _get(doc, path[:-1])[path[-1]] = value
            dirs.append(str(_write(bundle, tmp_path / f"t{t}-{v}", doc)))
    for k in range(MUTANTS):
        dirs.append(str(_write(bundle, tmp_path / f"m{k}", _mutate(base, rng))))
    run = subprocess.run(
        [NODE, "--input-type=module", "-e", JS_EXERCISE, json.dumps(dirs)],
        capture_output=True,
        text=True,
        cwd=JS,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert not got["escaped"], "\n".join(got["escaped"][:20])
    assert got["ran"] > 0  # the harmless mutants run

"""Format 1.3.0 ops whose output can outgrow their inputs from their config (broadcasting,
MatMul, Stack, encoded widths, TextVectorization's length, EinsumDense's kernel letters,
attention scores): a node declaring less than it will hold (None, or a lower rank) is
refused with a ResourceError BEFORE it runs -- nothing large is allocated
(runtime/estimate.py and the size rules of runtime/spec/{tfop,text,attn}.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnconvert.converter.writer import write_bundle
from rnnconvert.errors import ResourceError
from rnnconvert.runtime.model import Model

LIMIT = 200_000  # max_elements: every case below would hold millions of values
PEAK = 8 << 20  # bytes allocated while refusing (the real outputs are >= 16 MiB)


def _model(inputs: list[tuple[str, list, str]], op: str, config: dict, outs: list[list], weights=None) -> Model:
    return Model.from_arrays(*_doc(inputs, op, config, outs, weights), max_elements=LIMIT)


def _doc(inputs: list[tuple[str, list, str]], op: str, config: dict, outs: list[list], weights=None) -> tuple:
    arrays = {f"n/{k}": v for k, v in (weights or {}).items()}
    doc: dict[str, Any] = {
        "format": "rnnconvert.bundle",
        "format_version": "1.3.0",
        "inputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in inputs],
        "outputs": [
            {"name": f"o{k}", "from": ["n", k], "shape": s, "dtype": "float32" if op != "Compare" else "bool"}
            for k, s in enumerate(outs)
        ],
        "nodes": [
            {
                "name": "n",
                "op": op,
                "inputs": [[n, 0] for n, _, _ in inputs] if op != "Stack" else [[inputs[0][0], 0]] * 64,
                "config": config,
                "weights": {k: f"n/{k}" for k in (weights or {})},
                "outputs": [{"shape": s, "dtype": "float32" if op != "Compare" else "bool"} for s in outs],
            }
        ],
        "weights": {"file": "weights.npz", "sha256": "", "arrays": {}},
    }
    return doc, arrays


F, I, S = "float32", "int32", "string"
_ENC = {"mask_token": None, "salt": None}
_LOOKUP = {"key_dtype": "string", "vocabulary": ["a"], "num_oov_indices": 1, "oov_method": "farmhash", **_ENC}
_TV = {"standardize": None, "split": "whitespace", "ngrams": None, "vocabulary": ["a"], "depth": 3}
_RESIZE = {
    "interpolation": "bilinear",
    "antialias": False,
    "aspect": "stretch",
    "fill_value": 0.0,
    "data_format": "channels_last",
}
_ATT = {"scale": 1.0, "scale_query": False, "masking": "add", "fill": -1e9, "causal": False, "attention_axes": [1]}

CASES = {
    # (B, 3000, 1) + (B, 1, 3000): a (B, 3000, 3000) sum, declared free (or as a lower rank)
    "Binary": (
        [("a", [None, 3000, 1], F), ("b", [None, 1, 3000], F)],
        "Binary",
        {"fn": "add"},
        [[None, 3000, None]],
        None,
    ),
    "Binary-lower-rank": (
        [("a", [None, 3000, 1], F), ("b", [None, 1, 3000], F)],
        "Binary",
        {"fn": "multiply"},
        [[None, 3000]],
        None,
    ),
    "Compare": (
        [("a", [None, 3000, 1], F), ("b", [None, 1, 3000], F)],
        "Compare",
        {"fn": "greater"},
        [[None, 3000, None]],
        None,
    ),
    "MatMul": (
        [("a", [None, 3000, 1], F), ("b", [None, 1, 3000], F)],
        "MatMul",
        {"transpose_a": False, "transpose_b": False},
        [[None, 3000, None]],
        None,
    ),
    # one (B, 40000) input stacked 64 times, declared as its own shape
    "Stack": ([("a", [None, 40000], F)], "Stack", {"axis": 1}, [[None, 40000]], None),
    "CategoryEncoding": (
        [("a", [None, 3], I)],
        "CategoryEncoding",
        {"num_tokens": 1 << 24, "output_mode": "multi_hot"},
        [[None, None]],
        None,
    ),
    "Hashing": (
        [("a", [None, 3], I)],
        "Hashing",
        {"num_bins": 1 << 24, "output_mode": "count", **_ENC},
        [[None, None]],
        None,
    ),
    "Lookup": (
        [("a", [None, 3], S)],
        "Lookup",
        {**_LOOKUP, "output_mode": "multi_hot", "depth": 1 << 24},
        [[None, None]],
        None,
    ),
    "TextVectorization-length": (
        [("a", [None], S)],
        "TextVectorization",
        {**_TV, "output_mode": "int", "output_sequence_length": 1 << 20},
        [[None, None]],
        None,
    ),
    "TextVectorization-depth": (
        [("a", [None], S)],
        "TextVectorization",
        {**_TV, "output_mode": "count", "output_sequence_length": None, "depth": 1 << 24},
        [[None, None]],
        None,
    ),
    # (B, 4) x kernel (1000, 1000) -> (B, 4, 1000, 1000)
    "EinsumDense": (
        [("a", [None, 4], F)],
        "EinsumDense",
        {"equation": "ab,cd->abcd", "activation": {"type": "linear"}},
        [[None, 4, None, None]],
        {"kernel": np.zeros((1000, 1000), np.float32)},
    ),
    # (1, 3000, 1, 1) query and key: (1, 1, 3000, 3000) scores
    "DotProductAttention": (
        [("q", [None, 3000, 1, 1], F), ("k", [None, 3000, 1, 1], F), ("v", [None, 3000, 1, 1], F)],
        "DotProductAttention",
        _ATT,
        [[None, 3000, 1, 1], [None, 1, None, None]],
        None,
    ),
    # (B, 4, 4, 1) images resized to 4000 x 4000, declared free or as a lower rank
    "Resize2D": (
        [("a", [None, 4, 4, 1], F)],
        "Resize2D",
        {**_RESIZE, "output_size": [4000, 4000]},
        [[None, None, None, 1]],
        None,
    ),
    "Resize2D-lower-rank": (
        [("a", [None, 4, 4, 1], F)],
        "Resize2D",
        {**_RESIZE, "factor": [1000, 1000]},
        [[None, 4]],
        None,
    ),
    # a (B, 1, 256, 1) row padded to a 4096 x 1 aspect before its resize: a (B, ~1M, 256, 1) temporary
    "Resize2D-pad-aspect": (
        [("a", [None, 1, 256, 1], F)],
        "Resize2D",
        {**_RESIZE, "output_size": [4096, 1], "aspect": "pad"},
        [[None, 4096, 1, 1]],
        None,
    ),
    "CenterCrop": (
        [("a", [None, 4, 4, 1], F)],
        "CenterCrop",
        {"height": 4000, "width": 4000, "data_format": "channels_last"},
        [[None, None, None, 1]],
        None,
    ),
    "AdaptivePool-lower-rank": (
        [("a", [None, 4, 4, 1], F)],
        "AdaptivePool",
        {"mode": "average", "output_size": [3000, 3000], "data_format": "channels_last"},
        [[None]],
        None,
    ),
    # 300 query heads over one key head of 300 keys: keys repeated to (1, 300, 300, 100)
    "DotProductAttention-grouped": (
        [("q", [None, 1, 300, 100], F), ("k", [None, 300, 1, 100], F), ("v", [None, 300, 1, 1], F)],
        "DotProductAttention",
        _ATT,
        [[None, 1, 300, 1], [None, 300, 1, 300]],
        None,
    ),
}


def _inputs(model: Model, batch: int) -> list[Any]:
    xs = []
    for info in model.inputs:
        shape = [batch] + [int(d) for d in info.shape[1:]]
        if str(info.dtype) == "string":
            xs.append(np.full(shape, "a", dtype=object))
        else:
            xs.append(np.ones(shape, np.int32 if str(info.dtype).startswith("int") else np.float32))
    return xs


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_config_that_grows_the_output_is_refused_before_the_node_runs(case):
    model = _model(*CASES[case])
    node = model.nodes[0]
    real, calls = node.call, []
    node.call = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    xs = _inputs(model, 1 if case.startswith("DotProductAttention") else 2)
    tracemalloc.start()
    try:
        with pytest.raises(ResourceError, match=f"'n' \\({CASES[case][1]}\\) would hold"):
            model.predict(xs if len(xs) > 1 else xs[0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert calls == []
    assert peak < PEAK, f"{peak:,} bytes allocated before the refusal"


def test_the_rules_let_an_honest_small_node_run():
    """The rules size the real output exactly: the same ops at a small size run."""
    a, b = np.ones((2, 3, 1), np.float32), np.ones((2, 1, 5), np.float32)
    m = _model([("a", [None, 3, 1], F), ("b", [None, 1, 5], F)], "MatMul", CASES["MatMul"][2], [[None, 3, 5]])
    assert m.predict([a, b]).shape == (2, 3, 5)
    m = _model(
        [("a", [None, 4], F)],
        "EinsumDense",
        CASES["EinsumDense"][2],
        [[None, 4, 3, 2]],
        {"kernel": np.ones((3, 2), np.float32)},
    )
    assert m.predict(np.ones((2, 4), np.float32)).shape == (2, 4, 3, 2)
    att = [("q", [None, 5, 2, 3], F), ("k", [None, 7, 2, 3], F), ("v", [None, 7, 2, 4], F)]
    m = _model(att, "DotProductAttention", _ATT, [[None, 5, 2, 4], [None, 2, 5, 7]])
    y, s = m.predict(
        [np.ones((1, 5, 2, 3), np.float32), np.ones((1, 7, 2, 3), np.float32), np.ones((1, 7, 2, 4), np.float32)]
    )
    assert y.shape == (1, 5, 2, 4) and s.shape == (1, 2, 5, 7)


JS = Path(__file__).resolve().parent.parent / "js"
NODE = shutil.which("node")
GOLDEN = Path(__file__).parent / "data" / "golden" / "1.2.0" / "bundle"


@pytest.mark.skipif(NODE is None, reason="the JavaScript runtime needs Node.js on PATH")
def test_the_js_runtime_refuses_the_same_nodes_before_they_run(tmp_path):
    """js/src/estimate.js: the same bundles give a ResourceError from the pre-run check
    ("would hold"), not a RangeError or an allocation of hundreds of MB."""
    runs = []
    for case, spec in sorted(CASES.items()):
        doc, arrays = _doc(*spec)
        doc["producer"] = {"name": "rnnconvert", "version": "0.1.0"}
        doc["source"] = json.loads((GOLDEN / "model.json").read_text())["source"]
        out = write_bundle(doc, arrays, tmp_path / case, force=False)
        batch = 1 if case.startswith("DotProductAttention") else 2
        xs = []
        for name, shape, dtype in spec[0]:
            full = [batch, *shape[1:]]
            n = int(np.prod(full))
            xs.append({"shape": full, "dtype": dtype, "n": n, "name": name})
        runs.append({"case": case, "dir": str(out), "inputs": xs})
    script = (
        "import { load } from './index.js';"
        f"const runs = {json.dumps(runs)}; const got = {{}};"
        "for (const r of runs) {"
        f"  const m = await load(r.dir, {{ maxElements: {LIMIT} }});"
        "  const xs = r.inputs.map((i) => ({ shape: i.shape, data: i.dtype === 'string' ? Array(i.n).fill('a') :"
        "    i.dtype === 'int32' ? new Int32Array(i.n).fill(1) : new Float32Array(i.n).fill(1) }));"
        "  try { m.predict(xs.length > 1 ? xs : xs[0]); got[r.case] = 'ran'; }"
        "  catch (e) { got[r.case] = `${e.constructor.name}: ${e.message}`; }"
        "}"
        "console.log(JSON.stringify({ got, mb: process.memoryUsage().arrayBuffers / 2 ** 20 }));"
    )
    run = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, cwd=JS)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    wrong = {
        c: g
        for c, g in result["got"].items()
        if not g.startswith(f"ResourceError: node 'n' ({CASES[c][1]}) would hold")
    }
    assert not wrong, wrong
    assert result["mb"] < 64, result

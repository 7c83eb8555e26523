"""Format 1.2 (F4): Attention's and MaskedMerge's masks are named inputs, not positional
inputs flagged in the config.

A converted Keras 3 model with both writes them by name and matches Keras; the same
bundle rewritten in the 1.1 positional form migrates and gives Keras's numbers too; the
1.1 golden bundle (an Attention with a query mask) migrates and reproduces its outputs;
hostile ``named_inputs`` are refused at load with a FormatError naming the node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from rnnconvert.errors import FormatError
from rnnconvert.runtime import load
from rnnconvert.runtime.bundle import read_bundle
from rnnconvert.runtime.plan import TensorInfo
from rnnconvert.runtime.streaming import plan_stream
from rnnconvert.schema import required_version
from rnnconvert.summary import summary, to_dot

GOLDEN = Path(__file__).parent / "data" / "golden"
ROOT = Path(__file__).resolve().parent.parent


def _tokens() -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.integers(1, 10, size=(5, 6)).astype(np.int32)
    x[0, 4:] = 0  # padded at the end
    x[1, :2] = 0  # at the start
    x[2, 2:4] = 0  # inside
    return x


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A Keras 3 model whose Attention gets a query and a value mask and whose Multiply
    merges a masked attention output with another masked input; its bundle, inputs and
    Keras's outputs."""
    keras = pytest.importorskip("keras")
    from rnnconvert.converter import convert

    keras.utils.set_random_seed(3)
    tok = keras.Input((6,), dtype="int32", name="tok")
    e1 = keras.layers.Embedding(10, 4, mask_zero=True, name="e1")(tok)
    e2 = keras.layers.Embedding(10, 4, mask_zero=True, name="e2")(tok)
    q = keras.layers.Dense(4, name="q")(e1)
    att = keras.layers.Attention(name="att")([q, e2])
    merged = keras.layers.Multiply(name="mul")([att, e2])
    y = keras.layers.GlobalAveragePooling1D(name="pool")(merged)
    model = keras.Model(tok, y)
    x = _tokens()
    want = np.asarray(model.predict(x, verbose=0))
    d = tmp_path_factory.mktemp("named")
    model.save(d / "m.keras")
    convert(d / "m.keras", d / "b")
    return d / "b", x, want


def _doc(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "model.json").read_text())


def _node(doc: dict[str, Any], op: str) -> dict[str, Any]:
    return next(n for n in doc["nodes"] if n["op"] == op)


def _copy(src: Path, dst: Path, edit: Any) -> Path:
    shutil.copytree(src, dst)
    doc = _doc(dst)
    edit(doc)
    (dst / "model.json").write_text(json.dumps(doc))
    return dst


@pytest.mark.keras
def test_converter_writes_masks_by_name_and_matches_keras(converted):
    bundle, x, want = converted
    doc = _doc(bundle)
    att, mul = _node(doc, "Attention"), _node(doc, "MaskedMerge")
    assert len(att["inputs"]) == 3 and set(att["named_inputs"]) == {"query_mask", "value_mask"}
    assert "query_mask" not in att["config"] and "value_mask" not in att["config"]
    assert len(mul["inputs"]) == 2 and set(mul["named_inputs"]) == {"mask_0", "mask_1"}
    assert "masked" not in mul["config"]
    assert doc["format_version"] == "1.2.0"
    np.testing.assert_allclose(load(bundle, verify=True).predict(x), want, rtol=1e-5, atol=1e-6)


def _to_1_1(doc: dict[str, Any]) -> None:
    """Rewrite a 1.2 document in 1.1's form: masks positional after the data inputs,
    flagged in the config; no array offsets (a 1.2 field)."""
    doc["format_version"] = "1.1.0"
    for spec in doc["weights"]["arrays"].values():
        spec.pop("offset", None)
        spec.pop("nbytes", None)
    for n in doc["nodes"]:
        named = n.pop("named_inputs", {})
        if n["op"] == "Attention":
            n["config"].update(query_mask="query_mask" in named, value_mask="value_mask" in named)
            n["inputs"] += [named[k] for k in ("query_mask", "value_mask") if k in named]
        elif n["op"] == "MaskedMerge":
            k_in = len(n["inputs"])
            n["config"]["masked"] = [f"mask_{k}" in named for k in range(k_in)]
            n["inputs"] += [named[f"mask_{k}"] for k in range(k_in) if f"mask_{k}" in named]


@pytest.mark.keras
def test_a_1_1_positional_bundle_migrates_and_matches_keras(converted, tmp_path):
    bundle, x, want = converted
    old = _copy(bundle, tmp_path / "old", _to_1_1)
    assert required_version(_doc(old)) == "1.1.0"  # the 1.1 form needs nothing newer
    b = read_bundle(old)
    assert b.declared_version == "1.1.0"
    att, mul = _node(b.doc, "Attention"), _node(b.doc, "MaskedMerge")
    assert att["named_inputs"] == _node(_doc(bundle), "Attention")["named_inputs"]
    assert mul["named_inputs"] == _node(_doc(bundle), "MaskedMerge")["named_inputs"]
    assert len(att["inputs"]) == 3 and len(mul["inputs"]) == 2
    np.testing.assert_allclose(load(old, verify=True).predict(x), want, rtol=1e-5, atol=1e-6)


def test_golden_1_1_attention_migrates_and_reproduces_keras():
    src = GOLDEN / "1.1.0" / "bundle"
    raw = _node(_doc(src), "Attention")
    assert raw["config"]["query_mask"] and len(raw["inputs"]) == 4  # the file as 1.1 wrote it
    att = _node(read_bundle(src).doc, "Attention")
    assert att["named_inputs"] == {"query_mask": raw["inputs"][3]}
    assert att["inputs"] == raw["inputs"][:3] and "query_mask" not in att["config"]
    expected = np.load(GOLDEN / "1.1.0" / "expected.npz")
    got = load(src).predict([expected["inputs_0"], expected["inputs_1"]])
    for k, y in enumerate(got):
        np.testing.assert_allclose(y, expected[f"outputs_{k}"], rtol=1e-4, atol=1e-5)


@pytest.mark.keras
def test_a_1_2_node_without_masks_is_stamped_1_2(converted):
    doc = _doc(converted[0])
    for spec in doc["weights"]["arrays"].values():
        spec.pop("offset", None)
        spec.pop("nbytes", None)
    for n in doc["nodes"]:
        n.pop("named_inputs", None)
    # 1.1 required the mask flags these nodes no longer carry: only a 1.2 reader reads them.
    assert required_version(doc) == "1.2.0"


def _set(op: str, named: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        _node(doc, op)["named_inputs"] = named

    return edit


def _first_input(doc: dict[str, Any]) -> list[Any]:
    return [doc["inputs"][0]["name"], 0]


HOSTILE = {
    "unknown attention name": (_set("Attention", {"key_mask": ["tok", 0]}), "unknown named input 'key_mask'"),
    "merge index past its inputs": (_set("MaskedMerge", {"mask_2": ["tok", 0]}), "unknown named input 'mask_2'"),
    "merge index with a leading zero": (_set("MaskedMerge", {"mask_01": ["tok", 0]}), "unknown named input"),
    "merge name without an index": (_set("MaskedMerge", {"mask": ["tok", 0]}), "unknown named input 'mask'"),
    "dangling reference": (_set("Attention", {"query_mask": ["nowhere", 0]}), "not an input or an earlier node"),
    "forward reference": (_set("Attention", {"query_mask": ["pool", 0]}), "not an input or an earlier node"),
    "output index out of range": (_set("Attention", {"query_mask": ["tok", 3]}), "which has 1"),
    "not a reference": (_set("Attention", {"query_mask": "tok"}), "must be a reference"),
    "not an object": (_set("Attention", [["tok", 0]]), "'named_inputs' must be an object"),
    "named input on an op with none": (_set("Dense", {"query_mask": ["tok", 0]}), "unknown named input"),
    "1.1 flag left in a 1.2 config": (
        lambda doc: _node(doc, "Attention")["config"].update(query_mask=True),
        "config key 'query_mask' was removed in format 1.2.0",
    ),
}


@pytest.mark.keras
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_named_inputs_are_refused_at_load(converted, tmp_path, case):
    edit, message = HOSTILE[case]
    b = _copy(converted[0], tmp_path / "b", edit)
    with pytest.raises(FormatError, match=message):
        load(b)


@pytest.mark.keras
def test_a_1_1_bundle_with_named_inputs_or_miscounted_masks_is_refused(converted, tmp_path):
    def named_in_1_1(doc: dict[str, Any]) -> None:
        _to_1_1(doc)
        _node(doc, "Dense")["named_inputs"] = {}

    with pytest.raises(FormatError, match="named inputs"):
        load(_copy(converted[0], tmp_path / "a", named_in_1_1))

    def miscounted(doc: dict[str, Any]) -> None:
        _to_1_1(doc)
        _node(doc, "Attention")["inputs"].pop()  # flags two masks, gives one

    with pytest.raises(FormatError, match="flags 2 mask input"):
        load(_copy(converted[0], tmp_path / "b", miscounted))


@pytest.mark.keras
def test_summary_and_dot_show_named_inputs(converted):
    model = load(converted[0])
    assert "query_mask <- " in summary(model)
    dot = to_dot(model)
    assert 'label="value_mask"' in dot and 'label="mask_1"' in dot


def test_stream_planner_reads_named_inputs():
    # A per-step node whose data inputs are streamed but whose named mask is a plain vector
    # cannot stream: the named reference counts as an input (it did not before F4's planner).
    inputs = [TensorInfo("x", (None, None, 4), "float32"), TensorInfo("c", (None, 4), "float32")]
    node = SimpleNamespace(
        name="mul", op="MaskedMerge", config={"mode": "mul"}, weights={}, inputs=[("x", 0), ("x", 0)],
        mask=None, initial_state=[], named={"mask_0": ("c", 0)}, out_shapes=[(None, None, 4)], n_outputs=1,
    )  # fmt: skip
    plan = plan_stream(inputs, [node], [("mul", 0)])
    assert plan.error is not None and "combines a streamed sequence" in plan.error
    node.named = {"mask_0": ("x", 0)}
    assert plan_stream(inputs, [node], [("mul", 0)]).error is None


@pytest.mark.keras
@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_js_reads_named_inputs_and_refuses_hostile_ones(converted, tmp_path):
    cli = ROOT / "js" / "bin" / "rnnconvert.js"
    ok = subprocess.run(["node", str(cli), "check", str(converted[0])], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    old = _copy(converted[0], tmp_path / "old", _to_1_1)
    ok = subprocess.run(["node", str(cli), "check", str(old)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _copy(converted[0], tmp_path / "bad", _set("MaskedMerge", {"mask_5": ["tok", 0]}))
    res = subprocess.run(["node", str(cli), "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "unknown named input 'mask_5'" in res.stdout + res.stderr

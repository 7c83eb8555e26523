"""``rnnconvert MODEL OUT --metadata FILE.json``: any JSON object, stored in model.json's
``metadata`` (format 1.3.0), returned by ``model.metadata`` in both runtimes, its keys shown
by ``inspect``; bad metadata is refused before anything is written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnconvert.converter import convert
from rnnconvert.errors import FormatError, InputError
from rnnconvert.runtime import load
from rnnconvert.runtime.metadata import MAX_METADATA_BYTES
from rnnconvert.schema import validate

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "charlstm" / "model.keras"
META = {"vocab": ["", "\n", "a", "é", "日本"], "scaler": {"mean": [0.5, -1.25], "scale": [2.0, 3.0]}, "n": 3}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rnnconvert", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("meta")
    (d / "meta.json").write_text(json.dumps(META, ensure_ascii=False), encoding="utf-8")
    run = _cli("convert", str(MODEL), str(d / "b"), "--metadata", str(d / "meta.json"))
    assert run.returncode == 0, run.stderr
    return d / "b"


def test_cli_stores_the_object_and_the_runtime_returns_it(bundle):
    doc = json.loads((bundle / "model.json").read_text(encoding="utf-8"))
    assert doc["metadata"] == META
    assert doc["format_version"] == "1.3.0"  # the field format 1.3.0 added
    validate(doc)
    model = load(bundle)
    assert model.metadata == META
    model.metadata["vocab"].append("x")  # a copy: the model's own is untouched
    assert model.metadata == META


def test_inspect_shows_the_keys(bundle):
    run = _cli("inspect", str(bundle))
    assert run.returncode == 0, run.stderr
    assert "Metadata: 3 key(s): 'n', 'scaler', 'vocab'" in run.stdout


def test_without_metadata_the_bundle_is_unchanged(tmp_path):
    convert(MODEL, tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "model.json").read_text())
    assert "metadata" not in doc and doc["format_version"] != "1.3.0"
    assert load(tmp_path / "b").metadata == {}
    assert "Metadata: none" in _cli("inspect", str(tmp_path / "b")).stdout


def test_a_dict_from_python(tmp_path):
    convert(MODEL, tmp_path / "b", metadata={"labels": ["neg", "pos"]})
    assert load(tmp_path / "b").metadata == {"labels": ["neg", "pos"]}


@pytest.mark.parametrize(
    "text,why",
    [
        ('["a", "b"]', "must be a JSON object"),
        ('{"x": NaN}', "not valid JSON"),
        ('{"x": 1', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ('{"a":' * 70 + "1" + "}" * 70, "deeper than"),
    ],
)
def test_bad_metadata_files_are_refused_before_writing(tmp_path, text, why):
    f = tmp_path / "m.json"
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError, match=why):
        convert(MODEL, tmp_path / "b", metadata=f)
    assert not (tmp_path / "b").exists()
    run = _cli("convert", str(MODEL), str(tmp_path / "b"), "--metadata", str(f))
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_size_bound(tmp_path):
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"x": "a" * MAX_METADATA_BYTES}))
    with pytest.raises(InputError, match="bound"):
        convert(MODEL, tmp_path / "b", metadata=f)
    with pytest.raises(InputError, match="bound"):
        convert(MODEL, tmp_path / "b", metadata={"x": "a" * MAX_METADATA_BYTES})
    with pytest.raises(InputError, match="not a regular JSON file|metadata"):
        convert(MODEL, tmp_path / "b", metadata=tmp_path)
    with pytest.raises(InputError, match="plain JSON"):
        convert(MODEL, tmp_path / "b", metadata={"x": object()})


def test_runtime_refuses_a_non_object_and_an_old_version(bundle, tmp_path):
    for edit, why in (
        (lambda d: d.update(metadata=[1, 2]), "metadata: must be a JSON object"),
        (lambda d: d.update(format_version="1.2.0"), "metadata \\(added in format 1.3.0\\)"),
    ):
        dst = tmp_path / f"e{len(list(tmp_path.iterdir()))}"
        shutil.copytree(bundle, dst)
        doc = json.loads((dst / "model.json").read_text())
        edit(doc)
        (dst / "model.json").write_text(json.dumps(doc))
        with pytest.raises(FormatError, match=why):
            load(dst)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_js_runtime_returns_it(bundle):
    script = (
        f"import {{ load }} from {json.dumps((ROOT / 'js' / 'src' / 'model.js').as_uri())};"
        f"const m = await load({json.dumps(str(bundle))});"
        "const a = m.metadata; a.vocab.push('x');"
        "console.log(JSON.stringify(m.metadata));"
    )
    run = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == META


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_js_runtime_refuses_a_non_object(bundle, tmp_path):
    dst = tmp_path / "bad"
    shutil.copytree(bundle, dst)
    doc = json.loads((dst / "model.json").read_text())
    doc["metadata"] = ["not", "an", "object"]
    (dst / "model.json").write_text(json.dumps(doc))
    script = (
        f"import {{ load }} from {json.dumps((ROOT / 'js' / 'src' / 'model.js').as_uri())};"
        f"try {{ await load({json.dumps(str(dst))}); console.log('loaded'); }}"
        "catch (e) { console.log(e.name + ': ' + e.message); }"
    )
    run = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=120)
    assert "FormatError" in run.stdout and "metadata must be a JSON object" in run.stdout, run.stdout + run.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
@pytest.mark.skipif(
    not (ROOT / "js" / "dist" / "rnnconvert.js").exists(),
    reason="js/dist/rnnconvert.js (the package entry the demo imports) is not built: make js-dist",
)
def test_web_demo_reads_the_vocabulary_from_the_bundle(tmp_path):
    """js/web/demo.js takes the example's vocabulary from model.metadata and continues a seed
    exactly as the NumPy runtime does (greedy). The demo imports the built package entry
    (make test builds it before pytest)."""
    import numpy as np

    example = ROOT / "examples" / "charlstm"
    convert(example / "model.keras", tmp_path / "b", metadata=example / "metadata.json")
    model = load(tmp_path / "b")
    vocab = model.metadata["vocab"]
    seed = "The Zen of Python"
    ids = np.array([[vocab.index(c) for c in seed]], np.int32)
    p, state = model.step(ids, model.initial_state(batch_size=1))
    text = seed
    for _ in range(12):
        nxt = int(np.argmax(p[0]))
        text += vocab[nxt]
        p, state = model.step(np.array([nxt], np.int32), state)
    script = (
        f"import {{ setup }} from {json.dumps((ROOT / 'js' / 'web' / 'demo.js').as_uri())};"
        f"const {{ generate }} = await setup({json.dumps(str(tmp_path / 'b'))});"
        f"console.log(JSON.stringify(generate({json.dumps(seed)}, 12, 0)));"
    )
    run = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == text

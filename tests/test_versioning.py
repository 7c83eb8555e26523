"""Versioning: golden bundles of every released format keep loading; migrations move one
step at a time; newer majors are refused naming both versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_parity

from rnnconvert import schema
from rnnconvert.converter import convert
from rnnconvert.errors import FormatError, VersionError
from rnnconvert.runtime import load
from rnnconvert.runtime.verify import run_vectors

GOLDEN = Path(__file__).parent / "data" / "golden"
RELEASED = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def test_every_release_has_a_golden_bundle():
    assert schema.FORMAT_VERSION in RELEASED


GOLDEN_BUNDLES = [(v, b.name) for v in RELEASED for b in sorted((GOLDEN / v).iterdir()) if b.name.startswith("bundle")]


def _expected(d: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """expected.npz: ``inputs``/``outputs``, or ``inputs_<i>``/``outputs_<i>`` for several."""
    ref = np.load(d / "expected.npz")
    if "inputs" in ref.files:
        return [ref["inputs"]], [ref["outputs"]]

    def pick(prefix):
        return [
            ref[k] for k in sorted((k for k in ref.files if k.startswith(prefix)), key=lambda k: int(k.split("_")[1]))
        ]

    return pick("inputs_"), pick("outputs_")


@pytest.mark.parametrize("version, bundle", GOLDEN_BUNDLES)
def test_golden_bundle_loads_and_matches_keras(version, bundle):
    d = GOLDEN / version
    doc = json.loads((d / bundle / "model.json").read_text())
    assert doc["format_version"] == version
    model = load(d / bundle, verify=True)
    inputs, outputs = _expected(d)
    got = model.predict(inputs if len(inputs) > 1 else inputs[0])
    got = got if isinstance(got, list) else [got]
    if not doc["test_vectors"].get("quantization_error"):
        assert_parity(got, outputs, f"golden {version}/{bundle}")
    # else: the cost of quantized weights was measured on the test vectors' inputs only, so
    # only those are held to it (run_vectors below); other inputs may cost somewhat more.
    report = run_vectors(model)
    assert report is not None and report.ok
    schema.validate(doc)


def test_released_schema_is_frozen():
    # The 1.x schema file may only grow by minor versions; its identity is pinned here.
    s = schema.load_schema(1)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["properties"]["format_version"]["pattern"] == "^1\\.[0-9]+\\.[0-9]+$"
    with pytest.raises(VersionError):
        schema.load_schema(2)


def test_migrations_run_one_step_at_a_time(monkeypatch, tmp_path):
    shutil.copytree(GOLDEN / "1.0.0" / "bundle", tmp_path / "b")
    steps = []

    def step(frm, to):
        def fn(doc):
            steps.append(frm)
            return {**doc, "format_version": to}

        return fn

    monkeypatch.setattr(schema, "FORMAT_VERSION", "1.2.0")
    monkeypatch.setitem(schema.MIGRATIONS, (1, 0), step("1.0", "1.1.0"))
    monkeypatch.setitem(schema.MIGRATIONS, (1, 1), step("1.1", "1.2.0"))
    model = load(tmp_path / "b")
    assert steps == ["1.0", "1.1"] and model.format_version == "1.2.0"

    monkeypatch.setitem(schema.MIGRATIONS, (1, 0), lambda doc: doc)  # a migration that does not advance
    with pytest.raises(FormatError, match="did not advance"):
        load(tmp_path / "b")


def test_newer_major_is_refused_with_both_versions(tmp_path):
    shutil.copytree(GOLDEN / "1.0.0" / "bundle", tmp_path / "b")
    p = tmp_path / "b" / "model.json"
    doc = json.loads(p.read_text())
    doc["format_version"] = "2.0.0"
    p.write_text(json.dumps(doc))
    with pytest.raises(VersionError) as info:
        load(tmp_path / "b")
    assert "2.0.0" in str(info.value) and schema.FORMAT_VERSION in str(info.value)


def test_op_tables_agree_with_runtime_and_schema():
    from rnnconvert.runtime.ops import OPS

    by_version = schema.ops_by_version()
    assert set().union(*by_version.values()) == set(OPS)
    assert set(OPS) == set(schema.load_schema(1)["$defs"]["node"]["properties"]["op"]["enum"])
    assert "1.0.0" in by_version and max(by_version, key=schema.parse_version) <= schema.FORMAT_VERSION


def test_converter_stamps_the_oldest_version_that_reads_the_bundle(tmp_path):
    """The stamp is what the bundle uses: every bundle written now carries array offsets
    (1.2.0); without them, a plain model needs 1.0.0 and a quantized or Conv1D one 1.1.0."""
    import keras as K

    x = K.Input((5, 3))
    plain = K.Model(x, K.layers.Dense(2)(K.layers.LSTM(4)(x)))
    r = convert(plain, tmp_path / "plain")
    assert r.doc["format_version"] == "1.2.0"
    assert load(tmp_path / "plain").format_version == schema.FORMAT_VERSION

    def without_offsets(doc):
        doc = json.loads(json.dumps(doc))
        for a in doc["weights"]["arrays"].values():
            a.pop("offset"), a.pop("nbytes")
        return schema.required_version(doc)

    assert without_offsets(r.doc) == "1.0.0"
    r = convert(plain, tmp_path / "int8", dtype="int8")  # weights with a quantization entry: 1.1
    assert without_offsets(r.doc) == "1.1.0"
    conv = K.Model(x, K.layers.Conv1D(2, 3)(x))
    assert without_offsets(convert(conv, tmp_path / "conv").doc) == "1.1.0"


@pytest.mark.parametrize("bundle", ["conv", "int8"])
def test_bundle_using_what_its_version_lacks_is_refused(tmp_path, bundle):
    import keras as K

    x = K.Input((5, 3))
    if bundle == "conv":
        convert(K.Model(x, K.layers.Conv1D(2, 3)(x)), tmp_path / "b")
    else:
        convert(K.Model(x, K.layers.LSTM(4)(x)), tmp_path / "b", dtype="int8")
    p = tmp_path / "b" / "model.json"
    doc = json.loads(p.read_text())
    doc["format_version"] = "1.0.0"
    p.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="declares format 1.0.0 but uses .*added in format 1.1.0") as info:
        load(tmp_path / "b")
    assert ("'Conv1D'" if bundle == "conv" else "reduced precision") in str(info.value)


def _schema_mutants(doc: dict, rng: np.random.Generator, n: int) -> list[dict]:
    """Copies of ``doc`` with one value replaced somewhere: an op renamed, a config value of the
    wrong type, an activation type changed, a key deleted, a node turned into a list."""
    from helpers import copy_doc

    paths: list[tuple] = []
    stack: list[tuple[tuple, object]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for k, v in items:
            paths.append((*path, k))
            stack.append(((*path, k), v))
    odd = ["LSTM", "Dense", "relu", "sigmoid", "nope", 1, -1, 2.5, None, True, [], {}, "", [1, 2], {"type": "tanh"}]
    out = []
    for _ in range(n):
        mutant = copy_doc(doc)
        path = paths[int(rng.integers(len(paths)))]
        parent = mutant
        for k in path[:-1]:
            parent = parent[k]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = odd[int(rng.integers(len(odd)))]
        out.append(mutant)
    return out


@pytest.mark.parametrize("version, bundle", GOLDEN_BUNDLES)
def test_dispatching_validator_agrees_with_plain_jsonschema(version, bundle):
    """schema.validation looks the op-keyed ``allOf`` branches up instead of trying each ``if``:
    on every golden document and 40 mutants of it, the verdict and the best error (message and
    path) are those of jsonschema's own Draft 2020-12 validator."""
    import jsonschema

    from rnnconvert.schema.validation import validator_for

    doc = schema.migrate(json.loads((GOLDEN / version / bundle / "model.json").read_text()))
    full = schema.load_schema(1)
    plain, fast = jsonschema.Draft202012Validator(full), validator_for(full)
    rng = np.random.default_rng(len(version) * 31 + len(bundle))
    invalid = 0
    for k, d in enumerate([doc, *_schema_mutants(doc, rng, 40)]):
        want = jsonschema.exceptions.best_match(plain.iter_errors(d))
        got = jsonschema.exceptions.best_match(fast.iter_errors(d))
        assert (got is None) == (want is None), f"mutant {k}: {want} / {got}"
        if want is not None:
            invalid += 1
            assert (got.message, list(got.absolute_path)) == (want.message, list(want.absolute_path)), k
    assert invalid > 12  # the mutants do break the schema

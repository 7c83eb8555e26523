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
from rnnconvert.errors import FormatError, VersionError
from rnnconvert.runtime import load
from rnnconvert.runtime.verify import run_vectors

GOLDEN = Path(__file__).parent / "data" / "golden"
RELEASED = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def test_every_release_has_a_golden_bundle():
    assert schema.FORMAT_VERSION in RELEASED


@pytest.mark.parametrize("version", RELEASED)
def test_golden_bundle_loads_and_matches_keras(version):
    d = GOLDEN / version
    model = load(d / "bundle", verify=True)
    ref = np.load(d / "expected.npz")
    assert_parity(model.predict(ref["inputs"]), ref["outputs"], f"golden {version}")
    report = run_vectors(model)
    assert report is not None and report.ok
    schema.validate(json.loads((d / "bundle" / "model.json").read_text()))


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

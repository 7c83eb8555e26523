"""The shipped example converts and matches the outputs Keras recorded when it was trained."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import assert_parity

from rnnconvert.converter import convert
from rnnconvert.runtime import load

EXAMPLE = Path(__file__).parent.parent / "examples"


def test_example_matches_keras_reference(tmp_path):
    convert(EXAMPLE / "charlstm" / "model.keras", tmp_path / "b")
    ref = np.load(EXAMPLE / "charlstm" / "reference.npz")
    assert_parity(load(tmp_path / "b").predict(ref["inputs"]), ref["outputs"], "example charlstm")


def test_demo_script_runs(tmp_path):
    convert(EXAMPLE / "charlstm" / "model.keras", tmp_path / "b", metadata=EXAMPLE / "charlstm" / "metadata.json")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py"), str(tmp_path / "b")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "max |rnnconvert - keras|" in proc.stdout


def test_demo_script_needs_the_vocabulary_in_the_bundle(tmp_path):
    convert(EXAMPLE / "charlstm" / "model.keras", tmp_path / "b")  # no --metadata
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py"), str(tmp_path / "b")], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "--metadata" in proc.stderr

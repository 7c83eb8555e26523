"""Packaging (#12.22): the license the metadata declares ships, with py.typed, the schema and
classifiers, in a wheel built from this tree; a changelog with an Unreleased section."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_license_changelog_and_metadata_agree():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = { text = "Apache-2.0" }' in pyproject
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert '"License :: OSI Approved :: Apache Software License"' in pyproject
    assert (ROOT / "rnnconvert" / "py.typed").is_file()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "Keep a Changelog" in changelog


def test_wheel_carries_license_types_and_schema(tmp_path):
    src = tmp_path / "src"  # build from a copy: the build writes build/ and egg-info beside the sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "rnnconvert", src / "rnnconvert", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("rnnconvert-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    assert "rnnconvert/py.typed" in names
    assert "rnnconvert/schema/bundle.v1.schema.json" in names
    assert any(n.endswith(".dist-info/LICENSE") or "/licenses/LICENSE" in n for n in names)
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert "rnnconvert/inspect.py" not in names  # renamed: it shadowed the standard library's inspect

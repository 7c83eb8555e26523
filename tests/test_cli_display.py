"""Text from files reaches the terminal escaped (#12.14): errors stay one line, summaries keep
their rows, and nothing a file holds can act on the terminal or crash ``print``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from rnnconvert import FormatError, UnsupportedError, cli
from rnnconvert.display import printable

GOLDEN = Path(__file__).parent / "data" / "golden" / "1.0.0" / "bundle"
HOSTILE = "gru\n\x1b[31mrnnconvert: error: \x1b[2J\u202e\ud800\x07\x85"


def _clean(text: str) -> bool:
    """No character a terminal acts on, except the newlines that end our own lines."""
    return all(ch == "\n" or ch.isprintable() for ch in text)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("lstm_1", "lstm_1"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("bidi\u202etxt", "bidi\\u202etxt"),
        ("lone\ud800", "lone\\ud800"),
        ("zero\u200bwidth\x7f\x85", "zero\\u200bwidth\\x7f\\x85"),
        ("été 中文 ok", "été 中文 ok"),  # printable non-ASCII text is kept
    ],
)
def test_printable_escapes_what_a_terminal_acts_on(raw, shown):
    assert printable(raw) == shown
    assert printable(printable(raw)) == shown  # idempotent: escaping twice changes nothing


def test_every_project_error_message_is_one_printable_line():
    exc = FormatError(f"model.json: node {HOSTILE}: broken")
    assert _clean(str(exc)) and "\n" not in str(exc)
    assert isinstance(exc, ValueError)  # still the same exception types
    un = UnsupportedError([(HOSTILE, "Conv2D", "layer class not supported")])
    assert "\n" not in str(un) and _clean(str(un))
    assert un.problems[0][0] == HOSTILE  # the data stays as the file had it


def test_converter_error_with_hostile_layer_names_stays_one_line(capsys, tmp_path):
    """A real conversion error (UnsupportedError) naming layers whose names hold escapes."""
    cfg = {
        "class_name": "Sequential",
        "config": {
            "name": "seq",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 5, 3], "name": "in\x1b[31m"}},
                {"class_name": "Conv2D", "config": {"name": "evil\nrnnconvert: ok \x1b[2J", "filters": 2}},
            ],
        },
        "keras_version": "2.15.0",
        "backend": "tensorflow",
    }
    (tmp_path / "arch.json").write_text(json.dumps(cfg))
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.attrs["layer_names"] = np.array([], dtype="S1")
        f.attrs["keras_version"] = b"2.15.0"
    code, out, err = run(
        capsys, str(tmp_path / "arch.json"), str(tmp_path / "out"), "--weights", str(tmp_path / "w.h5")
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("rnnconvert: error: ") and _clean(err)
    assert "evil\\nrnnconvert: ok \\x1b[2J (Conv2D)" in err


def _rename(value, old: str, new: str):
    """Every reference [old, i] and every name/layer field equal to ``old``, renamed."""
    if isinstance(value, dict):
        return {k: (new if k in ("name", "layer") and v == old else _rename(v, old, new)) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) == 2 and value[0] == old and isinstance(value[1], int):
            return [new, value[1]]
        return [_rename(v, old, new) for v in value]
    return value


@pytest.fixture
def hostile_bundle(tmp_path) -> Path:
    """The golden 1.0.0 bundle with its GRU node, output and input renamed to hostile text."""
    bundle = tmp_path / "bundle"
    shutil.copytree(GOLDEN, bundle)
    doc = json.loads((bundle / "model.json").read_text())
    doc = _rename(doc, "gru", HOSTILE)
    doc = _rename(doc, "input_1", "in\x1b]0;title\x07put")
    doc["outputs"][0]["name"] = "out\nput"
    doc["source"]["file"] = "model\x1b[2J.h5"
    (bundle / "model.json").write_text(json.dumps(doc))  # ensure_ascii: \ud800 stays a JSON escape
    return bundle


def test_inspect_and_check_escape_names_and_keep_their_rows(capsys, hostile_bundle):
    code, out, err = run(capsys, "inspect", str(hostile_bundle))
    assert code == 0, err
    assert _clean(out)
    lines = out.splitlines()
    # Header (2) + rules (3) + column titles + 1 input + 8 nodes + total, outputs, test vectors, metadata.
    assert len(lines) == 2 + 3 + 1 + 1 + 8 + 4
    gru_row = next(line for line in lines if line.startswith("gru\\n"))
    assert "(GRU)" in gru_row
    assert "Outputs: out\\nput (None, 2)" in out
    code, out, err = run(capsys, "check", str(hostile_bundle))
    assert code == 0, err
    assert _clean(out) and "out\\nput: max |error|" in out


def test_graph_file_escapes_names(capsys, hostile_bundle, tmp_path):
    code, _, err = run(capsys, "inspect", str(hostile_bundle), "--graph", str(tmp_path / "g.dot"))
    assert code == 0, err
    dot = (tmp_path / "g.dot").read_text()
    assert _clean(dot) and "\x1b" not in dot and '"bidirectional/merge" -> "gru\\\\n' in dot


def test_convert_summary_escapes_names(capsys, tmp_path):
    name = "d\n\x1b[2J"
    cfg = {
        "class_name": "Sequential",
        "config": {
            "name": "seq",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "name": "inp"}},
                {"class_name": "Dense", "config": {"name": name, "units": 2, "activation": "linear"}},
            ],
        },
        "keras_version": "2.15.0",
        "backend": "tensorflow",
    }
    (tmp_path / "arch.json").write_text(json.dumps(cfg))
    with h5py.File(tmp_path / "w.h5", "w") as f:  # the legacy save_weights layout
        f.attrs["layer_names"] = np.array([name.encode()])
        f.attrs["keras_version"] = b"2.15.0"
        g = f.create_group(name)
        g.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
        g.create_dataset(f"{name}/kernel:0", data=np.ones((3, 2), np.float32))
        g.create_dataset(f"{name}/bias:0", data=np.zeros(2, np.float32))
    code, out, err = run(
        capsys, str(tmp_path / "arch.json"), str(tmp_path / "out"), "--weights", str(tmp_path / "w.h5")
    )
    assert code == 0, err
    assert _clean(out) and "outputs: d\\n\\x1b[2J(None, 2)" in out

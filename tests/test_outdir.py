"""OUT_DIR (issue 12, items 12 and 15): every OS error is one OutputError naming the path,
nothing is left half-written, and "refuse unless --force" holds for concurrent conversions."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import rnnconvert.converter.writer as writer
from rnnconvert.cli import main
from rnnconvert.converter import convert
from rnnconvert.errors import OutputError


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    import keras

    d = tmp_path_factory.mktemp("outdir")
    m = keras.Sequential([keras.Input((4, 3)), keras.layers.GRU(3, name="rnn"), keras.layers.Dense(2, name="head")])
    m.save(d / "m.h5")
    return d / "m.h5"


def _leftovers(parent: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name not in keep)


def _one_line_cli(capsys, *argv: str) -> str:
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnconvert: error:"), err
    return err


def test_parent_is_a_file(model, tmp_path, capsys):
    out = tmp_path / "plain.txt" / "out"
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        convert(model, out)
    _one_line_cli(capsys, str(model), str(out))


def test_out_dir_inside_the_model_path(model, tmp_path, capsys):
    """MODEL/out: the model file is the parent."""
    with pytest.raises(OutputError, match="not a directory"):
        convert(model, model / "out")
    _one_line_cli(capsys, str(model), str(model / "out"))


def test_out_dir_is_the_model_file(model, tmp_path):
    with pytest.raises(OutputError, match="exists and is not a directory"):
        convert(model, model, force=True)
    assert model.is_file()


def test_out_dir_holding_the_model_is_never_replaced(model, tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    mine = d / "m.h5"
    mine.write_bytes(model.read_bytes())
    with pytest.raises(OutputError, match="holds the input"):
        convert(mine, d, force=True)
    assert mine.read_bytes() == model.read_bytes()


def test_name_too_long(model, tmp_path, capsys):
    out = tmp_path / ("x" * 300)
    with pytest.raises(OutputError, match="too long"):
        convert(model, out)
    assert _leftovers(tmp_path, set()) == []
    _one_line_cli(capsys, str(model), str(out))


@pytest.mark.parametrize(
    "code", [errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EDQUOT], ids=["no-permission", "read-only", "full", "quota"]
)
@pytest.mark.parametrize("stage", ["mkdtemp", "write"])
def test_os_errors_while_writing(model, tmp_path, monkeypatch, capsys, code, stage):
    """Simulated: the suite runs as root (permissions do not bind) and cannot mount a read-only FS."""

    def fail(*a, **k):
        if stage == "write":
            Path(a[0]).write_bytes(b"partial")
        raise OSError(code, os.strerror(code))

    if stage == "mkdtemp":
        monkeypatch.setattr(writer.tempfile, "mkdtemp", fail)
    else:
        monkeypatch.setattr(writer, "_write_file", fail)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=os.strerror(code)) as info:
        convert(model, out)
    assert str(out) in str(info.value)
    assert _leftovers(tmp_path, set()) == []
    err = _one_line_cli(capsys, str(model), str(out))
    assert os.strerror(code) in err


def test_real_permission_denied(model, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="Permission denied"):
        convert(model, ro / "out")


# ---------------------------------------------------------------------------------------
# Concurrent conversions to one fresh OUT_DIR


def _rival_appears(monkeypatch, out: Path) -> None:
    """Another conversion finishes into ``out`` after our checks passed, before our rename."""
    real = writer.npz_layout

    def racing(arrays):
        out.mkdir()
        (out / "model.json").write_text("rival")
        return real(arrays)

    monkeypatch.setattr(writer, "npz_layout", racing)


@pytest.mark.parametrize("primitive", ["renameat2", "portable"])
def test_a_bundle_that_appears_meanwhile_is_not_replaced(model, tmp_path, monkeypatch, primitive):
    if primitive == "portable" and hasattr(writer, "_rename2"):
        monkeypatch.setattr(writer, "_rename2", lambda *a: False)
    out = tmp_path / "out"
    _rival_appears(monkeypatch, out)
    with pytest.raises(OutputError, match="appeared"):
        convert(model, out)
    assert (out / "model.json").read_text() == "rival"
    assert _leftovers(tmp_path, {"out"}) == []


@pytest.mark.parametrize("primitive", ["renameat2", "portable"])
def test_force_replaces_what_appeared(model, tmp_path, monkeypatch, primitive):
    if primitive == "portable" and hasattr(writer, "_rename2"):
        monkeypatch.setattr(writer, "_rename2", lambda *a: False)
    out = tmp_path / "out"
    _rival_appears(monkeypatch, out)
    convert(model, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "weights.npz"]
    assert (out / "model.json").read_text() != "rival"
    assert _leftovers(tmp_path, {"out"}) == []


def test_an_empty_out_dir_is_still_taken(model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    convert(model, out)
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "weights.npz"]


_RACER = """
import sys, time
from pathlib import Path
from rnnconvert.converter import convert
from rnnconvert.errors import OutputError
go = Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
try:
    convert(sys.argv[1], sys.argv[2])
    print("wrote")
except OutputError as exc:
    print("refused", exc)
"""


def test_concurrent_conversions_exactly_one_writes(model, tmp_path):
    out, go = tmp_path / "out", tmp_path / "go"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(model), str(out), str(go)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(4)
    ]
    fd, name = tempfile.mkstemp(dir=tmp_path)
    os.close(fd)
    os.replace(name, go)
    results = [p.communicate(timeout=600)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert sum(r == "wrote" for r in results) == 1, results
    assert all(r == "wrote" or r.startswith("refused") for r in results), results
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "weights.npz"]
    assert _leftovers(tmp_path, {"out", "go"}) == []

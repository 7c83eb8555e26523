"""Hostile HDF5 files and .keras zips (issue 12, items 6-8, 11, 12, 16): files that point
elsewhere, lie about their size, link in DAGs, hang libhdf5, or are not regular files.

Every file here is crafted with h5py / zipfile from a real small Keras model's files.
"""

from __future__ import annotations

import os
import shutil
import threading
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from rnnconvert.converter import convert
from rnnconvert.converter.readers import read_source
from rnnconvert.errors import FormatError, InputError, ResourceError, RnnConvertError, SecurityError

SECRET = np.arange(8, dtype=np.float32) + 1234.5  # what a leak would copy into weights.npz
KERNEL = "model_weights/head/sequential/head"  # the Dense head's group in the legacy .h5 (kernel (4, 2))
K3_KERNEL = "layers/dense/vars"  # the same in model.weights.h5 of the .keras


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import keras

    d = tmp_path_factory.mktemp("h5sec")
    # Named throughout: the paths below must not depend on what else this session built.
    m = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.LSTM(4, name="rnn"), keras.layers.Dense(2, name="head")], name="sequential"
    )
    m.save(d / "m.keras")
    m.save(d / "m.h5")
    (d / "secret.bin").write_bytes(SECRET.tobytes())
    with h5py.File(d / "other.h5", "w") as f:
        f["data"] = SECRET.reshape(4, 2)
    return d


def _tampered_h5(files: Path, tmp: Path, fn) -> Path:
    dst = tmp / "bad.h5"
    shutil.copy(files / "m.h5", dst)
    with h5py.File(dst, "r+") as f:
        fn(f)
    return dst


def _tampered_keras(files: Path, tmp: Path, fn) -> Path:
    with zipfile.ZipFile(files / "m.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    h5 = tmp / "inner.h5"
    h5.write_bytes(members["model.weights.h5"])
    with h5py.File(h5, "r+") as f:
        fn(f)
    members["model.weights.h5"] = h5.read_bytes()
    dst = tmp / "bad.keras"
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return dst


def _replace(group, name: str, **kwargs) -> None:
    del group[name]
    group.create_dataset(name, **kwargs)


def _assert_no_leak(out: Path) -> None:
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


# ---------------------------------------------------------------------------------------
# Data from outside the file (item 6, item 16)


def _external_storage(files):
    return lambda g: _replace(g, "kernel", shape=(4, 2), dtype="f4", external=[(str(files / "secret.bin"), 0, 32)])


def _external_link(files):
    def fn(g):
        del g["kernel"]
        g["kernel"] = h5py.ExternalLink(str(files / "other.h5"), "/data")

    return fn


def _virtual(source: Path):
    def fn(g):
        layout = h5py.VirtualLayout(shape=(4, 2), dtype="f4")
        layout[:] = h5py.VirtualSource(str(source), "data", shape=(4, 2))
        del g["kernel"]
        g.create_virtual_dataset("kernel", layout, fillvalue=0)

    return fn


def _soft_link(g):
    del g["kernel"]
    g["kernel"] = h5py.SoftLink("/elsewhere/kernel")
    g.file.create_group("elsewhere")["kernel"] = np.ones((4, 2), np.float32)


@pytest.mark.parametrize(
    "attack, match",
    [
        ("external_storage", "external file"),
        ("external_link", "external link"),
        ("virtual", "virtual dataset"),
        ("virtual_missing", "virtual dataset"),
        ("soft_link", "soft link"),
    ],
)
@pytest.mark.parametrize("container", ["h5", "keras"])
def test_weights_from_outside_the_file_are_refused_by_name(files, tmp_path, attack, match, container):
    make = {
        "external_storage": _external_storage(files),
        "external_link": _external_link(files),
        "virtual": _virtual(files / "other.h5"),
        "virtual_missing": _virtual(tmp_path / "missing.h5"),  # would convert to zero weights
        "soft_link": _soft_link,
    }[attack]
    if container == "h5":
        src = _tampered_h5(files, tmp_path, lambda f: make(f[KERNEL]))
    else:
        src = _tampered_keras(files, tmp_path, lambda f: _k3(make, f))
    out = tmp_path / "out"
    with pytest.raises(SecurityError, match=match) as info:
        convert(src, out)
    assert "kernel" in str(info.value) or "vars/0" in str(info.value)
    _assert_no_leak(out)


def _k3(make, f):
    """Apply an attack written for a group holding ``kernel`` to the Keras 3 ``vars/0``."""
    g = f[K3_KERNEL]
    g.move("0", "kernel")
    make(g)
    g.move("kernel", "0")


def test_non_standard_filter_is_refused(files, tmp_path):
    src = _tampered_h5(
        files, tmp_path, lambda f: _replace(f[KERNEL], "kernel", data=np.ones((4, 2), "f4"), compression="lzf")
    )
    with pytest.raises(SecurityError, match="filter 32000"):
        convert(src, tmp_path / "out")


def test_standard_filters_still_read_exactly(files, tmp_path):
    """deflate + shuffle + fletcher32 chunks go through the bounded decoder and give the same bundle."""
    ref = convert(files / "m.h5", tmp_path / "ref")

    def compress(f):
        for name in ("kernel", "bias"):
            data = f[KERNEL][name][()]
            _replace(f[KERNEL], name, data=data, compression="gzip", shuffle=True, fletcher32=True, chunks=data.shape)
        g = f["model_weights/rnn/sequential/rnn/lstm_cell"]
        data = g["kernel"][()]  # (3, 16) in chunks of (2, 5): edge chunks are partial
        _replace(g, "kernel", data=data, compression="gzip", shuffle=True, chunks=(2, 5))

    src = _tampered_h5(files, tmp_path, compress)
    got = convert(src, tmp_path / "got")
    a, b = (np.load(r.out_dir / "weights.npz") for r in (ref, got))
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])


# ---------------------------------------------------------------------------------------
# Sizes the file declares (item 8)


def _peak_bytes(fn) -> tuple[int, Exception]:
    tracemalloc.start()
    try:
        with pytest.raises(RnnConvertError) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


def test_declared_size_checked_against_the_config_before_reading(files, tmp_path):
    """256 MiB declared (fill values, ~no bytes in the file): refused by shape, never allocated."""
    src = _tampered_h5(
        files, tmp_path, lambda f: _replace(f[KERNEL], "kernel", shape=(1 << 26,), dtype="f4", chunks=(1 << 16,))
    )
    assert src.stat().st_size < 1 << 20
    peak, err = _peak_bytes(lambda: convert(src, tmp_path / "out"))
    assert "kernel" in str(err) and "(4, 2)" in str(err)
    assert peak < 32 << 20


def test_gzip_bomb_dataset_is_not_inflated(files, tmp_path):
    big = np.zeros((1 << 26,), np.float32)  # 256 MiB of zeros: a ~250 KB gzip dataset
    src = _tampered_h5(
        files, tmp_path, lambda f: _replace(f[KERNEL], "kernel", data=big, compression="gzip", chunks=(1 << 20,))
    )
    peak, err = _peak_bytes(lambda: convert(src, tmp_path / "out"))
    assert "kernel" in str(err)
    assert peak < 32 << 20


def test_a_chunk_that_inflates_past_its_size_is_refused(files, tmp_path):
    """A chunk of the right declared shape whose deflate stream holds 16 MiB."""

    def fn(f):
        _replace(f[KERNEL], "kernel", shape=(4, 2), dtype="f4", chunks=(4, 2), compression="gzip")
        f[KERNEL]["kernel"].id.write_direct_chunk((0, 0), zlib.compress(bytes(16 << 20)))

    src = _tampered_h5(files, tmp_path, fn)
    with pytest.raises(ResourceError, match="inflates past its declared 32 bytes"):
        convert(src, tmp_path / "out")


@pytest.mark.parametrize("layout", ["contiguous", "chunked"])
def test_declared_but_unwritten_data_is_refused(files, tmp_path, layout):
    """Right shape, no data stored: would convert to fill-value (zero) weights."""
    chunks = {"contiguous": None, "chunked": (2, 2)}[layout]
    src = _tampered_h5(
        files, tmp_path, lambda f: _replace(f[KERNEL], "kernel", shape=(4, 2), dtype="f4", chunks=chunks)
    )
    with pytest.raises(FormatError, match="kernel.*(stores none|unwritten chunks)"):
        convert(src, tmp_path / "out")


def test_huge_architecture_json_is_refused_before_it_is_read(files, tmp_path, monkeypatch):
    arch = tmp_path / "arch.json"
    with open(arch, "wb") as f:  # sparse: 256 MiB declared, no disk used
        f.write(b'{"class_name": "Sequential", "config": {}}')
        f.truncate(256 << 20)
    peak, err = _peak_bytes(lambda: read_source(arch, files / "m.h5"))
    assert "larger than any RNN architecture" in str(err)
    assert peak < 32 << 20


# ---------------------------------------------------------------------------------------
# Walks (item 7)


def test_hard_link_dag_is_walked_once(files, tmp_path):
    """40 levels, each group linked twice from the one above: 2^40 paths, 41 objects."""

    def fn(f):
        g = f["layers/lstm/cell"].create_group("extra")
        for _ in range(40):
            nxt = g.create_group("a")
            g["b"] = nxt
            g = nxt

    with pytest.raises(FormatError, match="linked from more than one place"):
        convert(_tampered_keras(files, tmp_path, fn), tmp_path / "out")


def test_hard_link_cycle_is_refused(files, tmp_path):
    def fn(f):
        f["layers/lstm/cell"]["loop"] = f["layers/lstm"]

    with pytest.raises(FormatError, match="linked from more than one place"):
        convert(_tampered_keras(files, tmp_path, fn), tmp_path / "out")


def test_weight_names_entry_that_is_a_group(files, tmp_path):
    def fn(f):
        del f[KERNEL]["kernel"]
        f[KERNEL].create_group("kernel")

    with pytest.raises(FormatError, match="is a group, not a dataset"):
        convert(_tampered_h5(files, tmp_path, fn), tmp_path / "out")


# ---------------------------------------------------------------------------------------
# Files that block or hang (item 11)


def _in_thread(fn):
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(120)  # a generous bound: without the check this never returns
    assert not t.is_alive(), "blocked on a FIFO"
    return box


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("role", ["MODEL", "--weights"])
def test_fifo_is_refused_without_opening_it(files, tmp_path, role):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    arch = tmp_path / "arch.json"
    arch.write_text('{"class_name": "Sequential", "config": {"layers": []}}')
    box = _in_thread(lambda: read_source(fifo) if role == "MODEL" else read_source(arch, fifo))
    assert isinstance(box.get("error"), InputError), box
    assert "FIFO" in str(box["error"]) and role in str(box["error"])


def _probe_by(how: str, monkeypatch, child_code: str) -> None:
    """Make the structure probe run ``child_code`` (a lambda of ``path``) in its child, through
    a direct fork or through a fresh probe server (as in a process with TensorFlow imported)."""
    from rnnconvert.converter.readers import probe

    monkeypatch.setattr(probe, "_heavy", lambda: how == "server")
    if how == "fork":
        monkeypatch.setattr(probe, "_probe_child", eval(child_code, {"os": os, "time": __import__("time")}))
    else:
        monkeypatch.setattr(probe, "_SERVER", probe._Server())
        monkeypatch.setattr(
            probe,
            "SERVER_CODE",
            f"import os, time; from rnnconvert.converter.readers import probe; probe._probe_child = {child_code}; probe.serve()",
        )


@pytest.mark.parametrize("how", ["fork", "server"])
def test_libhdf5_hang_ends_at_the_deadline(files, tmp_path, monkeypatch, how):
    """The structure probe runs in a child; a child that never answers is killed at the deadline
    (with its server, which the next probe replaces)."""
    from rnnconvert.converter.readers import probe

    _probe_by(how, monkeypatch, "lambda path: time.sleep(3600)")
    monkeypatch.setenv(probe.PROBE_DEADLINE_ENV, "1")
    with pytest.raises(FormatError, match="child process with a deadline"):
        convert(files / "m.h5", tmp_path / "out")
    _assert_no_leak(tmp_path / "out")
    if how == "server":
        assert probe._SERVER.proc is None and not probe._SERVER.failed


@pytest.mark.parametrize("how", ["fork", "server"])
def test_probe_reports_a_crash_as_a_format_error(files, tmp_path, monkeypatch, how):
    _probe_by(how, monkeypatch, "lambda path: os._exit(11)")
    with pytest.raises(FormatError, match="crashed"):
        convert(files / "m.h5", tmp_path / "out")


def test_a_heavy_process_probes_through_one_server(files, tmp_path, monkeypatch):
    """A process with TensorFlow's threads and memory does not fork itself per file: one probe
    server (a small process started once) forks the children; what they find is reported the
    same way (a good file converts, a truncated one is a FormatError)."""
    from rnnconvert.converter.readers import probe

    monkeypatch.setattr(probe, "_heavy", lambda: True)
    monkeypatch.setattr(probe, "_SERVER", probe._Server())
    monkeypatch.setattr(os, "fork", None)  # this process must not fork: only the server may
    convert(files / "m.h5", tmp_path / "a")
    server = probe._SERVER.proc
    assert server is not None and server.poll() is None
    convert(files / "m.h5", tmp_path / "b")
    bad = tmp_path / "bad.h5"
    bad.write_bytes((files / "m.h5").read_bytes()[:3000])
    with pytest.raises(FormatError):
        convert(bad, tmp_path / "c")
    monkeypatch.chdir(tmp_path)  # a relative path, from another directory than the server's
    shutil.copy(files / "m.h5", tmp_path / "rel.h5")
    convert("rel.h5", tmp_path / "d")
    assert probe._SERVER.proc is server and not probe._SERVER.failed
    probe._SERVER._stop()
    assert server.poll() is not None


def test_a_forked_child_starts_its_own_probe_server(files, tmp_path, monkeypatch):
    """A child forked after the parent started its server (multiprocessing's fork) does not
    write into the parent's pipes, nor stop the parent's server when it exits."""
    from rnnconvert.converter.readers import probe

    monkeypatch.setattr(probe, "_heavy", lambda: True)
    monkeypatch.setattr(probe, "_SERVER", probe._Server())
    convert(files / "m.h5", tmp_path / "parent")
    parent_server = probe._SERVER.proc
    pid = os.fork()
    if pid == 0:  # the child: convert (through a server of its own), stop it, report by exit code
        code = 1
        try:
            convert(files / "m.h5", tmp_path / "child")
            ok = probe._SERVER.proc is not parent_server and probe._SERVER.owner == os.getpid()
            probe._SERVER._stop()
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent_server.poll() is None  # still running
    convert(files / "m.h5", tmp_path / "again")
    assert probe._SERVER.proc is parent_server
    probe._SERVER._stop()


def test_the_probe_forks_when_its_server_cannot_start(files, tmp_path, monkeypatch):
    from rnnconvert.converter.readers import probe

    monkeypatch.setattr(probe, "_heavy", lambda: True)
    monkeypatch.setattr(probe, "_SERVER", probe._Server())
    monkeypatch.setattr(probe, "SERVER_CODE", "raise SystemExit(3)")
    convert(files / "m.h5", tmp_path / "a")  # probed by a fork instead
    assert probe._SERVER.failed


# ---------------------------------------------------------------------------------------
# .keras zip members (item 12)


def _patch_header(data: bytes, name: bytes, field: str, value: int) -> bytes:
    """Set a member's general-purpose flags or compression method in its local and central headers."""
    buf = bytearray(data)
    offsets = {"flags": (6, 8), "method": (8, 10)}[field]
    for sig, off in zip((b"PK\x03\x04", b"PK\x01\x02"), offsets):
        i = 0
        while (i := buf.find(sig, i)) >= 0:
            name_at = i + (30 if sig == b"PK\x03\x04" else 46)
            if buf[name_at : name_at + len(name)] == name:
                buf[i + off : i + off + 2] = value.to_bytes(2, "little")
            i += 4
    return bytes(buf)


def test_zip_member_with_unknown_compression_method(files, tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(_patch_header((files / "m.keras").read_bytes(), b"config.json", "method", 99))
    with pytest.raises(FormatError, match="compression method 99"):
        convert(bad, tmp_path / "out")


def test_encrypted_zip_member(files, tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(_patch_header((files / "m.keras").read_bytes(), b"model.weights.h5", "flags", 1))
    with pytest.raises(FormatError, match="encrypted"):
        convert(bad, tmp_path / "out")


def test_zip_bomb_member_is_refused_before_inflating(files, tmp_path):
    bad = tmp_path / "bomb.keras"
    with zipfile.ZipFile(files / "m.keras") as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as z:
        for n in ("config.json", "metadata.json"):
            z.writestr(n, src.read(n))
        with z.open("model.weights.h5", "w", force_zip64=True) as w:
            block = bytes(1 << 20)
            for _ in range(80):
                w.write(block)
    assert bad.stat().st_size < 1 << 20
    peak, err = _peak_bytes(lambda: convert(bad, tmp_path / "out"))
    assert isinstance(err, ResourceError) and "zip bomb" in str(err)
    assert peak < 8 << 20

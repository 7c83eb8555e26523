"""weights.npz any language can slice (format 1.2, F1): stored members, 64-byte aligned
.npy data, and each array's offset and length in model.json, checked on load."""

from __future__ import annotations

import copy
import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnconvert.converter.writer import write_bundle
from rnnconvert.errors import FormatError
from rnnconvert.runtime import load
from rnnconvert.runtime.bundle import NPZ_ALIGN, npz_layout, read_bundle

GOLDEN = Path(__file__).parent / "data" / "golden"


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "a/kernel": rng.normal(size=(5, 12)).astype(np.float32),
        "b": np.arange(7, dtype=np.int8),
        "big_endian": np.arange(6, dtype=">f4").reshape(2, 3),
        "fortran": np.asfortranarray(rng.normal(size=(3, 4)).astype(np.float32)),
        "half": rng.normal(size=(9,)).astype(np.float16),
        "mask": np.array([[True, False, True]]),
        "scalar": np.float32(2.5),
        "empty": np.zeros((0, 4), np.float32),
    }


def test_every_array_is_aligned_stored_and_sliceable():
    arrays = _arrays()
    payload, layout = npz_layout(arrays)
    loaded = np.load(io.BytesIO(payload), allow_pickle=False)
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert sorted(i.filename for i in zf.infolist()) == sorted(k + ".npy" for k in arrays)
    for key, arr in arrays.items():
        offset, nbytes = layout[key]
        assert offset % NPZ_ALIGN == 0, key
        expected = np.asarray(arr)
        assert nbytes == expected.nbytes
        # what a reader without a zip or npy parser does: one slice, little-endian, C order
        dtype = expected.dtype.newbyteorder("<")
        sliced = np.frombuffer(payload[offset : offset + nbytes], dtype=dtype).reshape(expected.shape)
        np.testing.assert_array_equal(sliced, loaded[key])
        np.testing.assert_array_equal(sliced, expected)
        # the fixed .npy v1.0 header sits right before the data
        head = payload[offset - 64 : offset]
        npy_start = payload.rfind(b"\x93NUMPY", 0, offset)
        assert payload[npy_start + 6 : npy_start + 8] == b"\x01\x00", key
        assert (offset - npy_start) % 64 == 0 and head.endswith(b"\n")
        assert b"'fortran_order': False" in payload[npy_start:offset]
        assert b"'descr': '>" not in payload[npy_start:offset]


def test_layout_is_deterministic():
    assert npz_layout(_arrays()) == npz_layout(_arrays())


def _rewrite(src: Path, dst: Path) -> Path:
    """The golden bundle written again by this version's writer (its document migrated
    to this version first: a 1.1 Attention's positional masks become named inputs)."""
    bundle = read_bundle(src)
    doc = copy.deepcopy(bundle.doc)
    quant = {k: v["quantization"] for k, v in doc["weights"]["arrays"].items() if "quantization" in v}
    del doc["weights"]
    write_bundle(doc, bundle.arrays, dst, force=False, quantization=quant)
    return dst


@pytest.mark.parametrize("variant", ["bundle", "bundle-int8"])
def test_written_bundles_carry_offsets_that_slice(tmp_path, variant):
    out = _rewrite(GOLDEN / "1.1.0" / variant, tmp_path / "b")
    doc = json.loads((out / "model.json").read_text())
    raw = (out / "weights.npz").read_bytes()
    arrays = read_bundle(out).arrays
    for key, spec in doc["weights"]["arrays"].items():
        offset, nbytes = spec["offset"], spec["nbytes"]
        assert offset % NPZ_ALIGN == 0
        got = np.frombuffer(raw[offset : offset + nbytes], dtype=np.dtype(spec["dtype"]).newbyteorder("<"))
        np.testing.assert_array_equal(got.reshape(spec["shape"]), arrays[key])
    assert load(out, verify=True) is not None  # the test vectors still reproduce


def _edit(out: Path, key: str, **changes) -> None:
    p = out / "model.json"
    doc = json.loads(p.read_text())
    doc["weights"]["arrays"][key].update(changes)
    p.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "change",
    [
        {"offset": 0},
        {"offset": 64},
        {"offset": 1 << 40},
        {"offset": -64},
        {"offset": "0"},
        {"nbytes": 3},
        {"nbytes": 1 << 40},
    ],
    ids=["zero", "shifted", "huge", "negative", "string", "short", "long"],
)
def test_hostile_offsets_are_refused(tmp_path, change):
    out = _rewrite(GOLDEN / "1.1.0" / "bundle", tmp_path / "b")
    key = next(k for k in json.loads((out / "model.json").read_text())["weights"]["arrays"] if "kernel" in k)
    _edit(out, key, **change)
    with pytest.raises(FormatError, match="weights.arrays"):
        load(out)


def test_offset_into_a_compressed_member_is_refused(tmp_path):
    out = _rewrite(GOLDEN / "1.1.0" / "bundle", tmp_path / "b")
    src = out / "weights.npz"
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info), compress_type=zipfile.ZIP_DEFLATED)
    src.write_bytes(buf.getvalue())
    p = out / "model.json"
    doc = json.loads(p.read_text())
    import hashlib

    doc["weights"]["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    p.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="compressed|offset"):
        load(out)


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_old_bundles_without_offsets_still_load(tmp_path, version):
    shutil.copytree(GOLDEN / version / "bundle", tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "model.json").read_text())
    assert not any("offset" in s for s in doc["weights"]["arrays"].values())
    assert load(tmp_path / "b", verify=True) is not None

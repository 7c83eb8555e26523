"""tf.keras SavedModel folders read without TensorFlow: a real folder written by tf_keras 2.21
(tests/data/savedmodel/make.py), checked against Keras's outputs, then made hostile.

The SSTable and protobuf encoders below are test-only writers built from the format
descriptions (LevelDB table format; TensorFlow's BundleEntryProto / SavedMetadata field
numbers), used to make folders TensorFlow would never write.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_parity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnconvert import cli
from rnnconvert.converter import build_document, convert
from rnnconvert.converter.readers import read_source
from rnnconvert.converter.readers.crc32c import crc32c
from rnnconvert.converter.readers.tensorbundle import parse_entry, read_table
from rnnconvert.errors import FormatError, InputError, OutputError, ResourceError, RnnConvertError, SecurityError
from rnnconvert.runtime import load

TINY = Path(__file__).parent / "data" / "savedmodel" / "tiny"
INDEX = Path("variables") / "variables.index"
DATA = Path("variables") / "variables.data-00000-of-00001"
MAGIC = 0xDB4775248B80FB57
HEAD_KERNEL = "layer_with_weights-3/kernel"  # the checkpoint key of the Dense layer "head"


def folder(tmp_path: Path, name: str = "sm") -> Path:
    d = tmp_path / name
    shutil.copytree(TINY, d, ignore=shutil.ignore_patterns("reference.npz"))
    (d / "saved_model.pb").write_bytes(b"")  # TensorFlow's graphs: never read by rnnconvert
    return d


def reference() -> tuple[np.ndarray, np.ndarray]:
    with np.load(TINY / "reference.npz") as z:
        return z["x"], z["y"]


def read(d: Path) -> None:
    with read_source(d) as src:
        build_document(src)


# -- test-only encoders ------------------------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return varint(number << 3 | 2) + varint(len(value)) + value
    return varint(number << 3) + varint(value)


def mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def block(items: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in items)
    return body + (0).to_bytes(4, "little") + (1).to_bytes(4, "little")


def write_table(path: Path, table: dict[str, bytes], kind: int = 0, index_repeats: int = 1) -> None:
    raw = bytearray()

    def put(contents: bytes) -> bytes:
        offset = len(raw)
        raw.extend(contents + bytes([kind]) + mask(crc32c(contents + bytes([kind]))).to_bytes(4, "little"))
        return varint(offset) + varint(len(contents))

    data = put(block([(k.encode(), v) for k, v in sorted(table.items())]))
    index = put(block([(b"\xff" * (i + 1), data) for i in range(index_repeats)]))
    meta = put(block([]))
    raw.extend((meta + index).ljust(40, b"\0") + MAGIC.to_bytes(8, "little"))
    path.write_bytes(bytes(raw))


def entry(dtype: int, shape: tuple[int, ...], shard: int, offset: int, size: int, crc: int | None) -> bytes:
    dims = b"".join(field(2, field(1, d)) for d in shape)
    out = field(1, dtype) + field(2, dims) + field(3, shard) + field(4, offset) + field(5, size)
    if crc is not None:
        out += varint(6 << 3 | 5) + mask(crc).to_bytes(4, "little")
    return out


def edit_entry(d: Path, key_part: str, **change: int) -> str:
    table = read_table(d / INDEX, "t")
    key = next(k for k in table if key_part in k)
    e = parse_entry(key, table[key], "t")
    fields = {"dtype": e.dtype, "shape": e.shape, "shard": e.shard, "offset": e.offset, "size": e.size, "crc": e.crc}
    fields.update(change)
    table[key] = entry(**fields)
    write_table(d / INDEX, table)
    return key


# -- the real folder ---------------------------------------------------------------------


def test_tiny_folder_matches_keras(tmp_path):
    d = folder(tmp_path)
    result = convert(d, tmp_path / "out")
    assert result.doc["source"]["container"] == "savedmodel"
    assert result.doc["source"]["keras_version"].startswith("2.")
    assert result.doc["format_version"] == "1.3.0"  # the container value older schemas do not know
    x, y = reference()
    assert_parity(load(tmp_path / "out").predict(x), y, "tiny savedmodel")
    assert cli.main([str(d), str(tmp_path / "out2")]) == 0  # the CLI takes the folder as MODEL
    assert_parity(load(tmp_path / "out2").predict(x), y, "tiny savedmodel via the CLI")


def test_rewritten_index_still_reads(tmp_path):
    """The test-only table writer is faithful: the same entries, rewritten, convert the same."""
    d = folder(tmp_path)
    write_table(d / INDEX, read_table(d / INDEX, "t"))
    convert(d, tmp_path / "out")
    x, y = reference()
    assert_parity(load(tmp_path / "out").predict(x), y, "rewritten index")


# -- refusals ----------------------------------------------------------------------------


def test_export_folder_is_refused_with_the_resave_lines(tmp_path):
    d = folder(tmp_path)
    (d / "keras_metadata.pb").unlink()
    with pytest.raises(InputError, match=r"without a Keras config.*model\.save\('model\.keras'\).*rnnconvert model"):
        convert(d, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("what", ["keras_metadata.pb", str(INDEX), str(DATA), "variables"])
def test_symlinks_are_not_followed(tmp_path, what):
    d = folder(tmp_path)
    outside = tmp_path / "outside"
    target = d / what
    shutil.move(target, outside)
    os.symlink(outside, target)
    with pytest.raises(SecurityError, match="symbolic link"):
        read(d)


def test_missing_parts(tmp_path):
    d = folder(tmp_path)
    (d / DATA).unlink()
    with pytest.raises(FormatError, match="missing"):
        read(d)
    shutil.rmtree(d / "variables")
    with pytest.raises(FormatError, match="no 'variables' directory"):
        read(d)


def test_truncated_shard_and_flipped_bytes(tmp_path):
    d = folder(tmp_path)
    raw = (d / DATA).read_bytes()
    (d / DATA).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FormatError, match="past the end"):
        read(d)
    flipped = bytearray(raw)
    flipped[-3] ^= 0x40  # inside the last tensor's values
    (d / DATA).write_bytes(bytes(flipped))
    with pytest.raises(FormatError, match="CRC-32C"):
        read(d)


def test_index_damage(tmp_path):
    d = folder(tmp_path)
    raw = bytearray((d / INDEX).read_bytes())
    raw[5] ^= 0xFF
    (d / INDEX).write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="CRC-32C"):
        read(d)
    (d / INDEX).write_bytes(b"\0" * 100)
    with pytest.raises(FormatError, match="not a TensorFlow checkpoint index"):
        read(d)
    (d / INDEX).write_bytes(b"")
    with pytest.raises(FormatError, match="too short"):
        read(d)


def test_blocks_parsed_once_and_keys_bounded(tmp_path):
    d = folder(tmp_path)
    table = read_table(d / INDEX, "t")
    write_table(d / INDEX, table, index_repeats=2)  # the index lists one data block twice
    with pytest.raises(FormatError, match="overlap"):
        read(d)
    write_table(d / INDEX, {**table, "k" * 5000: b""})
    with pytest.raises(FormatError, match="key of 5000 bytes"):
        read(d)


def test_compressed_blocks_are_refused(tmp_path):
    d = folder(tmp_path)
    write_table(d / INDEX, read_table(d / INDEX, "t"), kind=1)
    with pytest.raises(FormatError, match="snappy"):
        read(d)


@pytest.mark.parametrize(
    "change,error,match",
    [
        ({"size": 1 << 40}, FormatError, "stores 1099511627776 bytes"),
        ({"shape": (1 << 20, 1 << 20), "size": 4 << 40}, ResourceError, "bound"),
        ({"offset": 1 << 30}, FormatError, "past the end"),
        ({"shard": 3}, FormatError, "shard 3"),
        ({"dtype": 7}, FormatError, "dtype 7"),
        ({"dtype": 14}, FormatError, "dtype 14"),  # bfloat16: no NumPy type
        ({"shape": (9, 9)}, FormatError, "shape|declares"),
    ],
)
def test_entries_that_lie(tmp_path, change, error, match):
    d = folder(tmp_path)
    edit_entry(d, HEAD_KERNEL if "dtype" not in change else "variables/7/", **change)
    with pytest.raises(error, match=match):
        read(d)


def test_sliced_variables_are_refused(tmp_path):
    d = folder(tmp_path)
    table = read_table(d / INDEX, "t")
    key = next(k for k in table if "kernel" in k)
    table[key] += field(7, b"")
    write_table(d / INDEX, table)
    with pytest.raises(FormatError, match="partitioned"):
        read(d)


def _metadata(nodes: list[tuple[str, str]]) -> bytes:
    return b"".join(field(1, field(3, p.encode()) + field(5, j.encode())) for p, j in nodes)


def test_metadata_refusals(tmp_path):
    d = folder(tmp_path)
    md = d / "keras_metadata.pb"
    md.write_bytes(_metadata([("root", '{"name": "m", "class_name": "MyModel"}')]))
    with pytest.raises(FormatError, match="subclassed model"):
        read(d)
    md.write_bytes(_metadata([("root", "[1, 2")]))
    with pytest.raises(FormatError, match="not valid JSON"):
        read(d)
    md.write_bytes(b"\x0a\xff\xff\xff\x0f")
    with pytest.raises(FormatError, match="declares"):
        read(d)
    md.write_bytes(b"\x0b\x00")  # wire type 3: a group
    with pytest.raises(FormatError, match="wire type 3"):
        read(d)
    with open(md, "wb") as f:  # sparse: declares a quarter GiB without storing it
        f.truncate(300 << 20)
    with pytest.raises(ResourceError, match="bound"):
        read(d)


def test_a_layer_with_wrong_weights_is_named(tmp_path):
    """The object graph maps variables to layers: a kernel of the wrong shape is caught by the
    layer converter's check, naming the layer, before its values are read."""
    d = folder(tmp_path)
    table = read_table(d / INDEX, "t")
    key = next(k for k in table if HEAD_KERNEL in k)
    e = parse_entry(key, table[key], "t")
    table[key] = entry(e.dtype, (e.shape[1], e.shape[0]), e.shard, e.offset, e.size, e.crc)
    write_table(d / INDEX, table)
    with pytest.raises(RnnConvertError, match="head"):
        read(d)


# -- fuzzing: any damage is the project's error or a model, never another exception ----------

_PARTS = ["keras_metadata.pb", str(INDEX), str(DATA)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(part=st.sampled_from(_PARTS), edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_fuzz_folder_bytes(tmp_path_factory, part, edits):
    d = folder(tmp_path_factory.mktemp("fz"))
    raw = bytearray((d / part).read_bytes())
    for where, value in edits:
        raw[min(int(where * len(raw)), len(raw) - 1)] = value
    (d / part).write_bytes(bytes(raw))
    try:
        read(d)
    except RnnConvertError:
        pass


def test_pre_2_5_tf_keras_folder_is_told_to_resave_as_h5(tmp_path):
    d = folder(tmp_path)
    (d / "keras_metadata.pb").unlink()
    (d / "saved_model.pb").write_bytes(b"\x08\x01\x12\x10_tf_keras_network")  # identifiers tf.keras 2.4 wrote there
    with pytest.raises(InputError, match=r"before TensorFlow 2\.5.*model\.save\('model\.h5'\)"):
        read(d)


def test_force_never_replaces_the_folder_or_a_part_of_it(tmp_path):
    d = folder(tmp_path)
    before = sorted(p.name for p in d.rglob("*"))
    for out in (d, d / "variables"):
        with pytest.raises(OutputError, match="holds the input"):
            convert(d, out, force=True)
    assert sorted(p.name for p in d.rglob("*")) == before
